"""SQL: the facts read from other services, the evaluations read model, sealed notes."""

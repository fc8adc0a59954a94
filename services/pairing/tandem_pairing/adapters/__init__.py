"""Pairing's SQL: the pool fed by enrollment's events, the rounds table, the pairs ledger, the read model."""

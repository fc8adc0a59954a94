"""Enrollment's PostgreSQL adapters: the read model (projection and queries), the places ledger,
import jobs, and the lookup of earlier idempotent appends."""

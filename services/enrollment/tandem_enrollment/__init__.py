"""Tandem's enrollment service: programs (cohorts) and the juniors and seniors who enroll in them.

`tandem_enrollment.domain` is the pure core (events, decide/evolve, value objects, bulk-import
parsing); the application, adapters and entrypoints stand on it.
"""

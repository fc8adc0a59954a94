"""Tandem's evaluation service: what the mentoring changed, measured honestly."""

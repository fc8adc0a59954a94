"""Tandem's event-sourcing kernel: one mechanism that every service stands on."""

"""Shared by every test: the process's tracer provider, as every service installs it at boot."""

from tandem_kernel.telemetry import configure_tracing

configure_tracing("tests")

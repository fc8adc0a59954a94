"""Tracing and structured logs, set up once per process.

A tracer provider is always installed, so trace context flows HTTP → append → relay → consumer →
projection even with no exporter; spans are exported only when an OTLP endpoint is configured.
Log lines are JSON and carry the current trace and span ids.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Decision, ParentBased, Sampler, SamplingResult

__all__ = ["JsonLogFormatter", "add_span_processor", "configure_logging", "configure_tracing", "recording"]

_configured_provider: TracerProvider | None = None


class _RecordWhenExporting(Sampler):
    """Spans get ids and travel in headers and logs always; they are recorded only once something
    consumes them (an exporter). Recording a span nobody reads costs ~10% of an append's CPU."""

    exporting = False

    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None, links=None, trace_state=None):  # type: ignore[no-untyped-def]
        if not self.exporting:
            return SamplingResult(Decision.DROP)
        return ParentBased(ALWAYS_ON).should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return "RecordWhenExporting"


_RECORD_WHEN_EXPORTING = _RecordWhenExporting()


def configure_tracing(service_name: str, otlp_endpoint: str | None = None) -> TracerProvider:
    """Install the process's tracer provider (once); export to `otlp_endpoint` when one is given."""
    global _configured_provider
    if _configured_provider is None:
        provider = TracerProvider(
            resource=Resource.create({"service.name": f"tandem-{service_name}"}), sampler=_RECORD_WHEN_EXPORTING
        )
        trace.set_tracer_provider(provider)
        _configured_provider = provider
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{otlp_endpoint.rstrip('/')}/v1/traces")))
    return _configured_provider


def _instrument_asyncpg() -> None:
    # A span per query costs ~80 µs of CPU per statement (measured in bench/kernel.py): worth it
    # only when spans go somewhere.
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

    instrumentor = AsyncPGInstrumentor()  # type: ignore[no-untyped-call]
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()


def recording() -> bool:
    """Whether spans are recorded (an exporter is attached): hot paths skip spans nobody will see."""
    return _RECORD_WHEN_EXPORTING.exporting


def add_span_processor(processor: SpanProcessor) -> None:
    assert _configured_provider is not None, "configure_tracing first"
    _configured_provider.add_span_processor(processor)
    _RECORD_WHEN_EXPORTING.exporting = True
    _instrument_asyncpg()


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line, with the trace and span ids of the current span."""

    def __init__(self, service_name: str) -> None:
        super().__init__()
        self.service_name = service_name

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "service": self.service_name,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            line["trace_id"] = format(context.trace_id, "032x")
            line["span_id"] = format(context.span_id, "016x")
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line)


def configure_logging(service_name: str, level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonLogFormatter(service_name))
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {service_name} %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))

"""Tracing with OpenTelemetry (W3C trace context): one trace follows a request across the services.

- **HTTP**: a request continues the trace its `traceparent` header names (a proxy's, a browser's), or starts
  one; its span is `<method> <route template>` (shared/service.py, RequestMiddleware), and the answer says
  which trace it was in (`traceparent`).
- **Events**: `wrap` puts the current span's context in the envelope (`traceparent`, written with the state
  change in the outbox, one transaction). The consumer that applies an event does it in a span that
  continues that trace (`apply <event type>`); what it writes in turn continues it too, so one trace goes
  HTTP → outbox → Kafka → consumer → the next service's events. A batch handler applies many events at once:
  its span (`apply <n> <event type>`) is linked to each event's trace. Reconciliation's webhook intake
  writes many requests' credits in one transaction: their events start traces of their own.
- **Logs**: every line written inside a span carries its `trace_id` and `span_id` (shared/logging.py).
- **Export**: to an OpenTelemetry collector over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (batched,
  off the request path); otherwise spans are made (their ids reach logs and events) and dropped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from opentelemetry import context, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import Link, Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_PROPAGATOR = TraceContextTextMapPropagator()
_tracer = trace.get_tracer("tuition")
_configured = False


def configure(service: str, otlp_endpoint: str = "", exporter: SpanExporter | None = None) -> None:
    """The process's tracer provider (once: the first service of a process names it)."""
    global _configured
    if _configured:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service, "service.namespace": "tuition"}))
    if exporter is None and otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=otlp_endpoint.rstrip("/") + "/v1/traces")
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _configured = True


def current_traceparent() -> str:
    """The current span's W3C `traceparent`, or "" outside any span."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent", "")


def _context_of(traceparent: str) -> context.Context:
    return _PROPAGATOR.extract({"traceparent": traceparent}) if traceparent else context.Context()


@contextlib.contextmanager
def request_span(method: str, traceparent: str) -> Iterator[Span]:
    """An HTTP request's span, continuing the caller's trace (its `traceparent` header) or starting one."""
    with _tracer.start_as_current_span(method, context=_context_of(traceparent), kind=SpanKind.SERVER) as span:
        yield span


@contextlib.contextmanager
def apply_span(event_type: str, traceparent: str) -> Iterator[Span]:
    """A consumer applying one event, in the trace that wrote it."""
    name = f"apply {event_type.rsplit('.', 1)[-1]}"
    with _tracer.start_as_current_span(name, context=_context_of(traceparent), kind=SpanKind.CONSUMER) as span:
        yield span


@contextlib.contextmanager
def batch_span(event_type: str, traceparents: Sequence[str]) -> Iterator[Span]:
    """A batch handler applying many events at once: a span linked to each event's trace."""
    links = []
    for tp in dict.fromkeys(traceparents):
        parent = trace.get_current_span(_context_of(tp)).get_span_context()
        if parent.is_valid:
            links.append(Link(parent))
    name = f"apply {len(traceparents)} {event_type.rsplit('.', 1)[-1]}"
    with _tracer.start_as_current_span(name, context=context.Context(), kind=SpanKind.CONSUMER, links=links) as span:
        yield span


def leave_trace() -> None:
    """For a task started inside a request that works for many (a batch): none of its spans and events belong
    to that request's trace."""
    context.attach(context.Context())


def ids() -> dict[str, str]:
    """The current span's ids, as the logs write them ({} outside any span)."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return {}
    return {"trace_id": format(ctx.trace_id, "032x"), "span_id": format(ctx.span_id, "016x")}

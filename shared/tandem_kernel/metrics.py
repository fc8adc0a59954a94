"""The Prometheus metrics every service exposes on /metrics. Defined once, here."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "CONSUMER_LAG",
    "DEAD_LETTERS",
    "EVENTS_APPENDED",
    "EVENTS_PUBLISHED",
    "HANDLER_SECONDS",
    "HTTP_IN_FLIGHT",
    "HTTP_REQUESTS",
    "HTTP_SECONDS",
    "HTTP_SHED",
    "PROJECTION_LAG_EVENTS",
    "RELAY_LAG_EVENTS",
    "RELAY_LAG_SECONDS",
    "RELAY_TOPIC_LOSSES",
    "RELAY_TOPIC_LOST",
    "SERVICE_READY",
]

EVENTS_APPENDED = Counter("tandem_events_appended_total", "Events appended to the event store.", ["schema"])
EVENTS_PUBLISHED = Counter(
    "tandem_events_published_total", "Events the relay published and the broker acknowledged.", ["topic"]
)
RELAY_LAG_EVENTS = Gauge("tandem_relay_lag_events", "Committed events not yet acknowledged by the broker.", ["topic"])
RELAY_LAG_SECONDS = Gauge(
    "tandem_relay_lag_seconds", "Age of the oldest event not yet acknowledged by the broker.", ["topic"]
)
RELAY_TOPIC_LOST = Gauge(
    "tandem_relay_topic_lost",
    "1 while the broker has lost the topic's history and it has not been published again, else 0.",
    ["topic"],
)
RELAY_TOPIC_LOSSES = Counter(
    "tandem_relay_topic_losses_total", "Times the relay found its topic lost by the broker.", ["topic"]
)
BACKGROUND_STOPS = Counter(
    "tandem_background_stops_total",
    "Background loops (relay, projections, job worker, boot) that ended while the service was not stopping.",
    ["task"],
)
HANDLER_SECONDS = Histogram("tandem_handler_seconds", "Time to handle one consumed message.", ["consumer", "outcome"])
DEAD_LETTERS = Counter("tandem_dead_letters_total", "Messages sent to a dead-letter topic.", ["consumer", "topic"])
PROJECTION_LAG_EVENTS = Gauge(
    "tandem_projection_lag_events", "Committed events a store-fed projection has not applied yet.", ["projection"]
)
CONFLICTING_DUPLICATES = Counter(
    "tandem_conflicting_duplicates_total",
    "Event ids a consumer saw again with another body, type or topic (skipped, kept as dead letters).",
    ["consumer"],
)
BATCHES_SPLIT = Counter(
    "tandem_consumer_batches_split_total",
    "Fetched batches a consumer rolled back and handled message by message (one of them failed).",
    ["consumer"],
)
DEAD_LETTER_PUBLISH_FAILURES = Counter(
    "tandem_dead_letter_publish_failures_total",
    "Dead letters kept in the table but not published to the dead-letter topic.",
    ["consumer"],
)
PROJECTION_FAILURES = Counter(
    "tandem_projection_failures_total", "Attempts of a projection to apply an event that failed.", ["projection"]
)
PROJECTION_STALLED = Gauge(
    "tandem_projection_stalled", "1 while a projection retries an event it cannot apply, else 0.", ["projection"]
)
PROJECTION_PARKED_EVENTS = Gauge(
    "tandem_projection_parked_events",
    "Events a projection gave up on (projection dead letters) that wait for an operator.",
    ["projection"],
)
JOBS = Gauge("tandem_jobs", "Background jobs by kind and state (finished ones: the last day).", ["kind", "state"])
JOBS_STUCK = Gauge("tandem_jobs_stuck", "Jobs running past their lease, or queued long past their time.", ["kind"])
WORK_HELD = Gauge(
    "tandem_work_held",
    "Items of work a service set aside after they failed (by kind), until the cause is fixed: its log names each.",
    ["kind"],
)
JOB_RUNS = Counter("tandem_job_runs_total", "Runs of background jobs, by how they ended.", ["kind", "outcome"])
IDENTITY_KEY_FETCHES = Counter(
    "tandem_identity_key_fetches_total", "Fetches of the identity provider's signing keys (JWKS).", ["issuer"]
)
AUTHENTICATION_FAILURES = Counter(
    "tandem_authentication_failures_total", "Requests refused for want of a valid bearer token.", ["reason"]
)

# What the alerts on availability, errors, latency and stalled consumers read (see helm/tandem/files/observability).
HTTP_REQUESTS = Counter(
    "tandem_http_requests_total", "HTTP requests answered, by route template and status.", ["method", "route", "status"]
)
HTTP_SECONDS = Histogram(
    "tandem_http_request_seconds",
    "Time to answer an HTTP request, by route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
HTTP_IN_FLIGHT = Gauge("tandem_http_in_flight", "HTTP requests being answered now (the probes and /metrics aside).")
HTTP_SHED = Counter(
    "tandem_http_shed_total",
    "HTTP requests answered 503 at once because the process had as many in flight as it takes.",
)
SERVICE_READY = Gauge("tandem_ready", "1 when /readyz would answer 200 (refreshed by /readyz and at each scrape).")
CONSUMER_LAG = Gauge(
    "tandem_consumer_lag_messages",
    "Messages on a partition after the one a subscription last handled (the broker's high watermark).",
    ["consumer", "topic", "partition"],
)

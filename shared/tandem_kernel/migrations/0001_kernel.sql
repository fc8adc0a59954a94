-- The kernel's tables, created in each service's own schema (search_path points there).

-- The event store, which is also the outbox: the relay publishes from here.
-- transaction_id records the writing transaction so tailing readers can stay below the oldest
-- transaction still running and never skip an event that commits late (see store.read_all).
CREATE TABLE IF NOT EXISTS events (
    position        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
    event_id        uuid        NOT NULL UNIQUE,
    stream_id       text        NOT NULL,
    stream_version  integer     NOT NULL CHECK (stream_version > 0),
    event_type      text        NOT NULL,
    event_version   integer     NOT NULL,
    occurred_at     timestamptz NOT NULL,
    correlation_id  uuid,
    causation_id    uuid,
    actor           text,
    trace_context   jsonb       NOT NULL DEFAULT '{}',
    payload         jsonb       NOT NULL,
    UNIQUE (stream_id, stream_version)
);
CREATE INDEX IF NOT EXISTS events_commit_order ON events (transaction_id, position);

-- An append's idempotency key and what it returned the first time.
CREATE TABLE IF NOT EXISTS append_idempotency (
    idempotency_key text PRIMARY KEY,
    stream_id       text        NOT NULL,
    result          jsonb       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- Where each tailing reader (the relay, store-fed projections) has got to, in commit order.
CREATE TABLE IF NOT EXISTS checkpoints (
    name            text PRIMARY KEY,
    transaction_id  xid8        NOT NULL,
    position        bigint      NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Messages a consumer has handled: written in the same transaction as the handler's effects.
CREATE TABLE IF NOT EXISTS inbox (
    consumer        text        NOT NULL,
    event_id        uuid        NOT NULL,
    topic           text        NOT NULL,
    handled_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Messages a consumer gave up on, kept whole so ops can read and replay them.
CREATE TABLE IF NOT EXISTS dead_letters (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consumer        text        NOT NULL,
    topic           text        NOT NULL,
    kafka_partition integer     NOT NULL,
    kafka_offset    bigint      NOT NULL,
    message_key     bytea,
    message_value   bytea,
    headers         jsonb       NOT NULL,
    error_type      text        NOT NULL,
    error           text        NOT NULL,
    attempts        integer     NOT NULL,
    dead_at         timestamptz NOT NULL DEFAULT now(),
    replayed_at     timestamptz,
    UNIQUE (consumer, topic, kafka_partition, kafka_offset)
);

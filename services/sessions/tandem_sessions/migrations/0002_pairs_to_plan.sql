-- Pairs activated and not planned yet (see application/activations.py): the PairActivated handler
-- records each in the consumer's transaction; the planning job plans them in batches and deletes
-- them in the batch's transaction.
CREATE TABLE IF NOT EXISTS pairs_to_plan (
    pair_id         uuid PRIMARY KEY,
    occurred_at     timestamptz NOT NULL,            -- the activation's time: "now" for its planning
    correlation_id  uuid,                            -- the metadata the planned events carry
    causation_id    uuid,
    actor           text,
    trace_context   jsonb       NOT NULL DEFAULT '{}',
    queued_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    error           text,                            -- why planning it failed: held aside, tried again hourly
    failed_at       timestamptz
);
CREATE INDEX IF NOT EXISTS pairs_to_plan_in_order ON pairs_to_plan (queued_at, pair_id) WHERE error IS NULL;

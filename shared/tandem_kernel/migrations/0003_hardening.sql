-- No message can stop a consumer, and no dead letter is ever lost (see consumers.py, dead_letters.py).

-- Every arrival is its own dead letter: after a broker wipe, offsets start again and a new message
-- at the coordinates of an old one must not overwrite it.
DO $$
DECLARE
    unique_name text;
BEGIN
    FOR unique_name IN
        SELECT conname FROM pg_constraint WHERE conrelid = 'dead_letters'::regclass AND contype = 'u'
    LOOP
        EXECUTE format('ALTER TABLE dead_letters DROP CONSTRAINT %I', unique_name);
    END LOOP;
END $$;
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS kind text NOT NULL DEFAULT 'failed'
    CHECK (kind IN ('unreadable', 'failed', 'conflicting_duplicate'));
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS event_id uuid;
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS replay_outcome text;
CREATE INDEX IF NOT EXISTS dead_letters_waiting ON dead_letters (id) WHERE replayed_at IS NULL;

-- What tells a redelivery from another body under the same event id; and, for subscriptions that
-- retain, the envelope itself, in commit order, so read models fed from Kafka can be rebuilt.
ALTER TABLE inbox ADD COLUMN IF NOT EXISTS event_type text;
ALTER TABLE inbox ADD COLUMN IF NOT EXISTS fingerprint bytea;
ALTER TABLE inbox ADD COLUMN IF NOT EXISTS envelope jsonb;
ALTER TABLE inbox ADD COLUMN IF NOT EXISTS position bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE inbox ADD COLUMN IF NOT EXISTS transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX IF NOT EXISTS inbox_retained_commit_order ON inbox (consumer, transaction_id, position)
    WHERE envelope IS NOT NULL;

-- Events a projection gave up applying after bounded attempts: kept aside so the read model goes on
-- with the rest, until an operator replays them (`tandem projections replay`) or rebuilds.
CREATE TABLE IF NOT EXISTS projection_dead_letters (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    projection      text        NOT NULL,
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    stream_id       text        NOT NULL,
    position        bigint      NOT NULL,
    error           text        NOT NULL,
    attempts        integer     NOT NULL,
    parked_at       timestamptz NOT NULL DEFAULT now(),
    replayed_at     timestamptz,
    replay_outcome  text
);
CREATE INDEX IF NOT EXISTS projection_dead_letters_waiting ON projection_dead_letters (projection)
    WHERE replayed_at IS NULL;

-- An Idempotency-Key answers one request only: its fingerprint is kept, so the same key sent with
-- another request is refused instead of being answered with the first request's result.
ALTER TABLE append_idempotency ADD COLUMN IF NOT EXISTS request text;

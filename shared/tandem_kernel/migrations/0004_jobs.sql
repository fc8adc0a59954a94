-- Background work that survives the process that started it (see jobs.py).
CREATE TABLE IF NOT EXISTS jobs (
    job_id          uuid PRIMARY KEY,
    kind            text        NOT NULL,
    key             text,                    -- at most one unfinished job per (kind, key)
    payload         jsonb       NOT NULL,
    state           text        NOT NULL DEFAULT 'queued'
                                CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    max_attempts    integer     NOT NULL,
    run_at          timestamptz NOT NULL DEFAULT now(),
    owner           text,                    -- the worker running it (host:pid)
    lease           bigint      NOT NULL DEFAULT 0,  -- fencing token: each claim takes the next
    lease_until     timestamptz,
    heartbeat_at    timestamptz,
    progress        jsonb,                   -- what a resumed run starts from
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_one_unfinished_per_key ON jobs (kind, key)
    WHERE key IS NOT NULL AND state IN ('queued', 'running');
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (run_at) WHERE state = 'queued';
CREATE INDEX IF NOT EXISTS jobs_leased ON jobs (lease_until) WHERE state = 'running';
CREATE INDEX IF NOT EXISTS jobs_recent ON jobs (created_at);

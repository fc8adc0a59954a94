-- Enrollment's own write-side tables, beside the kernel's in the service schema.

-- Places taken in each program that has a capacity: changed in the same transaction as every append
-- that approves someone or frees a place. Locking a program's row serialises those appends within
-- that program (others never wait), so capacity is a hard limit. The read model cannot be the judge:
-- it lags behind the event store.
CREATE TABLE IF NOT EXISTS program_places (
    program_id      uuid PRIMARY KEY,
    approved        integer     NOT NULL CHECK (approved >= 0)
);

-- Bulk enrollment files: one job per upload, its progress, and why rows were not enrolled.
CREATE TABLE IF NOT EXISTS import_jobs (
    job_id          uuid PRIMARY KEY,
    program_id      uuid        NOT NULL,
    file_name       text,
    file_format     text        NOT NULL CHECK (file_format IN ('csv', 'jsonl')),
    status          text        NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
    total           integer,
    processed       integer     NOT NULL DEFAULT 0,
    enrolled        integer     NOT NULL DEFAULT 0,
    duplicates      integer     NOT NULL DEFAULT 0,
    rejected        integer     NOT NULL DEFAULT 0,
    error           text,
    requested_by    text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);
CREATE INDEX IF NOT EXISTS import_jobs_unfinished ON import_jobs (updated_at) WHERE finished_at IS NULL;

-- Only rows that were not enrolled are reported: the file itself is never stored.
CREATE TABLE IF NOT EXISTS import_job_rows (
    job_id          uuid        NOT NULL REFERENCES import_jobs ON DELETE CASCADE,
    row_number      integer     NOT NULL,
    outcome         text        NOT NULL CHECK (outcome IN ('duplicate', 'rejected')),
    employee_id     text,
    errors          jsonb       NOT NULL,
    PRIMARY KEY (job_id, row_number)
);

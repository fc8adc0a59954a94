-- Pairing's own write-side tables, beside the kernel's in the service schema. Each changes in the same
-- transaction as the events it follows, so that rules checked against it are never behind the store.

-- The pool, fed by the enrollment subscription: pairing never reads enrollment's tables.
CREATE TABLE IF NOT EXISTS pool_programs (
    program_id            uuid PRIMARY KEY,
    session_minutes       integer     NOT NULL,
    rotation_months       integer     NOT NULL,
    proposal_expiry_days  integer     NOT NULL,
    closed                boolean     NOT NULL DEFAULT false,
    updated_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS pool_participants (
    participant_id  uuid PRIMARY KEY,
    program_id      uuid        NOT NULL,  -- no foreign key: a program's events may arrive after its people's
    employee_id     text        NOT NULL,
    role            text        NOT NULL CHECK (role IN ('junior', 'senior')),
    status          text        NOT NULL CHECK (status IN ('enrolled', 'approved', 'withdrawn', 'erased')),
    profile         jsonb,                 -- what matching reads, as enrollment sent it; NULL once erased
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS pool_participants_by_program ON pool_participants (program_id, status);

-- Rounds: at most one running per program; GET /rounds/{id} reads its status here.
CREATE TABLE IF NOT EXISTS rounds (
    round_id        uuid PRIMARY KEY,
    program_id      uuid        NOT NULL,
    kind            text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz,
    pool_size       integer,
    matched         integer,
    unmatched_count integer,
    rotated_pairs   integer,
    total_score     double precision,
    unmatched       jsonb,
    rejected_pins   jsonb,
    failure         text
);
CREATE UNIQUE INDEX IF NOT EXISTS rounds_one_running_per_program ON rounds (program_id) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS rounds_by_program ON rounds (program_id, started_at);

-- Every pair ever proposed, with what the rules and the scheduler need: who holds whom (open pairs),
-- who were partners (never again in the program), and what falls due when.
CREATE TABLE IF NOT EXISTS pairs (
    pair_id         uuid PRIMARY KEY,
    program_id      uuid        NOT NULL,
    round_id        uuid        NOT NULL,
    junior_id       uuid        NOT NULL,
    senior_id       uuid        NOT NULL,
    status          text        NOT NULL,
    reminded        boolean     NOT NULL,
    remind_at       timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    rotation_due_at timestamptz
);
CREATE INDEX IF NOT EXISTS pairs_by_program ON pairs (program_id, status);
CREATE INDEX IF NOT EXISTS pairs_by_junior ON pairs (junior_id);
CREATE INDEX IF NOT EXISTS pairs_by_senior ON pairs (senior_id);
CREATE INDEX IF NOT EXISTS pairs_reminders_due ON pairs (remind_at) WHERE status = 'proposed' AND NOT reminded;
CREATE INDEX IF NOT EXISTS pairs_expiries_due ON pairs (expires_at) WHERE status = 'proposed';
CREATE INDEX IF NOT EXISTS pairs_rotations_due ON pairs (rotation_due_at) WHERE status = 'active';

-- Evaluation's own tables, beside the kernel's in the service schema.

-- Facts from other services' events (the subscriptions write them; evaluation never reads their tables).
CREATE TABLE IF NOT EXISTS programs (
    program_id  uuid PRIMARY KEY,
    start_date  date        NOT NULL,
    end_date    date        NOT NULL,
    objectives  text[]      NOT NULL DEFAULT '{}',
    started     boolean     NOT NULL DEFAULT false,
    closed_at   timestamptz
);

CREATE TABLE IF NOT EXISTS participants (
    participant_id  uuid PRIMARY KEY,
    program_id      uuid    NOT NULL,  -- no foreign key: a program's events may arrive after its people's
    employee_id     text    NOT NULL,
    role            text    NOT NULL CHECK (role IN ('junior', 'senior')),
    skills_wanted   text[]  NOT NULL DEFAULT '{}',
    objectives      text[]  NOT NULL DEFAULT '{}',
    status          text    NOT NULL,
    unmatched       boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS participants_by_program ON participants (program_id);

CREATE TABLE IF NOT EXISTS pairs (
    pair_id          uuid PRIMARY KEY,
    program_id       uuid        NOT NULL,
    junior_id        uuid        NOT NULL,
    senior_id        uuid        NOT NULL,
    activated_at     timestamptz NOT NULL,
    rotation_due_at  timestamptz NOT NULL,
    ended_at         timestamptz
);
CREATE INDEX IF NOT EXISTS pairs_by_junior ON pairs (junior_id);
CREATE INDEX IF NOT EXISTS pairs_by_senior ON pairs (senior_id);

CREATE TABLE IF NOT EXISTS sessions (
    session_id  uuid PRIMARY KEY,
    pair_id     uuid        NOT NULL,
    program_id  uuid        NOT NULL,
    junior_id   uuid        NOT NULL,
    senior_id   uuid        NOT NULL,
    status      text        NOT NULL CHECK (status IN ('scheduled', 'cancelled', 'held', 'missed')),
    held_at     timestamptz
);
CREATE INDEX IF NOT EXISTS sessions_by_pair ON sessions (pair_id);

-- The read model: each participant's evaluation and each pair's fit, as their streams fold,
-- written in the append's transaction (never behind the store).
CREATE TABLE IF NOT EXISTS evaluations (
    participant_id  uuid PRIMARY KEY,
    program_id      uuid  NOT NULL,
    state           jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS evaluations_by_program ON evaluations (program_id);

CREATE TABLE IF NOT EXISTS pair_fits (
    pair_id     uuid PRIMARY KEY,
    program_id  uuid  NOT NULL,
    state       jsonb NOT NULL
);

-- Free text (comments, practice descriptions, the survey's open text), sealed with the participant's
-- key: erasing them shreds the key and leaves the rows unreadable.
CREATE TABLE IF NOT EXISTS notes (
    note_id         bigserial PRIMARY KEY,
    participant_id  uuid        NOT NULL,
    about           text        NOT NULL,  -- e.g. "feedback:<session id>", "practice:<id>", "survey"
    sealed          bytea       NOT NULL,
    written_at      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS notes_by_participant ON notes (participant_id);

-- What the last ProgramImpactUpdated said, to publish only when the figures change.
CREATE TABLE IF NOT EXISTS published_impact (
    program_id  uuid PRIMARY KEY,
    figures     jsonb NOT NULL
);

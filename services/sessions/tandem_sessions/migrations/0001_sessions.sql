-- Sessions' own write-side tables, beside the kernel's in the service schema. Each changes in the same
-- transaction as the events it follows (or the consumed event it records), so the rules checked
-- against it (no double booking) are never behind the store.

-- Programs and people, fed by the enrollment subscription: sessions never reads enrollment's tables.
CREATE TABLE IF NOT EXISTS programs (
    program_id      uuid PRIMARY KEY,
    cadence_days    integer     NOT NULL,
    session_minutes integer     NOT NULL,
    start_date      date        NOT NULL,
    end_date        date        NOT NULL,
    objectives      jsonb       NOT NULL DEFAULT '{}',  -- code -> title
    closed          boolean     NOT NULL DEFAULT false
);

CREATE TABLE IF NOT EXISTS people (
    participant_id  uuid PRIMARY KEY,
    program_id      uuid        NOT NULL,  -- no foreign key: a program's events may arrive after its people's
    employee_id     text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('enrolled', 'withdrawn', 'erased')),
    profile         jsonb                  -- time zone, country, languages, availability, wants; NULL once erased
);
CREATE INDEX IF NOT EXISTS people_by_employee ON people (employee_id);

-- Active and ended pairs, from pairing's events.
CREATE TABLE IF NOT EXISTS pairs (
    pair_id         uuid PRIMARY KEY,
    program_id      uuid        NOT NULL,
    junior_id       uuid        NOT NULL,
    senior_id       uuid        NOT NULL,
    activated_at    timestamptz NOT NULL,
    rotation_due_at timestamptz NOT NULL,
    status          text        NOT NULL CHECK (status IN ('active', 'ended')),
    attention       text,                          -- why it needs attention (its schedule's follow)
    at_risk         text[]      NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS pairs_by_program ON pairs (program_id, pair_id);
CREATE INDEX IF NOT EXISTS pairs_by_junior ON pairs (junior_id);
CREATE INDEX IF NOT EXISTS pairs_by_senior ON pairs (senior_id);

-- Every session as its pair's schedule stream left it (written by the stream's `follow`): who is
-- booked when, and what the API, the feeds and the scheduler read.
CREATE TABLE IF NOT EXISTS sessions (
    session_id          uuid PRIMARY KEY,
    pair_id             uuid        NOT NULL,
    program_id          uuid        NOT NULL,
    junior_id           uuid        NOT NULL,
    senior_id           uuid        NOT NULL,
    starts_at           timestamptz NOT NULL,
    ends_at             timestamptz NOT NULL,
    duration_minutes    integer     NOT NULL,
    status              text        NOT NULL,
    sequence            integer     NOT NULL,
    extra               boolean     NOT NULL,
    proposed_by         uuid,
    proposed_starts_at  timestamptz,
    reminded            boolean     NOT NULL,
    agenda_items        integer     NOT NULL,
    cancelled_by        uuid,
    cancel_reason       text,
    late                boolean     NOT NULL,
    held_minutes        integer,
    absent              uuid[]      NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS sessions_of_pair ON sessions (pair_id, starts_at);
CREATE INDEX IF NOT EXISTS sessions_of_junior ON sessions (junior_id, starts_at);
CREATE INDEX IF NOT EXISTS sessions_of_senior ON sessions (senior_id, starts_at);
CREATE INDEX IF NOT EXISTS sessions_to_remind ON sessions (starts_at) WHERE status = 'scheduled' AND NOT reminded;

-- Agendas: free text, never in events.
CREATE TABLE IF NOT EXISTS agendas (
    session_id  uuid PRIMARY KEY,
    pair_id     uuid        NOT NULL,
    items       jsonb       NOT NULL,  -- [{"text": ..., "done": ...}]
    updated_at  timestamptz NOT NULL
);

-- Private notes of the two: sealed with the author's key (erasing the author shreds it).
CREATE TABLE IF NOT EXISTS notes (
    note_id     uuid PRIMARY KEY,
    session_id  uuid        NOT NULL,
    pair_id     uuid        NOT NULL,
    author_id   uuid        NOT NULL,
    sealed      bytea       NOT NULL,
    written_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS notes_of_session ON notes (session_id, written_at);

-- Each participant's secret calendar feed URL (a token); rotating it revokes the old one.
CREATE TABLE IF NOT EXISTS calendar_feeds (
    participant_id  uuid PRIMARY KEY,
    token_hash      text        NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL
);

-- Imports are durable jobs (see application/imports.py): whichever replica is alive carries an
-- import on, so its file must outlive the process that received it. It is kept sealed with a key of
-- its own (personal data at rest) and deleted, key shredded, when the import ends.
CREATE TABLE IF NOT EXISTS import_files (
    job_id          uuid PRIMARY KEY REFERENCES import_jobs ON DELETE CASCADE,
    content         bytea       NOT NULL
);
-- Every enrollment an import makes carries this correlation id: a resumed import recognises its own.
ALTER TABLE import_jobs ADD COLUMN IF NOT EXISTS correlation_id uuid;
-- The position of the last event an import wrote: once the read model has passed it, every row the
-- import enrolled is readable (GET /imports/{id} says `readable`).
ALTER TABLE import_jobs ADD COLUMN IF NOT EXISTS last_position bigint NOT NULL DEFAULT 0;

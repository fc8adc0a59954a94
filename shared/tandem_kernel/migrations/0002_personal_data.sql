-- Crypto-shredding of personal data (see privacy.py).

-- One data key per data subject, wrapped by the key derived from PERSONAL_DATA_MASTER_KEY.
-- Deleting a subject's row is their erasure: their sealed fields can no longer be opened anywhere.
CREATE TABLE IF NOT EXISTS subject_keys (
    subject         text PRIMARY KEY,
    wrapped_key     bytea       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- Whose personal fields an event carries (sealed), so reads can join it to the subject's key.
ALTER TABLE events ADD COLUMN IF NOT EXISTS data_subject text;

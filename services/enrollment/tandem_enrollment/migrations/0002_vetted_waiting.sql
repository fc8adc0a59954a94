-- Waiting participants who take a place as soon as one frees: vetted by HR, or by an auto-approving
-- program (ParticipantVetted). Written in the transaction that records the vetting, so a place freed
-- a moment later finds them even before the read model has caught up. Rows leave with the place.
CREATE TABLE IF NOT EXISTS vetted_waiting (
    participant_id  uuid PRIMARY KEY,
    program_id      uuid        NOT NULL,
    enrolled_at     timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS vetted_waiting_line ON vetted_waiting (program_id, enrolled_at, participant_id);

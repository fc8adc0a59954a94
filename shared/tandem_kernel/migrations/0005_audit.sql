-- Every event records who caused it: the authenticated subject (`actor`), the role it acted in
-- and, for a platform or an application, its OAuth client id (see identity.py, access.py).
ALTER TABLE events ADD COLUMN IF NOT EXISTS actor_role text;
ALTER TABLE events ADD COLUMN IF NOT EXISTS actor_client text;
-- The audit trail of a program (GET /audit): its events, in order, found without a scan.
CREATE INDEX IF NOT EXISTS events_by_program ON events ((payload->>'program_id'), position);

-- The pool says what enrollment says: applied, approved, waitlisted, withdrawn. An erased participant
-- is withdrawn, and their profile is gone (NULL).
ALTER TABLE pool_participants DROP CONSTRAINT IF EXISTS pool_participants_status_check;
UPDATE pool_participants SET status = 'applied' WHERE status = 'enrolled';
UPDATE pool_participants SET status = 'withdrawn' WHERE status = 'erased';
ALTER TABLE pool_participants ADD CONSTRAINT pool_participants_status_check
    CHECK (status IN ('applied', 'approved', 'waitlisted', 'withdrawn'));

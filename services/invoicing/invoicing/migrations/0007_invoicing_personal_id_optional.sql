-- A pupil without a personal ID (mã định danh) can be imported: flagged, and counted in the district's
-- indicator of pupils with a valid personal ID. Every pupil imported before had one (it was required).
ALTER TABLE students ADD COLUMN has_personal_id boolean NOT NULL DEFAULT true;
UPDATE students SET has_personal_id = false WHERE erased_at IS NOT NULL;

-- A pupil's personal data erased on request (Law 91/2025/QH15): the personal ID, date of birth, gender and
-- the guardian's name and phone go; the code and name stay on the accounting documents already issued.
ALTER TABLE students ALTER COLUMN date_of_birth DROP NOT NULL;
ALTER TABLE students ADD COLUMN erased_at timestamptz;
CREATE TABLE student_erasures (
    erasure_id  bigserial PRIMARY KEY,
    student_id  uuid NOT NULL REFERENCES students,
    erased_by   text NOT NULL,
    erased_at   timestamptz NOT NULL DEFAULT now(),
    reason      text NOT NULL
);

-- The pupils' keys that seal names in events (crypto-shredding, shared/events/pupil_keys.py). Invoicing
-- makes them; reconciliation and receipts keep a copy from tuition.invoicing.pupil-keys.v1 to open the
-- names. Erasing a pupil deletes their rows everywhere. (Reporting needs no names and keeps none here.)
CREATE TABLE pupil_keys (
    key_id     uuid PRIMARY KEY,
    student_id uuid NOT NULL,
    school_id  text NOT NULL,
    key        bytea NOT NULL CHECK (length(key) = 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pupil_keys_student ON pupil_keys (student_id);

-- The keys destroyed (their ids only): a sealed value whose key was destroyed opens to no names, and a
-- service that learns of an invoice after its pupil's erasure does not wait for a key that will never come.
CREATE TABLE pupil_keys_destroyed (
    key_id       uuid PRIMARY KEY,
    student_id   uuid NOT NULL,
    destroyed_at timestamptz NOT NULL DEFAULT now()
);

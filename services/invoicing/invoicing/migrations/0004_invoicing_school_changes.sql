-- Who changed a school's district or collection account, when, from what to what: parents' QR codes
-- pay the collection account, so every change of it is an audited action.
CREATE TABLE school_changes (
    change_id   bigserial PRIMARY KEY,
    school_id   text NOT NULL REFERENCES schools (school_id),
    changed_by  text NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    before      jsonb NOT NULL,
    after       jsonb NOT NULL
);
CREATE INDEX school_changes_by_school ON school_changes (school_id, change_id);

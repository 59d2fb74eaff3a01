-- Collection rounds (đợt thu): besides the period's invoice, a school may open extra rounds (uniforms,
-- insurance, a trip) for a class, a grade or everyone, each with its own invoices and payment references.
ALTER TABLE invoices ADD COLUMN round_code text NOT NULL DEFAULT '';
ALTER TABLE invoices DROP CONSTRAINT invoices_student_id_period_key;
ALTER TABLE invoices ADD CONSTRAINT invoices_student_period_round UNIQUE (student_id, period, round_code);

CREATE TABLE collection_rounds (
    school_id   text NOT NULL REFERENCES schools,
    code        text NOT NULL,
    name        text NOT NULL,
    period      text NOT NULL,
    class_name  text,
    grade       text,
    due_date    date NOT NULL,
    items       jsonb NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (school_id, code)
);

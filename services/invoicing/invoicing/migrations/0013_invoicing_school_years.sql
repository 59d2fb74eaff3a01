-- A new school year (issue 30 §3): pupils move up a grade, the last grade graduates, some are held back. The
-- class each pupil was in, every year, is kept; what they owe stays owed on their invoices.
ALTER TABLE students ADD COLUMN graduated_in text;  -- the school year the pupil finished at this school

CREATE TABLE class_history (
    student_id  uuid NOT NULL REFERENCES students,
    school_year text NOT NULL,           -- the year that ended
    grade       text NOT NULL,
    class_name  text NOT NULL,
    outcome     text NOT NULL CHECK (outcome IN ('promoted', 'graduated', 'repeated')),
    PRIMARY KEY (student_id, school_year)
);

-- Each school's roll-overs: once per year that ends (a second one is refused), who did it, what it did.
CREATE TABLE school_years (
    school_id  text NOT NULL REFERENCES schools,
    from_year  text NOT NULL,
    to_year    text NOT NULL,
    summary    jsonb NOT NULL,
    done_by    text NOT NULL,
    done_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (school_id, from_year)
);

-- A school's own roster headings, mapped once by its accountant (issue 30 §2): field → heading in its file.
CREATE TABLE roster_mappings (
    school_id  text PRIMARY KEY REFERENCES schools,
    mapping    jsonb NOT NULL,
    updated_by text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

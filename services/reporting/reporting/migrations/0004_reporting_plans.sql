-- The district plans' targets, as data: per district (or one school) and school year, per indicator. A target
-- holds from its school year until a later row; changing a plan adds a row, the old ones stay as history.
CREATE TABLE targets (
    district_code text NOT NULL,
    school_id     text NOT NULL DEFAULT '',    -- '' = every school of the district
    indicator     text NOT NULL CHECK (indicator IN
                      ('collection', 'cashless_amount', 'cashless_count', 'schools_accepting', 'personal_id')),
    school_year   text NOT NULL CHECK (school_year ~ '^\d{4}-\d{4}$'),
    target_bp     integer NOT NULL CHECK (target_bp BETWEEN 0 AND 10000),
    source        text NOT NULL,
    set_by        text NOT NULL,
    set_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district_code, school_id, indicator, school_year)
);

-- Calendar years, for the yearly reports that go by January to December.
ALTER TABLE invoices ADD COLUMN year text GENERATED ALWAYS AS (left(period, 4)) STORED;
CREATE INDEX invoices_district_calendar_year ON invoices (district_code, year);
CREATE INDEX invoices_school_calendar_year ON invoices (school_id, year);
ALTER TABLE refunds ADD COLUMN year text GENERATED ALWAYS AS (left(month, 4)) STORED;

-- Each school's roster as counted by invoicing (RosterCounted): how many pupils are enrolled and how many
-- carry a valid personal ID. Counts only: no pupil's ID leaves invoicing.
CREATE TABLE rosters (
    school_id          text PRIMARY KEY,
    students           integer NOT NULL,
    with_personal_id   integer NOT NULL,
    counted_at         timestamptz NOT NULL
);

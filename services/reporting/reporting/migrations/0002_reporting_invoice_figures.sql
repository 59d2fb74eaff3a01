-- Each invoice carries its own figures (kept up to date by the projection), so a dashboard query is one
-- indexed pass over invoices instead of re-aggregating payments and fee lines on every request.
ALTER TABLE invoices
    ADD COLUMN district_code     text NOT NULL DEFAULT '',
    ADD COLUMN invoiced          bigint NOT NULL DEFAULT 0,
    ADD COLUMN collected         bigint NOT NULL DEFAULT 0,
    ADD COLUMN cashless          bigint NOT NULL DEFAULT 0,
    ADD COLUMN payments          integer NOT NULL DEFAULT 0,
    ADD COLUMN cashless_payments integer NOT NULL DEFAULT 0,
    ADD COLUMN paid_up           boolean NOT NULL DEFAULT false;
CREATE INDEX invoices_district_period ON invoices (district_code, period);
CREATE INDEX invoices_district_quarter ON invoices (district_code, quarter);
CREATE INDEX invoices_district_year ON invoices (district_code, school_year);
CREATE INDEX invoices_school_quarter ON invoices (school_id, quarter);
CREATE INDEX invoices_school_year ON invoices (school_id, school_year);

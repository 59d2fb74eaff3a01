-- Projections built only from events (rebuildable by replaying the topics). No pupil's personal data:
-- students appear only as opaque ids, classes and grades.
CREATE TABLE schools (
    school_id     text PRIMARY KEY,
    name          text NOT NULL,
    district_code text NOT NULL,
    ownership     text NOT NULL,
    has_account   boolean NOT NULL
);
CREATE INDEX schools_district ON schools (district_code);

CREATE TABLE invoices (
    invoice_id   uuid PRIMARY KEY,
    school_id    text NOT NULL,
    student_id   text NOT NULL,
    grade        text NOT NULL,
    class_name   text NOT NULL,
    period       text NOT NULL,        -- billing month YYYY-MM
    quarter      text NOT NULL,        -- YYYY-Qn
    school_year  text NOT NULL,
    due_date     date NOT NULL,
    total        bigint NOT NULL,
    cancelled    boolean NOT NULL DEFAULT false
);
CREATE INDEX invoices_school_period ON invoices (school_id, period);

-- What each fee type of an invoice amounts to (adjustments go to 'adjustment').
CREATE TABLE invoice_fees (
    invoice_id   uuid NOT NULL REFERENCES invoices,
    category     text NOT NULL,
    amount       bigint NOT NULL,
    PRIMARY KEY (invoice_id, category)
);

-- Exempted/reduced amounts per policy category (what the state reimburses).
CREATE TABLE invoice_reductions (
    invoice_id      uuid NOT NULL REFERENCES invoices,
    policy_category text NOT NULL,
    category        text NOT NULL,
    reduction       bigint NOT NULL,
    PRIMARY KEY (invoice_id, policy_category, category)
);

CREATE TABLE payments (
    payment_id   text PRIMARY KEY,
    invoice_id   uuid NOT NULL,
    school_id    text NOT NULL,
    amount       bigint NOT NULL,
    channel      text NOT NULL,
    cashless     boolean NOT NULL,
    paid_at      timestamptz NOT NULL,
    reversed     boolean NOT NULL DEFAULT false
);
CREATE INDEX payments_invoice ON payments (invoice_id);

-- Per invoice: what counts as collected (capped at the total; cashless first), split over fee types
-- proportionally with the largest remainder, so fee types add up to the invoice to the đồng.
CREATE TABLE invoice_collected (
    invoice_id   uuid NOT NULL REFERENCES invoices,
    category     text NOT NULL,
    collected    bigint NOT NULL,
    cashless     bigint NOT NULL,
    PRIMARY KEY (invoice_id, category)
);

-- Every applied event, as received: the consistency check recomputes the figures from these.
CREATE TABLE event_log (
    seq         bigserial PRIMARY KEY,
    event_id    uuid NOT NULL UNIQUE,
    event_type  text NOT NULL,
    school_id   text NOT NULL,
    envelope    bytea NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_log_school ON event_log (school_id, seq);

-- Bumped on every change: the dashboard's live stream watches it.
CREATE TABLE projection_version (id boolean PRIMARY KEY DEFAULT true, version bigint NOT NULL);
INSERT INTO projection_version VALUES (true, 0);

CREATE TABLE fee_items (
    fee_item_id    uuid PRIMARY KEY,
    school_id      text NOT NULL REFERENCES schools,
    code           text NOT NULL,
    name           text NOT NULL,
    category       text NOT NULL CHECK (category IN ('tuition','meals','services','insurance','extra_classes','other')),
    cadence        text NOT NULL CHECK (cadence IN ('monthly','semester','yearly','one_off')),
    per_day        boolean NOT NULL DEFAULT false,
    state_funded   boolean NOT NULL DEFAULT false,
    one_off_period text,
    active         boolean NOT NULL DEFAULT true,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (school_id, code)
);

-- A rate for the whole school (grade and class NULL), a grade, or a class.
CREATE TABLE fee_rates (
    fee_item_id  uuid NOT NULL REFERENCES fee_items ON DELETE CASCADE,
    grade        text,
    class_name   text,
    amount       bigint NOT NULL CHECK (amount >= 0)
);
CREATE UNIQUE INDEX fee_rates_scope ON fee_rates (fee_item_id, coalesce(grade, ''), coalesce(class_name, ''));

-- School days per billing period (meals are billed per day).
CREATE TABLE school_calendar (
    school_id    text NOT NULL REFERENCES schools,
    period       text NOT NULL,
    school_days  integer NOT NULL CHECK (school_days BETWEEN 0 AND 31),
    PRIMARY KEY (school_id, period)
);

-- One counter for the whole district: payment references are unique across every school.
CREATE SEQUENCE payment_reference_seq;

CREATE TABLE invoices (
    invoice_id        uuid PRIMARY KEY,
    school_id         text NOT NULL REFERENCES schools,
    student_id        uuid NOT NULL REFERENCES students,
    period            text NOT NULL,
    school_year       text NOT NULL,
    payment_reference text NOT NULL UNIQUE,
    public_token      text NOT NULL UNIQUE,
    total             bigint NOT NULL CHECK (total >= 0),
    amount_paid       bigint NOT NULL DEFAULT 0,
    status            text NOT NULL CHECK (status IN ('open','partially_paid','paid','overpaid','cancelled')),
    due_date          date NOT NULL,
    issued_at         timestamptz NOT NULL DEFAULT now(),
    cancelled_at      timestamptz,
    cancel_reason     text,
    cancelled_by      text,
    -- Issuing a period twice creates nothing new.
    UNIQUE (student_id, period)
);
CREATE INDEX invoices_school_period ON invoices (school_id, period);

CREATE TABLE invoice_lines (
    invoice_id      uuid NOT NULL REFERENCES invoices,
    line_no         integer NOT NULL,
    item_code       text NOT NULL,
    name            text NOT NULL,
    category        text NOT NULL,
    quantity        integer NOT NULL,
    unit_amount     bigint NOT NULL,
    list_amount     bigint NOT NULL,
    reduction       bigint NOT NULL,
    policy_category text,
    amount          bigint NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (invoice_id, line_no)
);

-- Adjustments keep history: the lines are never edited, the total moves by recorded deltas.
CREATE TABLE invoice_adjustments (
    adjustment_id  uuid PRIMARY KEY,
    invoice_id     uuid NOT NULL REFERENCES invoices,
    delta          bigint NOT NULL CHECK (delta <> 0),
    reason         text NOT NULL,
    adjusted_by    text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- Payments applied to invoices (from reconciliation's events); the payment id makes them idempotent.
CREATE TABLE invoice_payments (
    payment_id      text PRIMARY KEY,
    invoice_id      uuid NOT NULL REFERENCES invoices,
    amount          bigint NOT NULL CHECK (amount > 0),
    channel         text NOT NULL,
    bank_reference  text NOT NULL DEFAULT '',
    paid_at         timestamptz NOT NULL,
    reversed_at     timestamptz
);
CREATE INDEX invoice_payments_invoice ON invoice_payments (invoice_id);

-- One reference for several open invoices of a family (one QR pays them all).
CREATE TABLE payment_groups (
    group_id          uuid PRIMARY KEY,
    school_id         text NOT NULL REFERENCES schools,
    payment_reference text NOT NULL UNIQUE,
    public_token      text NOT NULL UNIQUE,
    total             bigint NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE payment_group_invoices (
    group_id    uuid NOT NULL REFERENCES payment_groups,
    invoice_id  uuid NOT NULL REFERENCES invoices,
    PRIMARY KEY (group_id, invoice_id)
);

-- Receipts issued for an invoice (from the receipts service's events), linked from the parent page.
CREATE TABLE invoice_receipts (
    receipt_id   text PRIMARY KEY,
    invoice_id   uuid NOT NULL REFERENCES invoices,
    number       text NOT NULL,
    url          text NOT NULL,
    issued_at    timestamptz NOT NULL
);

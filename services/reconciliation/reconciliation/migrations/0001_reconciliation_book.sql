-- What reconciliation knows of schools, students and invoices: built only from invoicing's events.
CREATE TABLE schools (
    school_id       text PRIMARY KEY,
    district_code   text NOT NULL,
    name            text NOT NULL,
    bank_bin        text NOT NULL,
    account_number  text NOT NULL
);
CREATE INDEX schools_account ON schools (account_number);

-- How each school's aggregator webhooks are signed (configurable per school and provider).
CREATE TABLE webhook_configs (
    school_id   text NOT NULL,
    provider    text NOT NULL CHECK (provider IN ('sepay', 'casso', 'payos')),
    scheme      text NOT NULL,          -- sepay: apikey | hmac; casso: hmac; payos: checksum
    secret      text NOT NULL,
    PRIMARY KEY (school_id, provider)
);

CREATE TABLE invoices (
    invoice_id        uuid PRIMARY KEY,
    school_id         text NOT NULL,
    student_id        uuid NOT NULL,
    student_code      text NOT NULL,
    student_name      text NOT NULL,
    class_name        text NOT NULL,
    family_key        text NOT NULL,
    virtual_account   text,
    payment_reference text NOT NULL UNIQUE,
    period            text NOT NULL,
    due_date          date NOT NULL,
    total             bigint NOT NULL,
    allocated         bigint NOT NULL DEFAULT 0,   -- what reconciliation has applied to it
    cancelled         boolean NOT NULL DEFAULT false
);
CREATE INDEX invoices_school ON invoices (school_id);
CREATE INDEX invoices_student_code ON invoices (school_id, student_code);
CREATE INDEX invoices_family ON invoices (family_key);
CREATE INDEX invoices_virtual ON invoices (virtual_account) WHERE virtual_account IS NOT NULL;

CREATE TABLE payment_groups (
    payment_reference text PRIMARY KEY,
    school_id         text NOT NULL,
    invoice_ids       uuid[] NOT NULL
);

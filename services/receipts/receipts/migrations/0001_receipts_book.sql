-- What receipts need to know, from invoicing's events: the school, the invoice, its student and payer.
CREATE TABLE schools (
    school_id     text PRIMARY KEY,
    code          text NOT NULL,
    name          text NOT NULL,
    district_code text NOT NULL,
    tax_code      text NOT NULL DEFAULT '',
    address       text NOT NULL DEFAULT ''
);

CREATE TABLE invoices (
    invoice_id        uuid PRIMARY KEY,
    school_id         text NOT NULL,
    student_code      text NOT NULL,
    student_name      text NOT NULL,
    guardian_name     text NOT NULL,
    class_name        text NOT NULL,
    period            text NOT NULL,
    payment_reference text NOT NULL,
    total             bigint NOT NULL,
    lines             jsonb NOT NULL
);

-- Payments waiting for what their receipt needs (the invoice, a key, a series): never dropped.
CREATE TABLE pending_payments (
    payment_id   text PRIMARY KEY,
    invoice_id   uuid NOT NULL,
    school_id    text NOT NULL,
    payload      bytea NOT NULL,      -- the PaymentMatched message
    waiting_for  text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pending_payments_invoice ON pending_payments (invoice_id);
CREATE INDEX pending_payments_school ON pending_payments (school_id);

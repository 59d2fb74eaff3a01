-- Refunds recorded by reconciliation (RefundRecorded): money that came in and went back to the payer,
-- per school and by the month (quarter, school year) it was recorded in Vietnam's time.
CREATE TABLE refunds (
    event_id       uuid PRIMARY KEY,
    credit_id      text NOT NULL,
    school_id      text NOT NULL,
    amount         bigint NOT NULL,
    refunded_at    timestamptz NOT NULL,
    month          text NOT NULL,
    quarter        text NOT NULL,
    school_year    text NOT NULL
);
CREATE INDEX refunds_school_month ON refunds (school_id, month);

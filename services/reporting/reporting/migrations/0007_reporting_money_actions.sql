-- Every money action a person took, for the district's audit (issue 29 §7): invoices issued (one row per
-- issuing run: school, account, period, round and day), adjusted and cancelled; cash recorded; the exceptions
-- queue's actions on bank credits; receipts cancelled. Each from the event that made the change, which names
-- the account; what a bank or the matcher did alone is not here.
CREATE TABLE money_actions (
    action_key   text PRIMARY KEY,        -- the event id; for an issuing run, what identifies the run
    school_id    text NOT NULL,
    kind         text NOT NULL,           -- invoice.issued, invoice.adjusted, ..., credit.match, receipt.cancelled
    actor        text NOT NULL,
    amount       bigint NOT NULL,         -- đồng moved (an adjustment: signed)
    items        integer NOT NULL DEFAULT 1,  -- invoices in an issuing run; 1 otherwise
    subject      text NOT NULL DEFAULT '',    -- the invoice, credit or receipt (an issuing run: period and round)
    reason       text NOT NULL DEFAULT '',
    occurred_at  timestamptz NOT NULL
);
CREATE INDEX money_actions_school_time ON money_actions (school_id, occurred_at DESC);

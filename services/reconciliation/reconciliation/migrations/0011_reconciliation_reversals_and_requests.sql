-- A bank's reversal of a credit it booked (MT940 mark RC, camt debit entry with RvslInd), read from a statement:
-- never a credit. Applied to the credit it names (its payments taken back, the credit set aside as reversed
-- by the bank), or left open in the exceptions queue when no credit, or more than one, fits.
CREATE TABLE bank_reversals (
    reversal_id     uuid PRIMARY KEY,
    school_id       text NOT NULL,
    statement_id    uuid NOT NULL,
    account_number  text NOT NULL,
    amount          bigint NOT NULL CHECK (amount > 0),
    value_date      date NOT NULL,
    identifiers     text[] NOT NULL DEFAULT '{}',
    memo            text NOT NULL DEFAULT '',
    line            text NOT NULL DEFAULT '',
    credit_id       uuid REFERENCES credits,
    state           text NOT NULL CHECK (state IN ('applied', 'open', 'dismissed')),
    resolved_by     text,
    note            text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bank_reversals_by_school ON bank_reversals (school_id, state);
CREATE INDEX bank_reversals_by_key ON bank_reversals (account_number, amount, value_date);
-- A credit is reversed once, whatever statements repeat the reversal.
CREATE UNIQUE INDEX bank_reversals_once ON bank_reversals (credit_id) WHERE credit_id IS NOT NULL;

ALTER TABLE credit_actions DROP CONSTRAINT credit_actions_kind_check;
ALTER TABLE credit_actions ADD CONSTRAINT credit_actions_kind_check
    CHECK (kind IN ('match', 'split', 'refund', 'ignore', 'keep', 'unmatch', 'withdraw', 'undo', 'bank_reversal'));

-- The request an action answered (the client's idempotency key, or a digest of what was asked): the same
-- request again, a double click or ten at once, gets the first one's answer and does nothing more.
ALTER TABLE credit_actions ADD COLUMN request_key text;
ALTER TABLE credit_actions ADD COLUMN handled bigint NOT NULL DEFAULT 0;
CREATE INDEX credit_actions_request ON credit_actions (credit_id, request_key) WHERE request_key IS NOT NULL;

-- /metrics reads the credits received in the last weeks (the close's difference over 48 hours, the webhook
-- credits no statement confirmed): by the time they came, not by scanning every credit.
CREATE INDEX credits_received ON credits (received_at);

-- Every credit, once. amount = allocated (payments) + refunded + ignored + unallocated, always.
CREATE TABLE credits (
    credit_id       uuid PRIMARY KEY,
    school_id       text NOT NULL,
    account_number  text NOT NULL,
    amount          bigint NOT NULL CHECK (amount > 0),
    booked_at       timestamptz NOT NULL,
    value_date      date NOT NULL,              -- local (Asia/Ho_Chi_Minh) date of booking
    memo            text NOT NULL DEFAULT '',
    memo_compact    text NOT NULL DEFAULT '',   -- upper-case letters and digits only, for de-duplication
    payer_name      text NOT NULL DEFAULT '',
    payer_account   text NOT NULL DEFAULT '',
    virtual_account text NOT NULL DEFAULT '',
    channel         text NOT NULL,
    first_source    text NOT NULL,
    state           text NOT NULL,
    reason_code     text NOT NULL,
    memo_read       jsonb NOT NULL DEFAULT '{}',
    candidates      jsonb NOT NULL DEFAULT '[]',
    memo_refs       text[] NOT NULL DEFAULT '{}',
    allocated       bigint NOT NULL DEFAULT 0,
    refunded        bigint NOT NULL DEFAULT 0,
    ignored         bigint NOT NULL DEFAULT 0,
    received_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (allocated + refunded + ignored <= amount)
);
CREATE INDEX credits_school_date ON credits (school_id, value_date);
CREATE INDEX credits_dedup ON credits (account_number, amount, value_date);
CREATE INDEX credits_open ON credits (school_id, state) WHERE state IN ('unmatched', 'ambiguous', 'overpaid', 'duplicate');
CREATE INDEX credits_memo_refs ON credits USING gin (memo_refs);

-- Every identifier any channel gave a credit (webhook id, NtryRef, AcctSvcrRef, TxId, MT940 references):
-- a credit arriving again by another channel is recognised by any one of them.
CREATE TABLE credit_identifiers (
    account_number  text NOT NULL,
    identifier      text NOT NULL,
    credit_id       uuid NOT NULL REFERENCES credits,
    PRIMARY KEY (account_number, identifier)
);

-- Which kinds of source have delivered each credit (webhook_sepay, camt054, mt940, ...).
CREATE TABLE credit_sources (
    credit_id    uuid NOT NULL REFERENCES credits,
    source_kind  text NOT NULL,
    seen_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (credit_id, source_kind)
);

-- The parts of credits applied to invoices.
CREATE TABLE allocations (
    payment_id   uuid PRIMARY KEY,
    credit_id    uuid NOT NULL REFERENCES credits,
    invoice_id   uuid NOT NULL REFERENCES invoices,
    amount       bigint NOT NULL CHECK (amount > 0),
    reason_code  text NOT NULL,
    action_id    uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    reversed_at  timestamptz
);
CREATE INDEX allocations_credit ON allocations (credit_id);
CREATE INDEX allocations_invoice ON allocations (invoice_id);

-- Payer accounts seen paying for a student (learned from confirmed matches): a fallback for bare memos.
CREATE TABLE payer_accounts (
    payer_account text NOT NULL,
    student_id    uuid NOT NULL,
    school_id     text NOT NULL,
    last_seen     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (payer_account, student_id)
);

-- The accountant's actions on the exceptions queue: who, when, before/after; undoable.
CREATE TABLE credit_actions (
    action_id    uuid PRIMARY KEY,
    credit_id    uuid NOT NULL REFERENCES credits,
    kind         text NOT NULL CHECK (kind IN ('match', 'split', 'refund', 'ignore', 'undo')),
    payload      jsonb NOT NULL,
    actor        text NOT NULL,
    before       jsonb NOT NULL,
    after        jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    undone_by    uuid
);

-- Uploaded statements, by content hash: the same file twice changes nothing.
CREATE TABLE statements (
    statement_id  uuid PRIMARY KEY,
    school_id     text NOT NULL,
    format        text NOT NULL,
    sha256        text NOT NULL,
    filename      text NOT NULL,
    credits       integer NOT NULL,
    new_credits   integer NOT NULL,
    uploaded_by   text NOT NULL,
    uploaded_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (school_id, sha256)
);

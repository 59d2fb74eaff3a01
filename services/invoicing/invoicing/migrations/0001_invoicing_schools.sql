-- Schools and the bank account their fees are paid into.
CREATE TABLE schools (
    school_id       text PRIMARY KEY,
    code            text NOT NULL UNIQUE,
    name            text NOT NULL,
    district_code   text NOT NULL,
    ownership       text NOT NULL CHECK (ownership IN ('public', 'private')),
    bank_bin        text NOT NULL,
    account_number  text NOT NULL,
    account_name    text NOT NULL,
    tax_code        text NOT NULL DEFAULT '',
    address         text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now()
);

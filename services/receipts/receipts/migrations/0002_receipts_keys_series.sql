-- Development certification authority (production schools import certificates issued by a real CA).
CREATE TABLE certificate_authorities (
    ca_id       text PRIMARY KEY,
    cert_pem    text NOT NULL,
    key_p12     bytea NOT NULL,      -- encrypted with the service's key-encryption secret
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Every key a school has signed with; kept after rotation so old receipts stay verifiable.
CREATE TABLE signing_keys (
    kid          text PRIMARY KEY,
    school_id    text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('xml', 'compact')),
    key_p12      bytea NOT NULL,     -- encrypted PKCS#12: key, certificate, chain
    cert_pem     text NOT NULL,
    not_before   timestamptz NOT NULL,
    not_after    timestamptz NOT NULL,
    status       text NOT NULL CHECK (status IN ('active', 'retired', 'revoked')),
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX signing_keys_active ON signing_keys (school_id, kind) WHERE status = 'active';

-- Receipt series (ký hiệu mẫu số + ký hiệu biên lai), registered before use, numbered without gaps:
-- next_number moves in the same transaction that inserts the receipt (row lock), so a crash consumes nothing.
CREATE TABLE receipt_series (
    series_id    uuid PRIMARY KEY,
    school_id    text NOT NULL,
    form_code    text NOT NULL,      -- ký hiệu mẫu số biên lai
    series_code  text NOT NULL,      -- ký hiệu biên lai; its last two digits are the year
    year         integer NOT NULL,
    range_from   bigint NOT NULL CHECK (range_from >= 1),
    range_to     bigint NOT NULL,
    next_number  bigint NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT now(),
    closed       boolean NOT NULL DEFAULT false,
    CHECK (range_to >= range_from),
    CHECK (next_number BETWEEN range_from AND range_to + 1),
    UNIQUE (school_id, form_code, series_code)
);

CREATE TABLE receipts (
    receipt_id        uuid PRIMARY KEY,
    school_id         text NOT NULL,
    series_id         uuid NOT NULL REFERENCES receipt_series,
    number            bigint NOT NULL,
    payment_id        text UNIQUE,          -- one receipt per payment (NULL for replacements)
    invoice_id        uuid NOT NULL,
    amount            bigint NOT NULL,
    verification_code text NOT NULL UNIQUE,
    issued_at         timestamptz NOT NULL,
    xml               bytea NOT NULL,
    compact           text NOT NULL,
    xml_kid           text NOT NULL REFERENCES signing_keys,
    compact_kid       text NOT NULL REFERENCES signing_keys,
    status            text NOT NULL CHECK (status IN ('issued', 'cancelled')),
    cancelled_at      timestamptz,
    cancel_reason     text,
    replaces          uuid REFERENCES receipts,
    replaced_by       uuid REFERENCES receipts,
    UNIQUE (series_id, number)
);
CREATE INDEX receipts_invoice ON receipts (invoice_id);

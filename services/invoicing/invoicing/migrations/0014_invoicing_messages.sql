-- Parents are told (issue 31): invoice, payment and reminder messages by Zalo ZNS, SMS or email.
ALTER TABLE students ADD COLUMN guardian_email text;  -- sealed, like the phone; optional
ALTER TABLE students ADD COLUMN reminders_stopped boolean NOT NULL DEFAULT false;

-- A school's choices: its channels in the order tried, its reminders, its monthly cost cap (đồng).
CREATE TABLE message_settings (
    school_id          text PRIMARY KEY REFERENCES schools,
    channels           text[] NOT NULL,
    remind_days_before integer NOT NULL CHECK (remind_days_before BETWEEN 0 AND 30),
    remind_every_days  integer NOT NULL CHECK (remind_every_days BETWEEN 1 AND 60),
    max_reminders      integer NOT NULL CHECK (max_reminders BETWEEN 0 AND 10),
    monthly_cap        bigint NOT NULL CHECK (monthly_cap >= 0),
    stopped_classes    text[] NOT NULL DEFAULT '{}',
    updated_by         text NOT NULL,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- A guardian who asked for no more messages (Law 91/2025 on personal data; Decree 356/2025): by the keyed
-- hash of the phone (the family key), per school; when and how it was asked.
CREATE TABLE guardian_opt_outs (
    school_id   text NOT NULL REFERENCES schools,
    family_key  text NOT NULL,
    opted_out_at timestamptz NOT NULL DEFAULT now(),
    recorded_by text NOT NULL,
    source      text NOT NULL,
    PRIMARY KEY (school_id, family_key)
);

-- Every message: one per event and guardian (dedup_key, like the inbox), its channel tries, its cost. The
-- recipient is opened from the roster when sending; the log keeps it masked. No personal ID in `fields`.
CREATE TABLE messages (
    message_id       uuid PRIMARY KEY,
    school_id        text NOT NULL REFERENCES schools,
    dedup_key        text NOT NULL UNIQUE,
    kind             text NOT NULL CHECK (kind IN ('invoice', 'payment', 'reminder', 'code')),
    student_id       uuid NOT NULL REFERENCES students,
    invoice_id       uuid REFERENCES invoices,  -- none for a sign-in code
    channels         text[] NOT NULL,
    channel          text,
    status           text NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'skipped')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    recipient        text NOT NULL DEFAULT '',
    fields           jsonb NOT NULL,
    cost             bigint NOT NULL DEFAULT 0,
    provider_id      text,
    last_error       text,
    tries            jsonb NOT NULL DEFAULT '[]',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz
);
CREATE INDEX messages_due ON messages (next_attempt_at) WHERE status IN ('queued', 'sending');
CREATE INDEX messages_school ON messages (school_id, created_at DESC);
CREATE INDEX messages_invoice ON messages (invoice_id);

-- The Zalo Official Account's tokens: the access token lives 25 hours, the refresh token is used once and
-- replaced; both sealed.
CREATE TABLE zalo_tokens (
    singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    access_token  text NOT NULL,
    refresh_token text NOT NULL,
    expires_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- A parent's own page (issue 31 §5): signed in with the phone on the roster and a one-time code sent to it.
-- The family key (the keyed hash of the phone) finds every child at every school; codes are kept hashed.
CREATE TABLE parent_codes (
    code_id    uuid PRIMARY KEY,
    family_key text NOT NULL,
    code_hash  text NOT NULL,
    expires_at timestamptz NOT NULL,
    attempts   integer NOT NULL DEFAULT 0,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX parent_codes_family ON parent_codes (family_key, created_at DESC);

CREATE TABLE parent_sessions (
    token_hash text PRIMARY KEY,
    family_key text NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A guardian's consent to messages (Law 91/2025; Decree 356/2025): given on the parent's page (after the code
-- proved the phone) or on paper and recorded by the school; when, how, by whom.
CREATE TABLE guardian_consents (
    school_id    text NOT NULL REFERENCES schools,
    family_key   text NOT NULL,
    consented_at timestamptz NOT NULL DEFAULT now(),
    recorded_by  text NOT NULL,
    source       text NOT NULL,
    PRIMARY KEY (school_id, family_key)
);

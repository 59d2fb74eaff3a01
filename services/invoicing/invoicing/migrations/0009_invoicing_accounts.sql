-- People who sign in (issue 29): accounts with a role and a scope, invitation and reset links, sessions
-- held here (the browser has only an opaque cookie), sign-in failures for throttling, and the audit log.
CREATE TABLE accounts (
    account_id      uuid PRIMARY KEY,
    username        text NOT NULL UNIQUE,        -- lower-case ASCII
    display_name    text NOT NULL,
    -- province_admin: creates district administrators; district_admin: its district's accounts;
    -- district: the district office's officers (read); accountant: one or more schools; principal: reads
    -- one or more schools' figures; auditor: reads its district's, changes nothing.
    role            text NOT NULL CHECK (
        role IN ('province_admin', 'district_admin', 'district', 'accountant', 'principal', 'auditor')
    ),
    district_code   text,                        -- the district of every role but province_admin
    password_hash   text,                        -- Argon2id; NULL until an invitation is accepted
    totp_secret     text,                        -- sealed (INVOICING_DATA_KEY); NULL when none
    totp_pending    text,                        -- sealed; the secret shown while an invitation is open
    totp_last_step  bigint NOT NULL DEFAULT 0,   -- a TOTP step signs in once
    disabled_at     timestamptz,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (role = 'province_admin' OR district_code IS NOT NULL)
);

CREATE TABLE account_schools (
    account_id uuid NOT NULL REFERENCES accounts ON DELETE CASCADE,
    school_id  text NOT NULL REFERENCES schools,
    PRIMARY KEY (account_id, school_id)
);

-- One-time links (invitation, password reset): only the SHA-256 of the secret part is kept.
CREATE TABLE account_links (
    link_hash  bytea PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('invitation', 'reset')),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Sessions: the cookie carries a random secret; only its SHA-256 is kept. 'password' waits for the
-- second factor; 'full' is signed in.
CREATE TABLE sessions (
    session_hash bytea PRIMARY KEY,
    account_id   uuid NOT NULL REFERENCES accounts ON DELETE CASCADE,
    stage        text NOT NULL CHECK (stage IN ('password', 'full')),
    school_id    text,                            -- the school the workspace works on now
    csrf         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,           -- absolute end
    ended_at     timestamptz,
    user_agent   text NOT NULL DEFAULT '',
    address      text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_account ON sessions (account_id) WHERE ended_at IS NULL;

-- The short-lived API tokens a session minted: revoked with it.
CREATE TABLE session_tokens (
    session_hash bytea NOT NULL REFERENCES sessions ON DELETE CASCADE,
    jti          text NOT NULL,
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (session_hash, jti)
);

CREATE TABLE sign_in_failures (
    id      bigserial PRIMARY KEY,
    account text NOT NULL,     -- the user name tried
    address text NOT NULL,
    at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sign_in_failures_account ON sign_in_failures (account, at);
CREATE INDEX sign_in_failures_address ON sign_in_failures (address, at);

-- Who did what: sign-ins, failures, account and scope changes. Shown to the district, exportable.
CREATE TABLE audit_log (
    id            bigserial PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    actor         text NOT NULL,          -- the account's user name, or a service
    action        text NOT NULL,
    district_code text,
    school_id     text,
    subject       text NOT NULL DEFAULT '',  -- the account acted on, when another
    detail        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_district ON audit_log (district_code, at);

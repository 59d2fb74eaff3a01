-- Tokens revoked before they expire (TokenRevoked events, from any service): refused by this service too.
CREATE TABLE revoked_tokens (
    jti         text PRIMARY KEY,
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz NOT NULL DEFAULT now(),
    reason      text NOT NULL DEFAULT ''
);
CREATE INDEX revoked_tokens_by_time ON revoked_tokens (revoked_at);

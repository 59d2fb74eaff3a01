-- Signing in with the province's identity provider (OpenID Connect): an account is linked to the
-- provider's person (issuer and subject) the first time they sign in there under its user name; the
-- requests in flight (state, PKCE verifier, nonce) are kept until their answer, ten minutes at most.
ALTER TABLE accounts ADD COLUMN oidc_subject text UNIQUE;
CREATE TABLE oidc_requests (
    state         text PRIMARY KEY,
    browser_hash  bytea NOT NULL,   -- SHA-256 of the cookie that binds the request to the browser that began it
    code_verifier text NOT NULL,
    nonce         text NOT NULL,
    next          text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- The intermediate certificates between a school's certificate and the trusted authority (PEM, in order),
-- published beside it so that a receipt verifies offline through the whole chain.
ALTER TABLE signing_keys ADD COLUMN chain_pem text NOT NULL DEFAULT '';

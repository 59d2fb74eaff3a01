-- payOS's API, where a school gives its credentials: each payOS credit is confirmed with payOS before it is
-- booked (the payment link lists the transaction). The key is stored sealed, as the checksum key is.
ALTER TABLE webhook_configs ADD COLUMN api_client_id text;
ALTER TABLE webhook_configs ADD COLUMN api_key text;

-- The account that cancelled a receipt (empty: cancelled because its payment was reversed, which names who).
ALTER TABLE receipts ADD COLUMN cancelled_by text NOT NULL DEFAULT '';

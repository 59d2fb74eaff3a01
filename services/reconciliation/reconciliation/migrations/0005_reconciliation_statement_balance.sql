-- The bank's closing balance of a statement (camt.053 CLBD, MT940 :62F:), shown beside the daily close.
ALTER TABLE statements ADD COLUMN account_number text;
ALTER TABLE statements ADD COLUMN closing_date date;
ALTER TABLE statements ADD COLUMN closing_balance bigint;
CREATE INDEX statements_closing ON statements (school_id, closing_date) WHERE closing_balance IS NOT NULL;

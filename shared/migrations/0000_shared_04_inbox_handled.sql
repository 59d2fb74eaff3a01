-- An event whose type the consumer neither handles nor skips on purpose is kept with handled = false:
-- `SELECT event_type, count(*) FROM inbox WHERE NOT handled GROUP BY 1` shows what a consumer did not know.
ALTER TABLE inbox ADD COLUMN handled boolean NOT NULL DEFAULT true;
CREATE INDEX inbox_unhandled ON inbox (consumer, event_type) WHERE NOT handled;

-- Who entered a credit: the cash desk's account for cash, the uploader's for a statement's credit; empty for
-- what a bank or an aggregator sent by itself. (Cash recorded before this kept its recorder only as the payer
-- name where none was given.)
ALTER TABLE credits ADD COLUMN recorded_by text NOT NULL DEFAULT '';

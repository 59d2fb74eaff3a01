-- A credit arriving alone (a webhook, cash) looks up only the stored credits it could be: those sharing an
-- identifier or a payment reference, or whose memo is its memo cut short or the other way round, on the
-- same account, amount and day (domain/dedup.py). Before, it loaded every credit of the same account,
-- amount and day: at month start, when a school's parents all pay the same fee, that grew with every
-- credit (quadratic over the peak). Byte order ("C"), so that "starts with" is a range of the index.
CREATE INDEX credits_dedup_memo ON credits (account_number, amount, value_date, (memo_compact COLLATE "C"));
DROP INDEX credits_dedup;
-- A credit's identifiers by credit (the dedup candidates, a credit's detail): was a scan of every identifier.
CREATE INDEX credit_identifiers_credit ON credit_identifiers (credit_id);
-- Every arriving credit looks up the payment references its memo names: with GIN's pending list (fastupdate)
-- each lookup scanned every recently inserted credit's references; written straight into the index instead.
ALTER INDEX credits_memo_refs SET (fastupdate = off);
DO $$ BEGIN PERFORM gin_clean_pending_list('credits_memo_refs'::regclass); END $$;

-- A credit arriving alone (a webhook, cash) looks up only the stored credits it could be: those sharing an
-- identifier, a payment reference, or the first 8 memo characters on the same account, amount and day
-- (domain/dedup.py). Before, it loaded every credit of the same account, amount and day: at month start,
-- when a school's parents all pay the same fee, that grew with every credit (quadratic over the peak).
CREATE INDEX credits_dedup_prefix ON credits (account_number, amount, value_date, left(memo_compact, 8));
DROP INDEX credits_dedup;

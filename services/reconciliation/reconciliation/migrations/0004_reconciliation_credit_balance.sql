-- An excess kept as a family's credit balance (`keep`): applied to the family's next invoice when it is
-- issued, or refunded. balance_family is the invoices' family key (a pseudonym, never the guardian's phone).
ALTER TABLE credits ADD COLUMN balance_family text;
CREATE INDEX credits_family_balance ON credits (school_id, balance_family) WHERE state = 'credit_balance';
ALTER TABLE credit_actions DROP CONSTRAINT credit_actions_kind_check;
ALTER TABLE credit_actions ADD CONSTRAINT credit_actions_kind_check
    CHECK (kind IN ('match', 'split', 'refund', 'ignore', 'keep', 'unmatch', 'withdraw', 'undo'));

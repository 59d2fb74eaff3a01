-- Corrections of what was placed before: `unmatch` (a wrong match reversed) and `withdraw` (a cash entry
-- recorded by mistake). The reversed payments are in the action's payload, for its undo.
ALTER TABLE credit_actions DROP CONSTRAINT credit_actions_kind_check;
ALTER TABLE credit_actions ADD CONSTRAINT credit_actions_kind_check
    CHECK (kind IN ('match', 'split', 'refund', 'ignore', 'unmatch', 'withdraw', 'undo'));

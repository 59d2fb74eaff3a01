-- Numbered SQL migrations of the receipts service (yoyo). The shared outbox/inbox tables come first.
-- Nothing of its own yet.
SELECT 1;

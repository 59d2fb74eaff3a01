-- Numbered SQL migrations of the reconciliation service (yoyo). The shared outbox/inbox tables come first.
-- Nothing of its own yet.
SELECT 1;

-- InvoiceIssued carries the pupil's and the guardian's names sealed with the pupil's key
-- (shared/events/pupil_keys.py). Until the key arrives the invoice keeps the sealed value (and the key's id)
-- and its payments wait ("pupil key"); the key opens it into the names; the pupil's erasure blanks them.
-- Receipts already issued keep what they printed: they are accounting records.
ALTER TABLE invoices ADD COLUMN student_id uuid;
ALTER TABLE invoices ADD COLUMN sealed_names bytea;
ALTER TABLE invoices ADD COLUMN sealed_key_id uuid;
CREATE INDEX invoices_sealed_key ON invoices (sealed_key_id) WHERE sealed_names IS NOT NULL;
CREATE INDEX invoices_student ON invoices (student_id);

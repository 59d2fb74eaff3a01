-- InvoiceIssued carries the pupil's name sealed with the pupil's key (shared/events/pupil_keys.py). An
-- invoice whose key has not arrived yet keeps the sealed value here (and the key's id); the key's arrival
-- opens it into student_name, and the pupil's erasure blanks both.
ALTER TABLE invoices ADD COLUMN sealed_names bytea;
ALTER TABLE invoices ADD COLUMN sealed_key_id uuid;
CREATE INDEX invoices_sealed_key ON invoices (sealed_key_id) WHERE sealed_names IS NOT NULL;
CREATE INDEX invoices_student ON invoices (student_id);

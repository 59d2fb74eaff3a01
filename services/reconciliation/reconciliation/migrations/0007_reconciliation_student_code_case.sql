-- Memos arrive upper-cased: student codes with letters ("nt260004" on the roster) are looked up case-blind.
DROP INDEX IF EXISTS invoices_student_code;
CREATE INDEX invoices_student_code ON invoices (school_id, upper(student_code));

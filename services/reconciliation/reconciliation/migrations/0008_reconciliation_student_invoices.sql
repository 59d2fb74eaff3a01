-- A pupil's invoices by school: the book of concurrent credits brings each hit pupil's other invoices.
CREATE INDEX invoices_school_student ON invoices (school_id, student_id);

-- A book looks up a pupil's family and a virtual account within one school. With an index on the value
-- alone, the planner (its estimates still those of an empty table at month start) combined it with the
-- school's index, reading every invoice of the school for each family: 0.1 ms a pupil, most of the
-- time of a batch's book. Indexed by school first, each is one probe.
CREATE INDEX invoices_school_family ON invoices (school_id, family_key);
DROP INDEX invoices_family;
CREATE INDEX invoices_school_virtual ON invoices (school_id, virtual_account) WHERE virtual_account IS NOT NULL;
DROP INDEX invoices_virtual;

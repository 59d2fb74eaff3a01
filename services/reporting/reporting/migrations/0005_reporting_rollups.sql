-- Roll-ups: the dashboard reads these, never the invoices. Each is a sum of what the invoices of the projection
-- contribute, kept by `roll_up_invoices(ids, direction)`: the projection takes an invoice's contribution out
-- (direction -1) before it changes the invoice and puts the new one in (+1) after, in the same transaction.

-- Money, per school, billing month, class and due date (the day decides "overdue" at read time), for the
-- whole invoice (category '') and per fee type; rows with a policy are the reductions of that policy
-- category on that fee type (the amount in `invoiced`). `school_figures` is the same without the classes:
-- what the district's views read.
CREATE TABLE class_figures (
    district_code     text NOT NULL,
    school_id         text NOT NULL,
    category          text NOT NULL,
    policy            text NOT NULL,
    period            text NOT NULL,
    school_year       text NOT NULL,
    grade             text NOT NULL,
    class_name        text NOT NULL,
    due_date          date NOT NULL,
    quarter           text NOT NULL,
    year              text NOT NULL,
    invoiced          bigint NOT NULL,
    collected         bigint NOT NULL,
    cashless          bigint NOT NULL,
    invoices          bigint NOT NULL,
    payments          bigint NOT NULL,
    cashless_payments bigint NOT NULL,
    PRIMARY KEY (school_id, category, policy, period, school_year, grade, class_name, due_date, district_code)
);
CREATE TABLE school_figures (LIKE class_figures);
ALTER TABLE school_figures DROP COLUMN grade, DROP COLUMN class_name,
    ADD PRIMARY KEY (district_code, category, policy, period, school_id, school_year, due_date);
CREATE INDEX school_figures_school ON school_figures (school_id, category, policy, period);

-- Pupils are counted once per scope (all time, a month, a quarter, a school year, a calendar year): one row
-- per pupil and scope says how many of their invoices fall in it and how many are not paid up. A pupil
-- counts in the class they were first billed in within the scope.
CREATE TABLE student_scopes (
    school_id     text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('all', 'period', 'quarter', 'school_year', 'year')),
    scope         text NOT NULL,
    category      text NOT NULL,
    policy        text NOT NULL,
    student_id    text NOT NULL,
    district_code text NOT NULL,
    grade         text NOT NULL,
    class_name    text NOT NULL,
    invoices      integer NOT NULL,
    unpaid        integer NOT NULL,
    PRIMARY KEY (school_id, kind, scope, category, policy, student_id)
);

-- How many pupils each class has in a scope, and how many of them have paid everything.
CREATE TABLE student_counts (
    district_code text NOT NULL,
    kind          text NOT NULL,
    scope         text NOT NULL,
    category      text NOT NULL,
    policy        text NOT NULL,
    school_id     text NOT NULL,
    grade         text NOT NULL,
    class_name    text NOT NULL,
    students      integer NOT NULL,
    fully_paid    integer NOT NULL,
    PRIMARY KEY (district_code, kind, scope, category, policy, school_id, grade, class_name)
);
CREATE INDEX student_counts_school ON student_counts (school_id, kind, scope, category, policy);

CREATE FUNCTION roll_up_invoices(ids uuid[], direction integer) RETURNS void LANGUAGE sql AS $$
WITH inv AS MATERIALIZED (
    SELECT i.invoice_id, i.district_code, i.school_id, i.student_id, i.grade, i.class_name, i.period, i.quarter,
           i.school_year, i.year, i.due_date, i.invoiced, i.collected, i.cashless, i.payments,
           i.cashless_payments, i.paid_up
      FROM invoices i JOIN unnest(ids) AS u(invoice_id) USING (invoice_id)
     WHERE NOT i.cancelled
), lines AS MATERIALIZED (
    SELECT invoice_id, ''::text AS category, ''::text AS policy, invoiced AS amount, collected, cashless FROM inv
    UNION ALL
    SELECT f.invoice_id, f.category, '', f.amount, coalesce(c.collected, 0), coalesce(c.cashless, 0)
      FROM inv JOIN invoice_fees f USING (invoice_id)
      LEFT JOIN invoice_collected c ON c.invoice_id = f.invoice_id AND c.category = f.category
    UNION ALL
    SELECT r.invoice_id, r.category, r.policy_category, r.reduction, 0, 0
      FROM inv JOIN invoice_reductions r USING (invoice_id)
), by_class AS (
    INSERT INTO class_figures AS t (district_code, category, policy, period, school_id, school_year, grade,
                                    class_name, due_date, quarter, year, invoiced, collected, cashless, invoices,
                                    payments, cashless_payments)
    SELECT i.district_code, l.category, l.policy, i.period, i.school_id, i.school_year, i.grade, i.class_name,
           i.due_date, i.quarter, i.year, direction * sum(l.amount), direction * sum(l.collected),
           direction * sum(l.cashless), direction * count(*), direction * sum(i.payments),
           direction * sum(i.cashless_payments)
      FROM lines l JOIN inv i USING (invoice_id)
     GROUP BY i.district_code, l.category, l.policy, i.period, i.school_id, i.school_year, i.grade, i.class_name,
              i.due_date, i.quarter, i.year
    ON CONFLICT (school_id, category, policy, period, school_year, grade, class_name, due_date, district_code)
    DO UPDATE SET invoiced = t.invoiced + excluded.invoiced, collected = t.collected + excluded.collected,
                  cashless = t.cashless + excluded.cashless, invoices = t.invoices + excluded.invoices,
                  payments = t.payments + excluded.payments,
                  cashless_payments = t.cashless_payments + excluded.cashless_payments
), by_school AS (
    INSERT INTO school_figures AS t (district_code, category, policy, period, school_id, school_year, due_date,
                                     quarter, year, invoiced, collected, cashless, invoices, payments,
                                     cashless_payments)
    SELECT i.district_code, l.category, l.policy, i.period, i.school_id, i.school_year, i.due_date, i.quarter,
           i.year, direction * sum(l.amount), direction * sum(l.collected), direction * sum(l.cashless),
           direction * count(*), direction * sum(i.payments), direction * sum(i.cashless_payments)
      FROM lines l JOIN inv i USING (invoice_id)
     GROUP BY i.district_code, l.category, l.policy, i.period, i.school_id, i.school_year, i.due_date, i.quarter,
              i.year
    ON CONFLICT (district_code, category, policy, period, school_id, school_year, due_date)
    DO UPDATE SET invoiced = t.invoiced + excluded.invoiced, collected = t.collected + excluded.collected,
                  cashless = t.cashless + excluded.cashless, invoices = t.invoices + excluded.invoices,
                  payments = t.payments + excluded.payments,
                  cashless_payments = t.cashless_payments + excluded.cashless_payments
), delta AS MATERIALIZED (
    SELECT i.school_id, k.kind, k.scope, l.category, l.policy, i.student_id, min(i.district_code) AS district_code,
           min(i.grade) AS grade, min(i.class_name) AS class_name, count(*)::integer AS invoices,
           (count(*) FILTER (WHERE NOT i.paid_up))::integer AS unpaid
      FROM lines l JOIN inv i USING (invoice_id)
      CROSS JOIN LATERAL (VALUES ('all', ''), ('period', i.period), ('quarter', i.quarter),
                                 ('school_year', i.school_year), ('year', i.year)) AS k(kind, scope)
     GROUP BY i.school_id, k.kind, k.scope, l.category, l.policy, i.student_id
), pupils AS (
    INSERT INTO student_scopes AS t (school_id, kind, scope, category, policy, student_id, district_code, grade,
                                     class_name, invoices, unpaid)
    SELECT school_id, kind, scope, category, policy, student_id, district_code, grade, class_name,
           direction * invoices, direction * unpaid
      FROM delta
    ON CONFLICT (school_id, kind, scope, category, policy, student_id)
    DO UPDATE SET invoices = t.invoices + excluded.invoices, unpaid = t.unpaid + excluded.unpaid,
                  district_code = CASE WHEN t.invoices = 0 THEN excluded.district_code ELSE t.district_code END,
                  grade = CASE WHEN t.invoices = 0 THEN excluded.grade ELSE t.grade END,
                  class_name = CASE WHEN t.invoices = 0 THEN excluded.class_name ELSE t.class_name END
    RETURNING t.*
), changes AS (
    -- Before this change the row held (invoices - its delta, unpaid - its delta); a row that had no invoice
    -- takes the class of its new ones, so the count it leaves and the one it joins are always its own.
    SELECT p.district_code, p.kind, p.scope, p.category, p.policy, p.school_id, p.grade, p.class_name,
           (p.invoices > 0)::integer - (p.invoices - direction * d.invoices > 0)::integer AS students,
           (p.invoices > 0 AND p.unpaid = 0)::integer
             - (p.invoices - direction * d.invoices > 0 AND p.unpaid - direction * d.unpaid = 0)::integer AS fully_paid
      FROM pupils p JOIN delta d USING (school_id, kind, scope, category, policy, student_id)
)
INSERT INTO student_counts AS t (district_code, kind, scope, category, policy, school_id, grade, class_name,
                                 students, fully_paid)
SELECT district_code, kind, scope, category, policy, school_id, grade, class_name, sum(students), sum(fully_paid)
  FROM changes
 GROUP BY district_code, kind, scope, category, policy, school_id, grade, class_name
HAVING sum(students) <> 0 OR sum(fully_paid) <> 0
ON CONFLICT (district_code, kind, scope, category, policy, school_id, grade, class_name)
DO UPDATE SET students = t.students + excluded.students, fully_paid = t.fully_paid + excluded.fully_paid
$$;

DO $$ BEGIN PERFORM roll_up_invoices(array(SELECT invoice_id FROM invoices), 1); END $$;

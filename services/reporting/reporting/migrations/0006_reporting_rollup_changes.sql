-- A payment, a reversal, an adjustment or a cancellation changes an invoice's money, never its groups (school,
-- district, class, months). Taking the whole invoice out of the roll-ups and putting it back rewrote every roll-up
-- row it touches twice, most of them back to the same figures. Instead: `rollup_snapshot` reads the invoices'
-- contributions before the change (handed back as they are, never parsed by the service), and
-- `roll_up_change` writes only what differs between that and the contributions after it. Changes that move an
-- invoice between groups (a school that learns its district) keep the whole out-and-in of `roll_up_invoices`.

CREATE FUNCTION rollup_snapshot(ids uuid[]) RETURNS jsonb LANGUAGE sql STABLE AS $$
WITH inv AS MATERIALIZED (
    SELECT i.invoice_id, i.district_code, i.school_id, i.student_id, i.grade, i.class_name, i.period, i.quarter,
           i.school_year, i.year, i.due_date, i.collected, i.cashless, i.payments, i.cashless_payments, i.paid_up,
           i.invoiced
      FROM invoices i JOIN unnest(ids) AS u(invoice_id) USING (invoice_id)
     WHERE NOT i.cancelled
), lines AS (
    SELECT f.invoice_id, f.category, f.amount, coalesce(c.collected, 0) AS collected,
           coalesce(c.cashless, 0) AS cashless
      FROM inv JOIN invoice_fees f USING (invoice_id)
      LEFT JOIN invoice_collected c ON c.invoice_id = f.invoice_id AND c.category = f.category
), reductions AS (
    SELECT r.invoice_id, r.category, r.policy_category AS policy, r.reduction AS amount
      FROM inv JOIN invoice_reductions r USING (invoice_id)
)
SELECT jsonb_build_object(
    'inv', coalesce((SELECT jsonb_agg(inv) FROM inv), '[]'),
    'fees', coalesce((SELECT jsonb_agg(lines) FROM lines), '[]'),
    'reductions', coalesce((SELECT jsonb_agg(reductions) FROM reductions), '[]'))
$$;

CREATE FUNCTION roll_up_change(ids uuid[], before jsonb) RETURNS void LANGUAGE sql AS $$
WITH now_inv AS MATERIALIZED (
    SELECT i.invoice_id, i.district_code, i.school_id, i.student_id, i.grade, i.class_name, i.period, i.quarter,
           i.school_year, i.year, i.due_date, i.invoiced, i.collected, i.cashless, i.payments, i.cashless_payments,
           i.paid_up
      FROM invoices i JOIN unnest(ids) AS u(invoice_id) USING (invoice_id)
     WHERE NOT i.cancelled
), was_inv AS MATERIALIZED (
    SELECT * FROM jsonb_to_recordset(before -> 'inv') AS o(
           invoice_id uuid, district_code text, school_id text, student_id text, grade text, class_name text,
           period text, quarter text, school_year text, year text, due_date date, invoiced bigint,
           collected bigint, cashless bigint, payments integer, cashless_payments integer, paid_up boolean)
), rows AS MATERIALIZED (
    -- Each invoice as a whole, each of its fee types and each reduction: now (+1) and before the change (-1),
    -- every line carrying its invoice's groups (no join on the sign, whose estimate misleads the planner).
    SELECT 1 AS sign, ''::text AS category, ''::text AS policy, i.invoiced AS amount, i.collected, i.cashless,
           i.district_code, i.school_id, i.student_id, i.grade, i.class_name, i.period, i.quarter, i.school_year,
           i.year, i.due_date, i.payments, i.cashless_payments, i.paid_up
      FROM now_inv i
    UNION ALL
    SELECT 1, f.category, '', f.amount, coalesce(c.collected, 0), coalesce(c.cashless, 0),
           i.district_code, i.school_id, i.student_id, i.grade, i.class_name, i.period, i.quarter, i.school_year,
           i.year, i.due_date, i.payments, i.cashless_payments, i.paid_up
      FROM now_inv i JOIN invoice_fees f USING (invoice_id)
      LEFT JOIN invoice_collected c ON c.invoice_id = f.invoice_id AND c.category = f.category
    UNION ALL
    SELECT 1, r.category, r.policy_category, r.reduction, 0, 0,
           i.district_code, i.school_id, i.student_id, i.grade, i.class_name, i.period, i.quarter, i.school_year,
           i.year, i.due_date, i.payments, i.cashless_payments, i.paid_up
      FROM now_inv i JOIN invoice_reductions r USING (invoice_id)
    UNION ALL
    SELECT -1, '', '', i.invoiced, i.collected, i.cashless,
           i.district_code, i.school_id, i.student_id, i.grade, i.class_name, i.period, i.quarter, i.school_year,
           i.year, i.due_date, i.payments, i.cashless_payments, i.paid_up
      FROM was_inv i
    UNION ALL
    SELECT -1, f.category, '', f.amount, f.collected, f.cashless,
           i.district_code, i.school_id, i.student_id, i.grade, i.class_name, i.period, i.quarter, i.school_year,
           i.year, i.due_date, i.payments, i.cashless_payments, i.paid_up
      FROM was_inv i
      JOIN jsonb_to_recordset(before -> 'fees')
           AS f(invoice_id uuid, category text, amount bigint, collected bigint, cashless bigint) USING (invoice_id)
    UNION ALL
    SELECT -1, r.category, r.policy, r.amount, 0, 0,
           i.district_code, i.school_id, i.student_id, i.grade, i.class_name, i.period, i.quarter, i.school_year,
           i.year, i.due_date, i.payments, i.cashless_payments, i.paid_up
      FROM was_inv i
      JOIN jsonb_to_recordset(before -> 'reductions')
           AS r(invoice_id uuid, category text, policy text, amount bigint) USING (invoice_id)
), by_class AS (
    INSERT INTO class_figures AS t (district_code, category, policy, period, school_id, school_year, grade,
                                    class_name, due_date, quarter, year, invoiced, collected, cashless, invoices,
                                    payments, cashless_payments)
    SELECT * FROM (
        SELECT district_code, category, policy, period, school_id, school_year, grade, class_name, due_date,
               quarter, year, sum(sign * amount) AS invoiced, sum(sign * collected) AS collected,
               sum(sign * cashless) AS cashless, sum(sign) AS invoices, sum(sign * payments) AS payments,
               sum(sign * cashless_payments) AS cashless_payments
          FROM rows
         GROUP BY district_code, category, policy, period, school_id, school_year, grade, class_name, due_date,
                  quarter, year) d
     WHERE (invoiced, collected, cashless, invoices, payments, cashless_payments) <> (0, 0, 0, 0, 0, 0)
    ON CONFLICT (school_id, category, policy, period, school_year, grade, class_name, due_date, district_code)
    DO UPDATE SET invoiced = t.invoiced + excluded.invoiced, collected = t.collected + excluded.collected,
                  cashless = t.cashless + excluded.cashless, invoices = t.invoices + excluded.invoices,
                  payments = t.payments + excluded.payments,
                  cashless_payments = t.cashless_payments + excluded.cashless_payments
), by_school AS (
    INSERT INTO school_figures AS t (district_code, category, policy, period, school_id, school_year, due_date,
                                     quarter, year, invoiced, collected, cashless, invoices, payments,
                                     cashless_payments)
    SELECT * FROM (
        SELECT district_code, category, policy, period, school_id, school_year, due_date, quarter, year,
               sum(sign * amount) AS invoiced, sum(sign * collected) AS collected, sum(sign * cashless) AS cashless,
               sum(sign) AS invoices, sum(sign * payments) AS payments,
               sum(sign * cashless_payments) AS cashless_payments
          FROM rows
         GROUP BY district_code, category, policy, period, school_id, school_year, due_date, quarter, year) d
     WHERE (invoiced, collected, cashless, invoices, payments, cashless_payments) <> (0, 0, 0, 0, 0, 0)
    ON CONFLICT (district_code, category, policy, period, school_id, school_year, due_date)
    DO UPDATE SET invoiced = t.invoiced + excluded.invoiced, collected = t.collected + excluded.collected,
                  cashless = t.cashless + excluded.cashless, invoices = t.invoices + excluded.invoices,
                  payments = t.payments + excluded.payments,
                  cashless_payments = t.cashless_payments + excluded.cashless_payments
), delta AS MATERIALIZED (
    SELECT * FROM (
        SELECT r.school_id, k.kind, k.scope, r.category, r.policy, r.student_id,
               min(r.district_code) AS district_code, min(r.grade) AS grade, min(r.class_name) AS class_name,
               sum(r.sign)::integer AS invoices,
               coalesce(sum(r.sign) FILTER (WHERE NOT r.paid_up), 0)::integer AS unpaid
          FROM rows r
          CROSS JOIN LATERAL (VALUES ('all', ''), ('period', r.period), ('quarter', r.quarter),
                                     ('school_year', r.school_year), ('year', r.year)) AS k(kind, scope)
         GROUP BY r.school_id, k.kind, k.scope, r.category, r.policy, r.student_id) d
     WHERE invoices <> 0 OR unpaid <> 0
), pupils AS (
    INSERT INTO student_scopes AS t (school_id, kind, scope, category, policy, student_id, district_code, grade,
                                     class_name, invoices, unpaid)
    SELECT school_id, kind, scope, category, policy, student_id, district_code, grade, class_name, invoices, unpaid
      FROM delta
    ON CONFLICT (school_id, kind, scope, category, policy, student_id)
    DO UPDATE SET invoices = t.invoices + excluded.invoices, unpaid = t.unpaid + excluded.unpaid,
                  district_code = CASE WHEN t.invoices = 0 THEN excluded.district_code ELSE t.district_code END,
                  grade = CASE WHEN t.invoices = 0 THEN excluded.grade ELSE t.grade END,
                  class_name = CASE WHEN t.invoices = 0 THEN excluded.class_name ELSE t.class_name END
    RETURNING t.*
), changes AS (
    -- As in roll_up_invoices, with the net change: before it the row held (invoices - delta, unpaid - delta).
    SELECT p.district_code, p.kind, p.scope, p.category, p.policy, p.school_id, p.grade, p.class_name,
           (p.invoices > 0)::integer - (p.invoices - d.invoices > 0)::integer AS students,
           (p.invoices > 0 AND p.unpaid = 0)::integer
             - (p.invoices - d.invoices > 0 AND p.unpaid - d.unpaid = 0)::integer AS fully_paid
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

-- One body for every way into the roll-ups: putting invoices in is the change from nothing to them, taking
-- them out the change from them to nothing (the body 0005 gave this function is replaced).
CREATE OR REPLACE FUNCTION roll_up_invoices(ids uuid[], direction integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF direction = 1 THEN
        PERFORM roll_up_change(ids, '{}'::jsonb);
    ELSE
        PERFORM roll_up_change('{}'::uuid[], rollup_snapshot(ids));
    END IF;
END
$$;

-- `rollup_snapshot` and `roll_up_change` were SQL functions: PostgreSQL plans a SQL function's statement
-- again at every call, and planning roll_up_change's one large statement (three inputs, five upserts) took
-- 4 to 10 ms, the same for one payment as for hundreds. At a district's usual pace a batch holds one or two
-- payments, so that planning was most of the dashboard's cost per payment.
--
-- The same statements, unchanged (taken from the functions 0006 created), become PL/pgSQL, which prepares a
-- function's statements once per connection; a generic plan is kept (the inputs are a batch's invoice ids,
-- whose plan does not depend on their values), so a call with a few invoices costs well under a millisecond.
DO $migration$
DECLARE
    snapshot_sql text := (SELECT prosrc FROM pg_proc WHERE proname = 'rollup_snapshot');
    change_sql text := (SELECT prosrc FROM pg_proc WHERE proname = 'roll_up_change');
BEGIN
    EXECUTE format(
        'CREATE OR REPLACE FUNCTION rollup_snapshot(ids uuid[]) RETURNS jsonb LANGUAGE plpgsql STABLE '
        'SET plan_cache_mode = force_generic_plan AS %L',
        E'BEGIN\nRETURN (' || snapshot_sql || E');\nEND');
    EXECUTE format(
        'CREATE OR REPLACE FUNCTION roll_up_change(ids uuid[], before jsonb) RETURNS void LANGUAGE plpgsql '
        'SET plan_cache_mode = force_generic_plan AS %L',
        E'BEGIN\n' || change_sql || E';\nEND');
END
$migration$;

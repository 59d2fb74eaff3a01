-- Every process keeps what a webhook needs of its school (how its aggregator signs, the school's account) in
-- memory while it listens on this channel (app/targets.py). Any change of either, by any path, tells them
-- at its commit; a process that is not listening reads the database instead.
CREATE FUNCTION webhook_targets_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('webhook_targets', '');
    RETURN NULL;
END $$;
CREATE TRIGGER webhook_configs_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON webhook_configs
    FOR EACH STATEMENT EXECUTE FUNCTION webhook_targets_changed();
CREATE TRIGGER schools_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON schools
    FOR EACH STATEMENT EXECUTE FUNCTION webhook_targets_changed();

-- Transactional outbox: a state change and its events are written in one transaction;
-- the relay publishes unpublished rows to Kafka in `seq` order and then marks them.
CREATE TABLE outbox (
    seq           bigserial PRIMARY KEY,
    event_id      uuid        NOT NULL UNIQUE,
    topic         text        NOT NULL,
    kafka_key     bytea       NOT NULL,
    payload       bytea       NOT NULL,
    event_type    text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;

-- Wake the relay when events are written (a hint only: the relay polls as well).
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox', '');
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

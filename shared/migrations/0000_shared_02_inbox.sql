-- Inbox: a consumer records each event id it applied in the same transaction as the state change,
-- so an event delivered again (relay restart, producer retry, replay) is applied once.
CREATE TABLE inbox (
    consumer      text        NOT NULL,
    event_id      uuid        NOT NULL,
    event_type    text        NOT NULL,
    topic         text        NOT NULL,
    kafka_partition integer   NOT NULL,
    kafka_offset  bigint      NOT NULL,
    processed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Events a consumer could not apply after retries: kept whole for inspection and replay, never dropped.
CREATE TABLE dead_letters (
    id            bigserial PRIMARY KEY,
    consumer      text        NOT NULL,
    topic         text        NOT NULL,
    kafka_partition integer   NOT NULL,
    kafka_offset  bigint      NOT NULL,
    event_id      text,
    payload       bytea       NOT NULL,
    error         text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    replayed_at   timestamptz,
    UNIQUE (consumer, topic, kafka_partition, kafka_offset)
);

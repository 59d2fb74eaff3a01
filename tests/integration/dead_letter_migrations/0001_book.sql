-- A small projection for the dead-letter test: a school name applied once, and the cause of a failure.
CREATE TABLE book (school_id text PRIMARY KEY, name text NOT NULL, times int NOT NULL DEFAULT 1);
CREATE TABLE outage (school_id text PRIMARY KEY);

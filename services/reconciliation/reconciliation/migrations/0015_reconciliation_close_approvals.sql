-- The principal's approval of a day's close (issue 29: principals read and approve): who, when, and the
-- figures approved, so that a change to the day afterwards (a late action, a statement) shows the approval
-- no longer holds. A day approved again keeps the earlier approvals as history.
CREATE TABLE close_approvals (
    school_id    text NOT NULL,
    day          date NOT NULL,
    approved_at  timestamptz NOT NULL DEFAULT now(),
    approved_by  text NOT NULL,
    note         text NOT NULL DEFAULT '',
    figures      jsonb NOT NULL,
    PRIMARY KEY (school_id, day, approved_at)
);

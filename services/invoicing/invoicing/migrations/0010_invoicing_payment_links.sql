-- Parents' payment links (issue 29 §6): each ends at a date the school may set (by default 120 days after
-- the invoice was issued; a family's link ends with the first of its invoices' links), and the school may
-- replace a link (a lost phone, a link forwarded to the wrong person): the old token is kept here so that
-- its page says it was replaced, not that it never existed.
ALTER TABLE invoices ADD COLUMN link_expires_on date;
CREATE TABLE payment_links_retired (
    public_token text PRIMARY KEY,
    school_id    text NOT NULL,
    retired_at   timestamptz NOT NULL DEFAULT now(),
    retired_by   text NOT NULL
);

-- The last day a parent's link opens: the day the school set, else 120 days after the invoice was issued.
CREATE FUNCTION payment_link_end(link_expires_on date, issued_at timestamptz) RETURNS date
    LANGUAGE sql STABLE
    RETURN coalesce(link_expires_on, (issued_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date + 120);

-- Today in Asia/Ho_Chi_Minh (a link opens through its last day there).
CREATE FUNCTION vn_today() RETURNS date
    LANGUAGE sql STABLE
    RETURN (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date;

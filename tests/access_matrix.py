"""Who may call what: every route of every service, and the callers it is open to.

docs/access-matrix.md is rendered from this table (`python -m tests.access_matrix` writes it; a test fails while
it is stale), and `tests/integration/
test_access_matrix.py` calls every route as every caller: a cell the table does not open must answer
401 or 403, and a route missing from the table fails the test.

Callers: `anonymous` (no token); `parent` (a parent token of the school); `accountant` of the school and
`accountant*` of another school; `district` of the school's district and `district*` of another
district; `principal` of the school; `auditor` of the school's district; `service` (another service of
the suite).
"""

from __future__ import annotations

CALLERS = (
    "anonymous",
    "parent",
    "accountant",
    "accountant*",
    "district",
    "district*",
    "principal",
    "auditor",
    "service",
)

ANYONE = frozenset(CALLERS)
STAFF = frozenset({"accountant", "service"})
READERS = frozenset({"accountant", "district", "principal", "auditor", "service"})
DISTRICT = frozenset({"district", "service"})
DISTRICT_READERS = DISTRICT | {"auditor"}  # an auditor of the district reads what its office reads
SERVICE = frozenset({"service"})
PRINCIPAL = frozenset({"principal"})
NOBODY: frozenset[str] = frozenset()  # no bearer token: a signed-in person's session cookie
SIGNED_IN_STAFF = frozenset({"accountant", "accountant*", "district", "district*", "principal", "auditor", "service"})

OPS = {
    "GET /healthz": ANYONE,
    "GET /readyz": ANYONE,
    # Counts and ages only (no personal data, school ids at most); kept off the public Ingress (deploy/).
    "GET /metrics": ANYONE,
    "POST /tokens/revoked": SERVICE,
    # Operators (a service token: `tuition dead-letters`); a decoded event may name a pupil.
    "GET /ops/dead-letters": SERVICE,
    "GET /ops/dead-letters/{letter_id}": SERVICE,
    "POST /ops/dead-letters/{letter_id}/replay": SERVICE,
}

MATRIX: dict[str, dict[str, frozenset[str]]] = {
    "invoicing": OPS
    | {
        "PUT /schools/{school_id}": DISTRICT,
        "GET /schools/{school_id}": READERS,
        "GET /schools/{school_id}/changes": READERS,
        "POST /schools/{school_id}/roster": STAFF,
        "GET /schools/{school_id}/roster/template.xlsx": STAFF,
        "GET /schools/{school_id}/students": STAFF,
        "GET /schools/{school_id}/students/{code}/personal-data": STAFF,
        "POST /schools/{school_id}/students/{code}/erasure": STAFF,
        "PUT /schools/{school_id}/fee-items/{code}": STAFF,
        "GET /schools/{school_id}/messages": STAFF,
        "GET /schools/{school_id}/messages/summary": STAFF,
        "POST /schools/{school_id}/students/{code}/consent": STAFF,
        "GET /schools/{school_id}/exports/notices.pdf": STAFF,
        "GET /schools/{school_id}/message-settings": STAFF,
        "PUT /schools/{school_id}/message-settings": STAFF,
        "PUT /schools/{school_id}/students/{code}/reminders": STAFF,
        "POST /schools/{school_id}/students/{code}/opt-out": STAFF,
        "DELETE /schools/{school_id}/fee-items/{code}": STAFF,
        "GET /schools/{school_id}/fee-items": READERS,
        "PUT /schools/{school_id}/calendar/{period}": STAFF,
        # The national rules to everyone signed in; a school's own rules only to those who may see it.
        "GET /policies": SIGNED_IN_STAFF,
        "POST /schools/{school_id}/policies": STAFF,
        "POST /policies": SERVICE,
        "POST /schools/{school_id}/periods/{period}/invoices": STAFF,
        "GET /schools/{school_id}/periods/{period}/invoices/preview": STAFF,
        "POST /schools/{school_id}/rounds": STAFF,
        "GET /schools/{school_id}/rounds": STAFF,
        "GET /schools/{school_id}/exports/collection.{fmt}": STAFF,
        "GET /schools/{school_id}/exports/unpaid.pdf": STAFF,
        "GET /schools/{school_id}/invoices": STAFF,
        "GET /schools/{school_id}/invoices/{invoice_id}": STAFF,
        "POST /schools/{school_id}/invoices/{invoice_id}/cancel": STAFF,
        "POST /schools/{school_id}/invoices/{invoice_id}/adjustments": STAFF,
        "GET /schools/{school_id}/invoices/{invoice_id}/qr.{fmt}": STAFF,
        "POST /schools/{school_id}/payment-groups": STAFF,
        "POST /schools/{school_id}/school-years/{to_year}/preview": STAFF,
        "POST /schools/{school_id}/school-years/{to_year}": STAFF,
        "POST /schools/{school_id}/invoices/{invoice_id}/payment-link": STAFF,
        "PUT /schools/{school_id}/payment-links/{period}": STAFF,
        "GET /schools/{school_id}/reports/reimbursement": READERS,
        # The unguessable link is the credential (rate limited).
        "GET /pay/{token}": ANYONE,
        "GET /pay/{token}/qr.{fmt}": ANYONE,
        "GET /pay/{token}/status": ANYONE,
        "POST /parent/code": ANYONE,
        "POST /parent/sign-in": ANYONE,
        "GET /parent/overview": ANYONE,  # its own cookie decides (a parent's session), not a bearer token
        "POST /parent/sign-out": ANYONE,
        "POST /parent/messages": ANYONE,  # its own cookie decides
        "POST /pay/{token}/family": ANYONE,  # the family's link: an unguessable token, like the page itself
        "GET /ketoan": ANYONE,  # the workspace's shell: no data; every figure comes from the APIs under a token
        "GET /ketoan/app.js": ANYONE,
        "GET /tai-khoan/moi": ANYONE,  # an invitation's page: its secret is the link's fragment, read by its script
        "GET /tai-khoan/moi.js": ANYONE,
        "GET /auth/signin.js": ANYONE,
        "GET /dang-nhap": ANYONE,  # the suite's sign-in page
        "GET /phu-huynh": ANYONE,  # the parent's page: no data until a code signs the parent in
        "GET /dang-nhap.js": ANYONE,
        "GET /quan-tri": ANYONE,  # the administration's shell: every figure comes from the session's APIs
        "GET /quan-tri/app.js": ANYONE,
        # Signing in (rate limited, throttled per account and address) and a one-time link's own secret.
        "POST /auth/sign-in": ANYONE,
        "POST /auth/second-factor": ANYONE,
        "POST /auth/links/open": ANYONE,
        "POST /auth/links/accept": ANYONE,
        # The province's identity provider: where to go, and its answer (bound to the browser that asked).
        "GET /auth/oidc": ANYONE,
        "GET /auth/oidc/start": ANYONE,
        "GET /auth/oidc/callback": ANYONE,
        # A person's own session (the cookie, with its CSRF token): no bearer token opens these.
        "GET /auth/session": NOBODY,
        "POST /auth/token": NOBODY,
        "POST /auth/school": NOBODY,
        "GET /auth/sessions": NOBODY,
        "DELETE /auth/sessions/{session_id}": NOBODY,
        "POST /auth/sign-out": NOBODY,
        # Administrators by their session; the operator with a service token.
        "GET /accounts": SERVICE,
        "POST /accounts": SERVICE,
        "POST /accounts/{account_id}/disable": SERVICE,
        "POST /accounts/{account_id}/enable": SERVICE,
        "PUT /accounts/{account_id}/schools": SERVICE,
        "POST /accounts/{account_id}/reset": SERVICE,
        "GET /audit": SERVICE,
        "GET /audit.csv": SERVICE,
    },
    "reconciliation": OPS
    | {
        "PUT /schools/{school_id}/webhooks/{provider}": STAFF,
        "GET /schools/{school_id}/webhooks": STAFF,
        # Signed by the aggregator (checked before anything is read), rate limited per school.
        "POST /webhooks/{provider}/{school_id}": ANYONE,
        "POST /schools/{school_id}/statements": STAFF,
        "POST /schools/{school_id}/cash": STAFF,
        "GET /schools/{school_id}/credits": STAFF,
        "GET /schools/{school_id}/credits/{credit_id}": STAFF,
        "GET /schools/{school_id}/exceptions": STAFF,
        "GET /schools/{school_id}/exceptions/count": STAFF,
        "GET /schools/{school_id}/reversals": STAFF,
        "POST /schools/{school_id}/reversals/{reversal_id}": STAFF,
        "POST /schools/{school_id}/credits/{credit_id}/actions": STAFF,
        "POST /schools/{school_id}/actions/{action_id}/undo": STAFF,
        "GET /schools/{school_id}/exports/credits.{fmt}": STAFF,
        "GET /schools/{school_id}/close": READERS,
        # The school's principal approves a balanced day (what its accountant did); nobody else.
        "POST /schools/{school_id}/close/approval": PRINCIPAL,
        "GET /schools/{school_id}/close/confirmations": STAFF,
    },
    "receipts": OPS
    | {
        "POST /schools/{school_id}/series": STAFF,
        "GET /schools/{school_id}/series": STAFF,
        "POST /schools/{school_id}/keys": STAFF,
        "GET /schools/{school_id}/keys": STAFF,
        "POST /schools/{school_id}/keys/rotate": STAFF,
        # Revocation (a compromised key) is an operator's act.
        "POST /schools/{school_id}/keys/{kid}/revoke": SERVICE,
        "GET /keys": ANYONE,
        "GET /keys/{kid}.pem": ANYONE,
        "GET /schools/{school_id}/exports/receipts.{fmt}": STAFF,
        "GET /schools/{school_id}/receipts": STAFF,
        "POST /schools/{school_id}/receipts/{receipt_id}/cancel": STAFF,
        # The receipt's verification code is the credential; verification is public by design.
        "GET /r/{code}.pdf": ANYONE,
        "GET /r/{code}.xml": ANYONE,
        "GET /r/{code}": ANYONE,
        "POST /verify": ANYONE,
        "GET /verify": ANYONE,
    },
    "reporting": OPS
    | {
        "GET /api/districts/{district}/summary": DISTRICT_READERS,
        "GET /api/districts/{district}/trend": DISTRICT_READERS,
        "GET /api/districts/{district}/export.{fmt}": DISTRICT_READERS,
        "GET /api/districts/{district}/report.{fmt}": DISTRICT_READERS,
        # The district's audit of money actions: its office and its auditors.
        "GET /api/districts/{district}/money-actions": DISTRICT_READERS,
        "GET /api/districts/{district}/money-actions.{fmt}": DISTRICT_READERS,
        # The district office sets its own plan's targets.
        "GET /api/districts/{district}/targets": DISTRICT_READERS,
        "PUT /api/districts/{district}/targets": DISTRICT,
        # The sector database and the city's operations centre call with a service token.
        "GET /api/sector/v1/districts/{district}/indicators": SERVICE,
        "GET /api/sector/v1/districts/{district}/indicators.csv": SERVICE,
        "GET /api/schools/{school_id}/summary": READERS,
        "GET /api/schools/{school_id}/trend": READERS,
        "GET /api/schools/{school_id}/check": READERS,
        # Called with school_id of the school; the token travels in the Authorization header (read with fetch).
        "GET /api/stream": READERS,
        # The page itself holds no data: it asks the API with the token it is given.
        "GET /dashboard": ANYONE,
        "GET /": ANYONE,
    },
}

MARK = {True: "✓", False: "·"}


def render() -> str:
    """The matrix's tables (one per service)."""
    out = []
    for service, routes in MATRIX.items():
        out.append(f"**{service}**\n")
        out.append("| route | " + " | ".join(CALLERS) + " |")
        out.append("|---|" + "---|" * len(CALLERS))
        for route, allowed in routes.items():
            out.append(f"| `{route}` | " + " | ".join(MARK[c in allowed] for c in CALLERS) + " |")
        out.append("")
    return "\n".join(out)


INTRO = """Who may call each route (✓), as tested: `tests/integration/test_access_matrix.py` calls every route of
every service as each of these callers and fails if a cell not marked ✓ answers anything but 401/403
(or a ✓ cell is refused), and if a route is missing from the table (`tests/access_matrix.py`, from which
this table is rendered). `accountant*` is an accountant of another school, `district*` a district office
of another district, `principal` the school's principal (reads its figures, moves no money), `auditor` an
auditor of the school's district (reads, changes nothing); routes marked for no caller take a signed-in
person's session cookie, not a token (see [security.md](security.md), "Signing in"); a public route's own
credential is its unguessable link, its verification code or the aggregator's signature, and it is rate
limited."""


def page() -> str:
    """docs/access-matrix.md as it must read."""
    head = "<!-- Generated from tests/access_matrix.py by `python -m tests.access_matrix`: edit that file. -->\n"
    return head + "# Access matrix\n\n" + INTRO + "\n\n" + render()


if __name__ == "__main__":
    from pathlib import Path

    target = Path(__file__).resolve().parents[1] / "docs" / "access-matrix.md"
    target.write_text(page(), encoding="utf-8")
    print(f"wrote {target}")

"""Every page a person opens sends a Content-Security-Policy (issue 28 §6): only the page's own scripts run
(its inline ones by hash), nothing is loaded or sent elsewhere, no framing, forms only where a page has one."""

from __future__ import annotations

import base64
import hashlib

from shared import pages


def test_an_inline_script_runs_by_its_hash_and_nothing_else_is_allowed():
    script = 'document.title = "x";'
    html = f"<html><body><p>hi</p><script>{script}</script></body></html>"
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    csp = pages.page(html).headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == f"'self' 'sha256-{digest}'"
    assert directives["frame-ancestors"] == "'none'" and directives["form-action"] == "'none'"
    assert "unsafe-inline" not in directives["script-src"]
    changed = pages.page(html.replace("x", "y")).headers["content-security-policy"]
    assert digest not in changed  # a script that differs is not allowed by the first one's hash


def test_a_page_with_a_form_or_apis_elsewhere_names_them_and_only_them():
    response = pages.page("<form method=post></form>", forms=True, connect=("https://api.example.vn",))
    csp = response.headers["content-security-policy"]
    assert "form-action 'self'" in csp and "connect-src 'self' https://api.example.vn;" in csp
    assert response.headers["referrer-policy"] == "no-referrer" and response.headers["x-frame-options"] == "DENY"

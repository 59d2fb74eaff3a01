"""The headers every page a person opens is sent with: a Content-Security-Policy that lets the page run only
its own scripts (its inline ones by their SHA-256, computed from the page itself), reach only its own origin
(and the APIs named), be framed by nobody and post forms only to itself; no Referer, no caching, no index."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi.responses import HTMLResponse

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def script_hashes(html: str) -> list[str]:
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    ]


def policy(html: str, *, connect: tuple[str, ...] = (), forms: bool = False) -> str:
    scripts = " ".join(["'self'", *script_hashes(html)])
    origins = " ".join(["'self'", *connect])
    form_action = "'self'" if forms else "'none'"
    return (
        f"default-src 'none'; script-src {scripts}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        f"connect-src {origins}; frame-ancestors 'none'; base-uri 'none'; form-action {form_action}"
    )


def page(html: str, *, status_code: int = 200, connect: tuple[str, ...] = (), forms: bool = False) -> HTMLResponse:
    return HTMLResponse(
        html,
        status_code=status_code,
        headers={
            "Content-Security-Policy": policy(html, connect=connect, forms=forms),
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "X-Robots-Tag": "noindex",
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
        },
    )

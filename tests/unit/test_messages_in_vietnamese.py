"""Every error a person can see is said in Vietnamese (issue 30): the pages show a problem's `detail` as it
comes, so each message the services raise is written in Vietnamese where it is raised.

The check reads the source: every error raised with a written message (a `DomainError` and the parsers' own
errors whose text becomes a `detail`) must contain Vietnamese and no English sentence. A few modules answer
machines or operators only, never a page; they are listed with the reason.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Modules whose messages no page shows, and who reads them instead.
NOT_FOR_PAGES = {
    "services/reconciliation/reconciliation/adapters/webhooks.py": "answers aggregators' servers (their developers)",
    "services/reconciliation/reconciliation/app/intake/channels.py:webhook": "the webhook's answers, same",
    "services/reconciliation/reconciliation/adapters/payos_api.py": "payOS's API answers, logged for operators",
    "services/invoicing/invoicing/adapters/vietqr.py": "QR payloads the suite builds itself; the developer CLI",
    "services/invoicing/invoicing/adapters/oidc.py": "the identity provider's set-up, for operators",
    "services/receipts/receipts/adapters/trust.py": "the deployment's trust bundle, at start-up, for operators",
    "shared/auth.py": "tokens: a page never shows these, it signs in again",
    "shared/db.py": "connections, for operators",
    "shared/sealed.py": "keys, for operators",
    "shared/events/": "event plumbing and the dead-letter CLI, for operators",
}
# Raised types whose text never reaches a person as is.
INTERNAL = {
    "ValueError",
    "TypeError",
    "KeyError",
    "RuntimeError",
    "AssertionError",
    "NotImplementedError",
    "ConnectionError",
    "OutsideTransactionError",
    "SystemExit",
}

VIETNAMESE = re.compile(r"[ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ]", re.IGNORECASE)
ENGLISH = re.compile(r"\b(?:the|is|are|cannot|must|only|not|needs|give|send|unknown|missing|already)\b")


def _error_name(call: ast.Call) -> str | None:
    f = call.func
    name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
    if name is None or name in INTERNAL:
        return None
    return name if name.endswith(("Error", "Rejected")) or name in _DOMAIN else None


_DOMAIN = {
    "Invalid",
    "Conflict",
    "NotFound",
    "Forbidden",
    "Unauthorized",
    "Malformed",
    "Unavailable",
    "DomainError",
    "TooManyAttempts",
    "TooManyStreams",
    "Verdict",
}


def _text(node: ast.expr) -> str | None:
    """The written part of a message (a literal, or an f-string's constant parts); None when not written here."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return " ".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    return None


def _exempt(rel: str, line_text: str) -> bool:
    for where in NOT_FOR_PAGES:
        path, _, mark = where.partition(":")
        if rel.startswith(path) and (not mark or mark in line_text):
            return True
    return False


def _english_messages() -> list[str]:
    found = []
    files = [*ROOT.glob("services/*/*/**/*.py"), *ROOT.glob("shared/**/*.py")]
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        if "/tests/" in rel:
            continue
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.Call) or not node.args or _error_name(node) is None:
                continue
            text = _text(
                node.args[0] if _error_name(node) != "Verdict" else node.args[1] if len(node.args) > 1 else node.args[0]
            )
            if text is None or _exempt(rel, lines[node.lineno - 1]):
                continue
            words = re.sub(r"[^\w]+", " ", text).strip()
            english = ENGLISH.search(text) or (
                len(re.findall(r"[A-Za-z]{3,}", words)) > 1 and not VIETNAMESE.search(text)
            )
            if english:
                found.append(f"{rel}:{node.lineno}: {text[:90]!r}")
    return found


def test_every_error_a_page_can_show_is_written_in_vietnamese():
    assert _english_messages() == []


def test_the_check_finds_an_english_message(tmp_path, monkeypatch):
    """The check is not blind: a module raising an English message is caught."""
    fake = ROOT / "services" / "invoicing" / "invoicing" / "app" / "_english_probe.py"
    fake.write_text('from shared.errors import Invalid\n\ndef f():\n    raise Invalid("the invoice is not open")\n')
    try:
        assert any("_english_probe.py" in m for m in _english_messages())
    finally:
        fake.unlink()

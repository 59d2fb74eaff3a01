"""`tuition receipts verify` offline: the QR text is taken as text, whatever it looks like."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from receipts.adapters import compact
from receipts.adapters.certificates import cert_pem, issue_school_key, jwk, new_ca

SCHOOL = "MN-HOA-PHUONG"
# Longer than any file name may be (NAME_MAX): probing such a text as a path raised "File name too long".
LONG_RUN = 256


def _signed_text_with_a_long_run(ca):
    """A genuine receipt QR (the claims the service signs) whose Base45 text starts with a run of ≥ 256
    characters without "/": the shape that made the path probe raise. The text's first characters come
    from the key id, so each attempt takes a new school key as well as a new verification code: a few
    percent of attempts succeed, and 3,000 attempts all failing has a chance below 1e-20."""
    for _ in range(3000):
        school = issue_school_key(ca, school_id=SCHOOL, school_name="Trường Mầm non Hoa Phượng", kind="qr")
        claims = {
            "v": secrets.token_hex(16),
            "s": SCHOOL,
            "f": "01BLP0-001",
            "sr": "BL26",
            "n": 7,
            "a": 1_250_000,
            "t": int(datetime.now(UTC).timestamp()),
            "c": "MN" + secrets.token_hex(80),
        }
        text = compact.sign(claims, school.key, bytes.fromhex(school.kid))
        if len(text.split("/")[0]) >= LONG_RUN:
            return school, text
    raise AssertionError("no text starting with a long run in 3000 tries")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "suite.cli", "receipts", "verify", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_a_qr_text_with_a_run_longer_than_a_file_name_verifies_offline(tmp_path: Path):
    ca = new_ca()
    school, text = _signed_text_with_a_long_run(ca)
    keys = {"keys": [jwk(school.cert, school_id=SCHOOL, status="active")], "trust_anchors": [cert_pem(ca.cert)]}
    (tmp_path / "keys.json").write_text(json.dumps(keys))
    assert re.match(r"[^/]{256}", text)

    result = _cli(text, "--keys", str(tmp_path / "keys.json"))

    assert result.returncode == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert (verdict["valid"], verdict["format"], verdict["fields"]["school_id"]) == (True, "qr", SCHOOL)


def test_a_missing_file_is_named_in_a_clear_refusal(tmp_path: Path):
    (tmp_path / "keys.json").write_text(json.dumps({"keys": [], "trust_anchors": []}))

    result = _cli(str(tmp_path / "nowhere.xml"), "--keys", str(tmp_path / "keys.json"))

    assert result.returncode == 2
    assert "neither a receipt QR text" in result.stderr and "nowhere.xml" in result.stderr

"""`tuition receipts verify FILE|QR-TEXT`: exit 0 when the receipt is genuine, 1 when it is not (and why)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

import httpx

from receipts.adapters import compact
from receipts.app.verification import KeyList, verify_any


def _load_keys(source: str) -> KeyList:
    if source.startswith(("http://", "https://")):
        response = httpx.get(source.rstrip("/"), timeout=10)
        response.raise_for_status()
        return KeyList(response.json())
    return KeyList(json.loads(Path(source).read_text()))


def _read_receipt(arg: str) -> bytes | str:
    """The QR text is recognised by its prefix; anything else names a file. A QR text is never probed as a
    path: a Base45 text can hold a run of more than 255 characters without "/", which no file name can."""
    if arg.strip().startswith(compact.PREFIX):
        return arg
    return Path(arg).read_bytes()


def _verify(args: argparse.Namespace) -> int:
    try:
        data = _read_receipt(args.receipt)
    except OSError as exc:
        print(
            f"tuition receipts verify: {args.receipt!r} is neither a receipt QR text ({compact.PREFIX}...) "
            f"nor a readable file: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2
    try:
        keys = _load_keys(args.keys)
    except (OSError, ValueError, httpx.HTTPError) as exc:
        print(f"tuition receipts verify: cannot load the key list from {args.keys}: {exc}", file=sys.stderr)
        return 2
    verdict = verify_any(data, keys)
    print(json.dumps(asdict(verdict), ensure_ascii=False, default=str))
    return 0 if verdict.valid else 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rc = sub.add_parser("receipts", help="receipt tools").add_subparsers(dest="receipts_cmd", required=True)
    v = rc.add_parser("verify", help="verify a receipt (XML or PDF file, or the QR text); exit 0 valid, 1 invalid")
    v.add_argument("receipt", help="a file path, or the QR text (BL1:...)")
    v.add_argument(
        "--keys",
        default="http://127.0.0.1:8103/keys",
        help="the published key list: a URL, or a saved JSON file for offline checks",
    )
    v.set_defaults(func=_verify)

"""`tuition vietqr decode PAYLOAD` and `tuition vietqr encode ...`: for support staff and scripts."""

from __future__ import annotations

import argparse
import json
import sys

from invoicing.adapters import vietqr


def _decode(args: argparse.Namespace) -> int:
    payload = args.payload if args.payload != "-" else sys.stdin.read()
    try:
        qr = vietqr.decode(payload)
    except vietqr.VietQRError as exc:
        print(f"tuition vietqr decode: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(qr.as_dict(), ensure_ascii=False))
    return 0


def _encode(args: argparse.Namespace) -> int:
    try:
        print(
            vietqr.encode(
                bin=args.bin,
                account=args.account,
                amount=args.amount,
                purpose=args.purpose,
                service=vietqr.SERVICE_CARD if args.card else vietqr.SERVICE_ACCOUNT,
            )
        )
    except vietqr.VietQRError as exc:
        print(f"tuition vietqr encode: {exc}", file=sys.stderr)
        return 1
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    vq = sub.add_parser("vietqr", help="decode or encode VietQR payloads").add_subparsers(
        dest="vietqr_cmd", required=True
    )
    d = vq.add_parser("decode", help="print a payload's fields as JSON; exit 1 with the reason if it is invalid")
    d.add_argument("payload", help="the QR text ('-' reads standard input)")
    d.set_defaults(func=_decode)
    e = vq.add_parser("encode", help="print a VietQR payload")
    e.add_argument("--bin", required=True, help="bank BIN, 6 digits")
    e.add_argument("--account", required=True)
    e.add_argument("--amount", type=int, help="whole đồng; omitted → a static QR")
    e.add_argument("--purpose", help="transfer memo, at most 25 characters, no diacritics")
    e.add_argument("--card", action="store_true", help="the account is a card number (QRIBFTTC)")
    e.set_defaults(func=_encode)

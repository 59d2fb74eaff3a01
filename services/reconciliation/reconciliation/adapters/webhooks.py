"""Webhooks of Vietnamese bank-transaction aggregators: signature checks and body parsing.

Shapes and signing as documented by each vendor (see ../shared/samples/README.md):
- SePay: `Authorization: Apikey <KEY>`, or HMAC-SHA256 over "<X-SePay-Timestamp>.<raw body>" in
  `X-SePay-Signature` (hex), timestamp within 5 minutes. The scheme is configured per school.
- Casso v2: `X-Casso-Signature: t=<unix ms>,v1=<hex>`, v1 = HMAC-SHA512(key, "<t>." + the body as JSON with
  keys sorted at every level and compact separators), timestamp within 5 minutes.
- payOS: `signature` in the body = HMAC-SHA256(checksum key, data's keys sorted, "k=v" joined by "&").
A request that fails its check is refused before anything is parsed into the books.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from reconciliation.domain.credits import BankCredit, CreditFormatError, local_datetime, whole_dong

MAX_SKEW_S = 300


class WebhookRejected(ValueError):
    """The request is not from the aggregator (signature, key or timestamp); nothing is stored."""


def _require(body: dict[str, Any], *fields: str) -> None:
    missing = [f for f in fields if f not in body or body[f] is None]
    if missing:
        raise CreditFormatError(f"missing fields: {', '.join(missing)}")


def _fresh(ts_seconds: float, now: float) -> None:
    if abs(now - ts_seconds) > MAX_SKEW_S:
        raise WebhookRejected(f"timestamp is {int(now - ts_seconds)} s off (more than {MAX_SKEW_S} s)")


# --- SePay -------------------------------------------------------------------------------------------


def verify_sepay(headers: dict[str, str], raw: bytes, *, scheme: str, secret: str, now: float | None = None) -> None:
    now = time.time() if now is None else now
    if scheme == "apikey":
        auth = headers.get("authorization", "")
        if not auth.lower().startswith("apikey "):
            raise WebhookRejected("missing 'Authorization: Apikey ...' header")
        if not hmac.compare_digest(auth[7:].strip().encode(), secret.encode()):
            raise WebhookRejected("wrong API key")
        return
    ts, sig = headers.get("x-sepay-timestamp"), headers.get("x-sepay-signature")
    if not ts or not sig:
        raise WebhookRejected("missing X-SePay-Timestamp / X-SePay-Signature")
    try:
        _fresh(float(ts), now)
    except ValueError as exc:
        raise WebhookRejected(str(exc)) from exc
    expected = hmac.new(secret.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, sig.strip().lower()):
        raise WebhookRejected("signature does not match")


def parse_sepay(body: dict[str, Any]) -> BankCredit | None:
    _require(body, "id", "transactionDate", "accountNumber", "transferType", "transferAmount")
    if body["transferType"] != "in":
        return None
    content = body.get("content") or body.get("description") or ""
    ids = [f"sepay:{body['id']}"]
    if body.get("referenceCode"):
        ids.append(str(body["referenceCode"]))
    return BankCredit(
        account_number=str(body["accountNumber"]),
        amount=whole_dong(body["transferAmount"], "transferAmount"),
        booked_at=local_datetime(str(body["transactionDate"])),
        memo=str(content),
        source_kind="webhook_sepay",
        identifiers=tuple(ids),
        virtual_account=str(body.get("subAccount") or ""),
    )


# --- Casso v2 -----------------------------------------------------------------------------------------


def _sorted_deep(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted_deep(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted_deep(v) for v in value]
    return value


def casso_signature(key: str, timestamp_ms: str, body: dict[str, Any]) -> str:
    canonical = json.dumps(_sorted_deep(body), separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key.encode(), f"{timestamp_ms}.{canonical}".encode(), hashlib.sha512).hexdigest()


def verify_casso(headers: dict[str, str], body: dict[str, Any], *, secret: str, now: float | None = None) -> None:
    now = time.time() if now is None else now
    header = headers.get("x-casso-signature", "")
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    if "t" not in parts or "v1" not in parts:
        raise WebhookRejected("missing or malformed X-Casso-Signature (t=...,v1=...)")
    try:
        _fresh(int(parts["t"]) / 1000, now)
    except ValueError as exc:
        raise WebhookRejected(str(exc)) from exc
    if not hmac.compare_digest(casso_signature(secret, parts["t"], body), parts["v1"].lower()):
        raise WebhookRejected("signature does not match")


def parse_casso(body: dict[str, Any]) -> BankCredit | None:
    _require(body, "data")
    data = body["data"]
    if not isinstance(data, dict):
        raise CreditFormatError("data must be one transaction object (Casso v2)")
    _require(data, "amount", "transactionDateTime", "accountNumber")
    amount = whole_dong(data["amount"], "data.amount")
    if amount <= 0:
        return None  # a debit
    ids = [str(data["reference"])] if data.get("reference") else []
    if data.get("id"):
        ids.append(f"casso:{data['id']}")
    return BankCredit(
        account_number=str(data["accountNumber"]),
        amount=amount,
        booked_at=local_datetime(str(data["transactionDateTime"])),
        memo=str(data.get("description") or ""),
        source_kind="webhook_casso",
        identifiers=tuple(ids),
        payer_name=str(data.get("counterAccountName") or ""),
        payer_account=str(data.get("counterAccountNumber") or ""),
        virtual_account=str(data.get("virtualAccountNumber") or ""),
    )


# --- payOS -------------------------------------------------------------------------------------------


def _payos_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def payos_signature(key: str, data: dict[str, Any]) -> str:
    canonical = "&".join(f"{k}={_payos_value(data[k])}" for k in sorted(data))
    return hmac.new(key.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def verify_payos(body: dict[str, Any], *, secret: str) -> None:
    data, sig = body.get("data"), body.get("signature")
    if not isinstance(data, dict) or not isinstance(sig, str):
        raise WebhookRejected("missing data or signature")
    if not hmac.compare_digest(payos_signature(secret, data), sig.lower()):
        raise WebhookRejected("signature does not match")


def parse_payos(body: dict[str, Any]) -> BankCredit | None:
    data = body["data"]
    _require(data, "amount", "transactionDateTime", "accountNumber")
    amount = whole_dong(data["amount"], "data.amount")
    if amount <= 0:
        return None
    ids = [str(data["reference"])] if data.get("reference") else []
    return BankCredit(
        account_number=str(data["accountNumber"]),
        amount=amount,
        booked_at=local_datetime(str(data["transactionDateTime"])),
        memo=str(data.get("description") or ""),
        source_kind="webhook_payos",
        identifiers=tuple(ids),
        payer_name=str(data.get("counterAccountName") or ""),
        payer_account=str(data.get("counterAccountNumber") or ""),
        virtual_account=str(data.get("virtualAccountNumber") or ""),
    )

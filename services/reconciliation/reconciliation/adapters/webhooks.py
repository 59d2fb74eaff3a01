"""Webhooks of Vietnamese bank-transaction aggregators: signature checks and body parsing.

Shapes and signing as documented by each vendor (see tests/samples/README.md):
- SePay: `Authorization: Apikey <KEY>`, or HMAC-SHA256 over "<X-SePay-Timestamp>.<raw body>" in
  `X-SePay-Signature` (hex), timestamp within 5 minutes. The scheme is configured per school.
- Casso v2: `X-Casso-Signature: t=<unix ms>,v1=<hex>`, v1 = HMAC-SHA512(key, "<t>." + the body as JSON with
  keys sorted at every level and compact separators), timestamp within 5 minutes.
- payOS: `signature` in the body = HMAC-SHA256(checksum key, data's keys sorted, "k=v" joined by "&").
  Nothing in that string is escaped, so a value holding "&" (or a key holding "=") could be made of another
  field: a genuinely signed body would verify again with `reference` moved into `paymentLinkId`. Such bodies
  are refused, the payment fields payOS signs are required, and the credit is known by payOS's own ids.
A request that fails its check is refused before anything is parsed into the books. What the caller is told
does not depend on the school or its scheme (SePay: "Apikey" or HMAC), so it tells an outsider neither.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reconciliation.domain.credits import BankCredit, CreditFormatError, local_datetime, whole_dong

MAX_SKEW_S = 300
# An aggregator's body is two levels deep; a few more are tolerated, thousands are an attack.
MAX_DEPTH = 16


class WebhookRejected(ValueError):
    """The request is not from the aggregator (signature, key or timestamp); nothing is stored. The message
    is what the caller is told; `reason`, when given, is the precise cause, for the log only."""

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message


class MalformedBody(ValueError):
    """The body is not a JSON object the suite can take; the message names what is wrong."""


def _reject_constant(name: str) -> Any:
    raise MalformedBody(f"{name} is not a number JSON allows")


def _reject_float(text: str) -> Any:
    raise MalformedBody(f"the number {text[:40]} has a fraction or an exponent: money is whole đồng, as an integer")


def parse_body(raw: bytes) -> dict[str, Any]:
    """The webhook's JSON object. Refused: numbers with a fraction or exponent (aggregators send whole đồng as
    integers; a float would be rounded above 2^53), NaN/Infinity, nesting deeper than MAX_DEPTH, lone
    surrogates and NUL characters (PostgreSQL text cannot hold them)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedBody(f"the body is not UTF-8 (byte {exc.start})") from exc
    if _too_deep(text):
        raise MalformedBody(f"the JSON is nested deeper than {MAX_DEPTH} levels")
    try:
        body = json.loads(text, parse_float=_reject_float, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise MalformedBody(f"malformed JSON body: {exc}") from exc
    if not isinstance(body, dict):
        raise MalformedBody("the body must be a JSON object")
    _check_strings(body)
    return body


def _too_deep(text: str) -> bool:
    """Bracket depth outside strings, counted before parsing (the parser itself would recurse)."""
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def _check_strings(value: Any) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                raise MalformedBody("a text field holds a NUL character")
            if any("\ud800" <= ch <= "\udfff" for ch in item):
                raise MalformedBody("a text field holds a lone surrogate (not valid Unicode)")


def _same_hex(expected: str, given: str) -> bool:
    # Bytes, not str: compare_digest refuses non-ASCII text with a TypeError.
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode("utf-8", "replace"))


def _require(body: dict[str, Any], *fields: str) -> None:
    missing = [f for f in fields if f not in body or body[f] is None]
    if missing:
        raise CreditFormatError(f"missing fields: {', '.join(missing)}")


def _fresh(ts_text: str, now: float, *, milliseconds: bool) -> None:
    """A Unix timestamp written as digits (seconds, or milliseconds for Casso), within MAX_SKEW_S of now."""
    pattern = r"\d{1,16}" if milliseconds else r"\d{1,13}(\.\d{1,6})?"
    if not re.fullmatch(pattern, ts_text.strip()):
        raise WebhookRejected(f"timestamp {ts_text[:40]!r} is not a Unix time in {'ms' if milliseconds else 's'}")
    ts_seconds = float(ts_text) / (1000 if milliseconds else 1)
    if abs(now - ts_seconds) > MAX_SKEW_S:
        raise WebhookRejected(f"timestamp is {int(now - ts_seconds)} s off (more than {MAX_SKEW_S} s)")


# --- SePay -------------------------------------------------------------------------------------------


# What an outsider is told when a SePay call fails its check, whatever the scheme configured (or none): the
# precise reason is logged, never answered.
SEPAY_REFUSED = "the API key or signature is missing or wrong"


def verify_sepay(headers: dict[str, str], raw: bytes, *, scheme: str, secret: str, now: float | None = None) -> None:
    try:
        _verify_sepay(headers, raw, scheme=scheme, secret=secret, now=now)
    except WebhookRejected as exc:
        raise WebhookRejected(SEPAY_REFUSED, reason=str(exc)) from None


def _verify_sepay(headers: dict[str, str], raw: bytes, *, scheme: str, secret: str, now: float | None) -> None:
    now = time.time() if now is None else now
    if scheme == "apikey":
        auth = headers.get("authorization", "")
        if not auth.lower().startswith("apikey "):
            raise WebhookRejected("missing 'Authorization: Apikey ...' header")
        if not hmac.compare_digest(auth[7:].strip().encode("utf-8", "replace"), secret.encode()):
            raise WebhookRejected("wrong API key")
        return
    ts, sig = headers.get("x-sepay-timestamp"), headers.get("x-sepay-signature")
    if not ts or not sig:
        raise WebhookRejected("missing X-SePay-Timestamp / X-SePay-Signature")
    _fresh(ts, now, milliseconds=False)
    expected = hmac.new(secret.encode(), ts.strip().encode() + b"." + raw, hashlib.sha256).hexdigest()
    if not _same_hex(expected, sig):
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
    _fresh(parts["t"], now, milliseconds=True)
    if not _same_hex(casso_signature(secret, parts["t"], body), parts["v1"]):
        raise WebhookRejected("signature does not match")


def parse_casso(body: dict[str, Any]) -> BankCredit | None:
    _require(body, "data")
    data = body["data"]
    if not isinstance(data, dict):
        raise CreditFormatError("data must be one transaction object (Casso v2)")
    extra = [f"casso:{data['id']}"] if data.get("id") else []
    return _transfer(data, "webhook_casso", extra)


def _transfer(data: dict[str, Any], source_kind: str, extra_ids: list[str]) -> BankCredit | None:
    """One transaction in the shape Casso v2 and payOS share; None for a debit."""
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
        source_kind=source_kind,
        identifiers=tuple(ids + extra_ids),
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


# The payment fields payOS signs in every payment webhook (its documented `data`, as in the SDK's test case):
# a body without one of them is refused, so that no signed field can be left out and its value carried by
# another.
PAYOS_SIGNED = (
    "accountNumber",
    "amount",
    "code",
    "currency",
    "description",
    "orderCode",
    "paymentLinkId",
    "reference",
    "transactionDateTime",
)


def _payos_unambiguous(data: dict[str, Any]) -> None:
    """The signed string maps back to one `data` only: no key holds "&" or "=", no value holds "&". (A value
    may hold "=": with keys free of it, each pair splits at its first "=".)"""
    for k, v in data.items():
        if "&" in k or "=" in k:
            raise WebhookRejected(f"data has a key holding '&' or '=' ({k[:40]!r}): the signature cannot cover it")
        if "&" in _payos_value(v):
            raise WebhookRejected(f"data.{k[:40]} holds '&': the signature cannot tell it from two fields")


def verify_payos(body: dict[str, Any], *, secret: str) -> None:
    data, sig = body.get("data"), body.get("signature")
    if not isinstance(data, dict) or not isinstance(sig, str):
        raise WebhookRejected("missing data or signature")
    missing = [f for f in PAYOS_SIGNED if f not in data]
    if missing:
        raise WebhookRejected(f"data lacks fields payOS signs: {', '.join(missing)}")
    _payos_unambiguous(data)
    if not _same_hex(payos_signature(secret, data), sig):
        raise WebhookRejected("signature does not match")


def parse_payos(body: dict[str, Any]) -> BankCredit | None:
    """A payOS payment: known by payOS's own ids (the payment link, the order) besides the bank's reference,
    so the same payment posted again is the same credit whatever else the body says."""
    data = body["data"]
    if str(data.get("code")) != "00":
        return None  # payOS reports a payment that did not succeed: no money came in
    if str(data.get("currency") or "VND").upper() != "VND":
        raise CreditFormatError(f"data.currency {str(data['currency'])[:8]} is not VND")
    ids = [f"payos-link:{data['paymentLinkId']}"] if data.get("paymentLinkId") else []
    if data.get("orderCode") not in (None, "", 0, "0"):
        ids.append(f"payos-order:{data['orderCode']}")
    return _transfer(data, "webhook_payos", ids)


# --- The providers, as a table -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Provider:
    """How one aggregator signs (verify) and what its body says (parse)."""

    verify: Callable[[dict[str, str], bytes, dict[str, Any], str, str], None]  # headers, raw, body, scheme, secret
    parse: Callable[[dict[str, Any]], BankCredit | None]

    def scheme_for_unknown(self, headers: dict[str, str]) -> str:
        """The scheme a request claims, so that a school without a configuration is refused exactly as one
        with a wrong secret would be (the answer must not tell which schools exist)."""
        return "apikey" if headers.get("authorization", "").lower().startswith("apikey ") else "hmac"


PROVIDERS: dict[str, Provider] = {
    "sepay": Provider(
        verify=lambda headers, raw, _body, scheme, secret: verify_sepay(headers, raw, scheme=scheme, secret=secret),
        parse=parse_sepay,
    ),
    "casso": Provider(
        verify=lambda headers, _raw, body, _scheme, secret: verify_casso(headers, body, secret=secret),
        parse=parse_casso,
    ),
    "payos": Provider(
        verify=lambda _h, _raw, body, _scheme, secret: verify_payos(body, secret=secret), parse=parse_payos
    ),
}

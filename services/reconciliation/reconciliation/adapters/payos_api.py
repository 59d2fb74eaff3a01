"""payOS's merchant API, as documented: `GET /v2/payment-requests/{id}` with the `x-client-id` and `x-api-key`
headers gives a payment link and the transactions that paid it. A payOS credit is booked only when the link
it names lists a transaction of the same reference and amount: a body that verifies but that payOS does not
know (a leaked checksum key, a replay from another account) books nothing.

Answers: `{"code": "00", "desc": "success", "data": {"id", "orderCode", "amount", "amountPaid", "status",
"transactions": [{"reference", "amount", "accountNumber", "transactionDateTime", ...}]}}`; any other `code`
is payOS refusing (an unknown link, wrong credentials).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import httpx


class NotConfirmed(ValueError):
    """payOS does not list this payment; the message says what it answered."""


class Unreachable(Exception):
    """payOS did not answer in time, or answered with a server error: ask the aggregator to retry."""


@dataclass(frozen=True)
class Credentials:
    client_id: str
    api_key: str


async def confirm(base_url: str, credentials: Credentials, data: object, *, timeout_s: float) -> None:
    if not isinstance(data, dict):
        raise NotConfirmed("the webhook names no payment to confirm")
    link = str(data.get("paymentLinkId") or "")
    if not link:
        raise NotConfirmed("the body names no payment link (paymentLinkId) to confirm it with")
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=timeout_s) as http:
            r = await http.get(
                f"/v2/payment-requests/{quote(link, safe='')}",
                headers={"x-client-id": credentials.client_id, "x-api-key": credentials.api_key},
            )
    except httpx.HTTPError as exc:
        raise Unreachable(f"payOS did not answer: {type(exc).__name__}") from exc
    if r.status_code >= 500:
        raise Unreachable(f"payOS answered HTTP {r.status_code}")
    try:
        body = r.json()
    except ValueError as exc:
        raise Unreachable("payOS's answer is not JSON") from exc
    if not isinstance(body, dict) or str(body.get("code")) != "00" or not isinstance(body.get("data"), dict):
        code = body.get("code") if isinstance(body, dict) else None
        raise NotConfirmed(f"payOS answered code {str(code)[:8]} for payment link {link[:60]}")
    paid = body["data"].get("transactions") or []
    reference, amount = str(data.get("reference") or ""), data.get("amount")
    if not any(
        isinstance(t, dict) and str(t.get("reference")) == reference and t.get("amount") == amount for t in paid
    ):
        raise NotConfirmed(f"payOS lists no transaction {reference[:40]} of {amount} on payment link {link[:60]}")

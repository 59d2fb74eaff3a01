"""A local stand-in for payOS's merchant API, serving its documented request and answers for tests (payOS's
servers cannot be reached from here). Nothing in the product knows it: the service is pointed at it by its
ordinary setting (`RECONCILIATION_PAYOS_API_URL`), as it would be at payOS.

`GET /v2/payment-requests/{id}` with `x-client-id` and `x-api-key`: wrong credentials → 401 with payOS's
error shape; an unknown link → code "101"; a known one → code "00" with the link and its transactions.
`down = True` answers 502, as a payOS outage would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


@dataclass
class PayOSStandIn:
    client_id: str
    api_key: str
    links: dict[str, dict[str, Any]] = field(default_factory=dict)
    down: bool = False

    def paid(self, link_id: str, *, order_code: int, amount: int, reference: str, account: str) -> None:
        """payOS's record of a payment link paid by one transfer."""
        self.links[link_id] = {
            "id": link_id,
            "orderCode": order_code,
            "amount": amount,
            "amountPaid": amount,
            "amountRemaining": 0,
            "status": "PAID",
            "createdAt": "2026-09-05T08:55:00+07:00",
            "transactions": [
                {
                    "reference": reference,
                    "amount": amount,
                    "accountNumber": account,
                    "description": "thanh toan",
                    "transactionDateTime": "2026-09-05T09:00:00+07:00",
                    "virtualAccountName": None,
                    "virtualAccountNumber": None,
                    "counterAccountBankId": None,
                    "counterAccountBankName": None,
                    "counterAccountName": None,
                    "counterAccountNumber": None,
                }
            ],
            "canceledAt": None,
            "cancellationReason": None,
        }

    def app(self) -> FastAPI:
        api = FastAPI()

        @api.get("/readyz")
        async def ready() -> dict[str, str]:
            return {"status": "ok"}

        @api.get("/v2/payment-requests/{link_id}")
        async def payment_request(link_id: str, request: Request) -> JSONResponse:
            if self.down:
                return JSONResponse({"message": "Bad Gateway"}, status_code=502)
            if (request.headers.get("x-client-id"), request.headers.get("x-api-key")) != (self.client_id, self.api_key):
                return JSONResponse({"code": "401", "desc": "Unauthorized", "data": None}, status_code=401)
            link = self.links.get(link_id)
            if link is None:
                return JSONResponse({"code": "101", "desc": "Mã thanh toán không tồn tại", "data": None})
            return JSONResponse({"code": "00", "desc": "success", "data": link, "signature": ""})

        return api

"""Local stand-ins for the messaging providers that cannot be reached from here, serving their documented
requests, answers and errors (tests and the demo). Nothing in the product knows them: invoicing is pointed at
them by its ordinary settings (`INVOICING_ZALO_API_URL`, `INVOICING_ZALO_OAUTH_URL`, `INVOICING_SMS_API_URL`),
as it would be at the providers.

**Zalo** (ZNS and the Official Account's OAuth):
- `POST /v4/oa/access_token` (header `secret_key`; form `refresh_token`, `app_id`, `grant_type=refresh_token`):
  new tokens; the refresh token is spent (used again: an error, as Zalo answers).
- `POST /message/template` (header `access_token`; JSON `phone` 84…, `template_id`, `template_data`,
  `tracking_id`): `{"error": 0, "data": {"msg_id", "sent_time", "quota"}}`, or: -124 an access token unknown
  or ended; -108 a phone not in 84… form; -118 a number with no Zalo account (`not_on_zalo`); -133 an
  unknown template; -144 the daily quota used up; -32 more than `per_minute` requests a minute. The same
  `tracking_id` twice delivers once (the first answer again).

**SMS** (eSMS's JSON interface): `POST /MainService.svc/json/SendMultipleMessage_V4_post_json/` with
`ApiKey`, `SecretKey`, `Phone`, `Content`, `Brandname`, `SmsType`, `RequestId`: `CodeResult` "100" and an
`SMSID`; "101" wrong keys; "103" no balance left; "104" an unregistered brand name; "108" a number not in a
valid form; "99" a blocked number. The same `RequestId` within 24 hours is not sent again (the first answer).
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Form, Header, Request


@dataclass
class Delivered:
    to: str
    body: dict[str, Any]
    at: float


@dataclass
class ZaloStandIn:
    app_id: str
    secret_key: str
    refresh_token: str  # the one the Official Account was connected with
    templates: set[str]
    token_lifetime_s: int = 90_000
    daily_quota: int = 10_000
    per_minute: int = 10_000
    not_on_zalo: set[str] = field(default_factory=set)  # numbers (84…) with no Zalo account
    delivered: list[Delivered] = field(default_factory=list)
    renewals: int = 0
    _tokens: dict[str, float] = field(default_factory=dict)  # access token → expiry
    _refresh: set[str] = field(default_factory=set)
    _tracking: dict[str, dict[str, Any]] = field(default_factory=dict)
    _minute: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._refresh.add(self.refresh_token)

    def settings(self, url: str, templates: dict[str, str]) -> dict[str, Any]:
        """The invoicing service's ordinary Zalo settings, pointed at this stand-in served at `url`."""
        return {
            "zalo_api_url": url,
            "zalo_oauth_url": url,
            "zalo_app_id": self.app_id,
            "zalo_secret_key": self.secret_key,
            "zalo_refresh_token": self.refresh_token,
            "zalo_templates": templates,
        }

    def expire_tokens(self) -> None:
        """Every access token ends now (as after 25 hours)."""
        self._tokens = {t: 0.0 for t in self._tokens}

    def app(self) -> FastAPI:
        api = FastAPI()

        @api.get("/readyz")
        async def ready() -> dict[str, str]:
            return {"status": "ok"}

        @api.post("/v4/oa/access_token")
        async def access_token(
            secret_key: str = Header("", convert_underscores=False),
            refresh_token: str = Form(""),
            app_id: str = Form(""),
            grant_type: str = Form(""),
        ) -> dict[str, Any]:
            if secret_key != self.secret_key or app_id != self.app_id or grant_type != "refresh_token":
                return {"error": -14002, "error_name": "Invalid app", "error_description": "app_id or secret_key"}
            if refresh_token not in self._refresh:
                return {"error": -14014, "error_name": "Invalid refresh token", "error_description": "used or unknown"}
            self._refresh.discard(refresh_token)
            access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
            self._tokens[access] = time.time() + self.token_lifetime_s
            self._refresh.add(refresh)
            self.renewals += 1
            return {"access_token": access, "refresh_token": refresh, "expires_in": str(self.token_lifetime_s)}

        @api.post("/message/template")
        async def template(
            request: Request, access_token: str = Header("", convert_underscores=False)
        ) -> dict[str, Any]:
            body = await request.json()
            if self._tokens.get(access_token, 0.0) <= time.time():
                return {"error": -124, "message": "Access token is invalid"}
            now = time.time()
            self._minute = [t for t in self._minute if t > now - 60] + [now]
            if len(self._minute) > self.per_minute:
                return {"error": -32, "message": "Out of request limit per minute"}
            tracking = str(body.get("tracking_id", ""))
            if tracking and tracking in self._tracking:
                return self._tracking[tracking]
            phone = str(body.get("phone", ""))
            if not re.fullmatch(r"84\d{9}", phone):
                return {"error": -108, "message": "Phone number is invalid"}
            if phone in self.not_on_zalo:
                return {"error": -118, "message": "Zalo account not existed or inactive"}
            if str(body.get("template_id")) not in self.templates:
                return {"error": -133, "message": "Template is not approved or not exist"}
            if len(self.delivered) >= self.daily_quota:
                return {"error": -144, "message": "OA has exceeded the daily quota"}
            self.delivered.append(Delivered(phone, body, now))
            answer = {
                "error": 0,
                "message": "Success",
                "data": {
                    "msg_id": secrets.token_hex(16),
                    "sent_time": str(int(now * 1000)),
                    "quota": {
                        "dailyQuota": str(self.daily_quota),
                        "remainingQuota": str(self.daily_quota - len(self.delivered)),
                    },
                },
            }
            if tracking:
                self._tracking[tracking] = answer
            return answer

        return api


@dataclass
class SmsStandIn:
    api_key: str
    secret_key: str
    brandname: str
    balance: int = 1_000  # messages the account can still pay for
    blocked: set[str] = field(default_factory=set)
    delivered: list[Delivered] = field(default_factory=list)
    _requests: dict[str, dict[str, Any]] = field(default_factory=dict)

    def app(self) -> FastAPI:
        api = FastAPI()

        @api.get("/readyz")
        async def ready() -> dict[str, str]:
            return {"status": "ok"}

        @api.post("/MainService.svc/json/SendMultipleMessage_V4_post_json/")
        async def send(request: Request) -> dict[str, Any]:
            body = await request.json()
            if body.get("ApiKey") != self.api_key or body.get("SecretKey") != self.secret_key:
                return {"CodeResult": "101", "ErrorMessage": "Sai ApiKey hoặc SecretKey"}
            request_id = str(body.get("RequestId", ""))
            if request_id and request_id in self._requests:
                return self._requests[request_id]
            if body.get("Brandname") != self.brandname:
                return {"CodeResult": "104", "ErrorMessage": "Brandname chưa được đăng ký"}
            phone = str(body.get("Phone", ""))
            if not re.fullmatch(r"0\d{9}|84\d{9}", phone):
                return {"CodeResult": "108", "ErrorMessage": "Số điện thoại không đúng định dạng"}
            if phone in self.blocked:
                return {"CodeResult": "99", "ErrorMessage": "Số điện thoại đã bị chặn"}
            if self.balance <= 0:
                return {"CodeResult": "103", "ErrorMessage": "Tài khoản không đủ tiền"}
            self.balance -= 1
            self.delivered.append(Delivered(phone, body, time.time()))
            answer = {"CodeResult": "100", "CountRegenerate": 0, "SMSID": secrets.token_hex(16)}
            if request_id:
                self._requests[request_id] = answer
            return answer

        return api

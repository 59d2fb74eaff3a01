"""The channels a message reaches a parent by, each speaking its provider's documented interface:

- **Zalo ZNS** (template messages to a phone number): `POST {api}/message/template` with the Official
  Account's `access_token` header and `{phone: "84…", template_id, template_data, tracking_id}`; the answer
  `{"error": 0, "data": {"msg_id"}}` or an error code. The access token ends (25 hours) and is renewed with
  the refresh token at `POST {oauth}/v4/oa/access_token` (`secret_key` header; the refresh token is used once
  and replaced).
- **SMS** through a Vietnamese brand-name gateway (eSMS's JSON interface):
  `POST {api}/MainService.svc/json/SendMultipleMessage_V4_post_json/` with the account's keys, the brand name,
  `SmsType` 2 (customer care), the text without diacritics and a `RequestId` (the gateway refuses the same
  id twice within 24 hours: a retry is never a second SMS); `CodeResult` "100" is accepted.
- **Email** over SMTP (aiosmtplib), the message id as its `Message-ID`.

Each answers with the provider's id of the message, or raises `Retry` (try the same channel later),
`NextChannel` (this channel cannot take it now: quota, balance, configuration; try the next) or `Undeliverable`
(the recipient cannot be reached on this channel: an invalid number, not on Zalo; try the next).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any, Protocol

import aiosmtplib
import httpx

from invoicing.domain.messages import ChannelName, Fields, international, sms_text

TIMEOUT_S = 10.0


class Failure(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Retry(Failure):
    """A temporary error (a timeout, a rate limit): the same channel, later."""


class NextChannel(Failure):
    """The channel cannot take messages now (quota, balance, configuration): the next channel."""


class Undeliverable(Failure):
    """The recipient cannot be reached on this channel (an invalid number, not on Zalo): the next channel."""


class TokenExpired(Failure):
    """Zalo's access token ended: renew it, then send again."""


@dataclass(frozen=True, kw_only=True)
class Outgoing:
    message_id: str  # the idempotency key each provider receives (tracking_id, RequestId, Message-ID)
    to: str  # a phone number (0…) or an email address, opened from the roster just now
    fields: Fields


class Channel(Protocol):
    name: ChannelName

    async def send(self, out: Outgoing) -> str: ...


# --- Zalo ZNS ---------------------------------------------------------------------------------------------

# Zalo's error codes this adapter tells apart (its ZNS error table); any other is retried.
ZNS_TOKEN = {-124}  # the access token is invalid or has ended
ZNS_RECIPIENT = {-108, -118, -119}  # invalid phone; no Zalo account for it; the account cannot receive ZNS
ZNS_CHANNEL = {-144, -133}  # the OA's daily quota is used up; the template is not approved or disabled
ZNS_RETRY = {-32, -100}  # too many requests a minute; an unknown error of Zalo's


@dataclass(frozen=True, kw_only=True)
class ZaloTokens:
    access_token: str
    refresh_token: str
    expires_in_s: int


class ZaloZns:
    name = ChannelName.ZALO

    def __init__(
        self, *, api_url: str, oauth_url: str, app_id: str, secret_key: str, templates: dict[str, str]
    ) -> None:
        self._api = api_url.rstrip("/")
        self._oauth = oauth_url.rstrip("/")
        self._app_id = app_id
        self._secret = secret_key
        self._templates = templates  # kind → the approved template's id

    async def send_with(self, token: str, out: Outgoing) -> str:
        template = self._templates.get(str(out.fields.kind))
        if template is None:
            raise NextChannel("template", f"no approved ZNS template for {out.fields.kind} messages")
        body = {
            "phone": international(out.to),
            "template_id": template,
            "template_data": out.fields.template_data(),
            "tracking_id": out.message_id,
        }
        answer = await _post_json(f"{self._api}/message/template", body, headers={"access_token": token})
        code = int(answer.get("error", -100))
        if code == 0:
            return str((answer.get("data") or {}).get("msg_id", ""))
        text = str(answer.get("message", ""))[:200]
        if code in ZNS_TOKEN:
            raise TokenExpired(str(code), text)
        if code in ZNS_RECIPIENT:
            raise Undeliverable(str(code), text)
        if code in ZNS_CHANNEL:
            raise NextChannel(str(code), text)
        raise Retry(str(code), text)

    async def renew(self, refresh_token: str) -> ZaloTokens:
        """New tokens from the refresh token (which is then spent)."""
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_S) as http:
                r = await http.post(
                    f"{self._oauth}/v4/oa/access_token",
                    headers={"secret_key": self._secret},
                    data={"refresh_token": refresh_token, "app_id": self._app_id, "grant_type": "refresh_token"},
                )
            answer = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise Retry("oauth", f"Zalo OAuth unreachable: {exc}") from exc
        if "access_token" not in answer:
            raise NextChannel(str(answer.get("error", "oauth")), str(answer.get("error_description", ""))[:200])
        return ZaloTokens(
            access_token=str(answer["access_token"]),
            refresh_token=str(answer["refresh_token"]),
            expires_in_s=int(answer.get("expires_in", 90_000)),
        )


# --- SMS (eSMS) -----------------------------------------------------------------------------------------

SMS_RECIPIENT = {"99", "108"}  # the number is blocked; the number is not in a valid format
SMS_CHANNEL = {"101", "102", "103", "104", "118"}  # keys, price list, balance, brand name, message type


class SmsGateway:
    name = ChannelName.SMS

    def __init__(self, *, api_url: str, api_key: str, secret_key: str, brandname: str) -> None:
        self._url = api_url.rstrip("/") + "/MainService.svc/json/SendMultipleMessage_V4_post_json/"
        self._key = api_key
        self._secret = secret_key
        self._brand = brandname

    async def send(self, out: Outgoing) -> str:
        body = {
            "ApiKey": self._key,
            "SecretKey": self._secret,
            "Phone": out.to,
            "Content": sms_text(out.fields.text()),
            "Brandname": self._brand,
            "SmsType": "2",
            "IsUnicode": "0",
            "RequestId": out.message_id,
        }
        answer = await _post_json(self._url, body)
        code = str(answer.get("CodeResult", ""))
        if code == "100":
            return str(answer.get("SMSID", ""))
        text = str(answer.get("ErrorMessage", ""))[:200]
        if code in SMS_RECIPIENT:
            raise Undeliverable(code, text)
        if code in SMS_CHANNEL:
            raise NextChannel(code, text)
        raise Retry(code or "?", text)


# --- Email ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SmtpServer:
    host: str
    port: int
    sender: str
    username: str = ""
    password: str = ""
    starttls: bool = False


class Email:
    name = ChannelName.EMAIL

    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def send(self, out: Outgoing) -> str:
        msg = EmailMessage()
        msg["From"] = formataddr((out.fields.school, self._server.sender))
        msg["To"] = out.to
        msg["Subject"] = out.fields.subject()
        domain = self._server.sender.partition("@")[2] or "tuition.local"
        msg["Message-ID"] = make_msgid(idstring=out.message_id, domain=domain)
        msg.set_content(out.fields.text() + "\n\nTin nhắn tự động của nhà trường; vui lòng không trả lời thư này.\n")
        s = self._server
        try:
            await aiosmtplib.send(
                msg,
                hostname=s.host,
                port=s.port,
                username=s.username or None,
                password=s.password or None,
                start_tls=s.starttls,
                timeout=TIMEOUT_S,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise Undeliverable("smtp", f"the server refused the address: {exc}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            failure = Undeliverable if 500 <= exc.code < 600 else Retry
            raise failure(str(exc.code), exc.message[:200]) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise Retry("smtp", f"the mail server did not answer: {exc}") from exc
        return str(msg["Message-ID"])


async def _post_json(url: str, body: Mapping[str, object], headers: dict[str, str] | None = None) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_S) as http:
            r = await http.post(url, json=body, headers=headers or {})
        if r.status_code == 429 or r.status_code >= 500:
            raise Retry(str(r.status_code), r.text[:200])
        answer = r.json()
    except httpx.HTTPError as exc:
        raise Retry("http", f"unreachable: {exc}") from exc
    except ValueError as exc:
        raise Retry("http", "the answer is not JSON") from exc
    if not isinstance(answer, dict):
        raise Retry("http", "the answer is not a JSON object")
    return answer


# What a message can be given to: a channel that sends by itself, or Zalo (which needs its access token).
Sender = Channel | ZaloZns

"""The demo's messaging providers, started beside the services: the Zalo ZNS and SMS gateway stand-ins
(devinfra/messaging_standins.py: Zalo's and the gateway's documented requests and answers) and a real SMTP
server (aiosmtpd) whose mails a development page lists (`/mail`). Guardians whose number ends in 7 have no
Zalo account and a number the SMS gateway blocks: their messages go by email, to the mail page."""

from __future__ import annotations

import email
import email.policy
import html
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from devinfra.messaging_standins import SmsStandIn, ZaloStandIn

ZALO_TEMPLATES = {"invoice": "500101", "payment": "500102", "reminder": "500103"}


class _NotOnZalo(set[str]):
    """Every number ending in 7 (84… form) has no Zalo account."""

    def __contains__(self, phone: object) -> bool:
        return isinstance(phone, str) and phone.endswith("7")


class _Blocked(set[str]):
    def __contains__(self, phone: object) -> bool:
        return isinstance(phone, str) and phone.endswith("7")


@dataclass
class MailPage:
    mails: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append(email.message_from_bytes(envelope.content, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def app(self) -> FastAPI:
        api = FastAPI()

        @api.get("/readyz")
        async def ready() -> dict[str, str]:
            return {"status": "ok"}

        @api.get("/mail", response_class=HTMLResponse)
        async def mail() -> HTMLResponse:
            rows = "".join(
                f"<tr><td>{html.escape(str(m['Date'] or ''))}</td><td>{html.escape(str(m['To']))}</td>"
                f"<td>{html.escape(str(m['Subject']))}</td><td><pre>{html.escape(m.get_content())}</pre></td></tr>"
                for m in reversed(self.mails[-200:])
            )
            head = "<tr><th>Lúc</th><th>Người nhận</th><th>Tiêu đề</th><th>Nội dung</th></tr>"
            return HTMLResponse(
                "<!doctype html><html lang='vi'><meta charset='utf-8'>"
                "<title>Thư đã gửi (môi trường phát triển)</title><body style='font-family:system-ui'>"
                f"<h1>Thư đã gửi: {len(self.mails)}</h1><table border='1' cellpadding='4'>{head}{rows}</table>"
                "</body></html>"
            )

        return api


@dataclass
class Providers:
    zalo: ZaloStandIn
    sms: SmsStandIn
    mail: MailPage
    smtp: Controller

    def settings(self, zalo_url: str, sms_url: str) -> dict[str, str]:
        """The invoicing service's ordinary settings, pointed at the stand-ins."""
        import json

        return {
            "INVOICING_ZALO_API_URL": zalo_url,
            "INVOICING_ZALO_OAUTH_URL": zalo_url,
            "INVOICING_ZALO_APP_ID": self.zalo.app_id,
            "INVOICING_ZALO_SECRET_KEY": self.zalo.secret_key,
            "INVOICING_ZALO_REFRESH_TOKEN": self.zalo.refresh_token,
            "INVOICING_ZALO_TEMPLATES": json.dumps(ZALO_TEMPLATES),
            "INVOICING_SMS_API_URL": sms_url,
            "INVOICING_SMS_API_KEY": self.sms.api_key,
            "INVOICING_SMS_SECRET_KEY": self.sms.secret_key,
            "INVOICING_SMS_BRANDNAME": self.sms.brandname,
            "INVOICING_SMTP_HOST": "127.0.0.1",
            "INVOICING_SMTP_PORT": str(self.smtp.port),
            "INVOICING_SMTP_SENDER": "thongbao@pgd-caugiay.edu.vn",
            # The demo shows its messages whatever the hour: no quiet hours here (production: 21:00-07:00).
            "INVOICING_MESSAGES_QUIET_HOURS": "",
        }


# The stand-ins' credentials: the demo's own, as a district would have its providers' (not secrets).
DEMO_ZALO = {"app_id": "2718281828", "secret_key": "demo-zalo-secret", "refresh_token": "demo-refresh-token"}
DEMO_SMS = {"api_key": "demo-esms-key", "secret_key": "demo-esms-secret", "brandname": "PGD CAU GIAY"}


def providers(smtp_port: int) -> Providers:
    zalo = ZaloStandIn(
        **DEMO_ZALO,
        templates=set(ZALO_TEMPLATES.values()),
        not_on_zalo=_NotOnZalo(),
        daily_quota=1_000_000,
        per_minute=1_000_000,
    )
    sms = SmsStandIn(**DEMO_SMS, balance=1_000_000, blocked=_Blocked())
    page = MailPage()
    smtp = Controller(page, hostname="127.0.0.1", port=smtp_port)
    return Providers(zalo, sms, page, smtp)

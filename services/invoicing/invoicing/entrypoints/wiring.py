"""The outside parts the invoicing service's handlers are given, built once per runtime from its settings:
the channels parents are told by (each on when configured)."""

from __future__ import annotations

from typing import cast

from invoicing.adapters import channels as ch
from invoicing.app.messages import Wiring
from invoicing.domain.messages import parse_quiet_hours
from invoicing.settings import InvoicingSettings
from shared.service import ServiceRuntime


def message_wiring(rt: ServiceRuntime) -> Wiring:
    built = getattr(rt, "_message_wiring", None)
    if built is None:
        built = _build(cast(InvoicingSettings, rt.settings))
        rt._message_wiring = built  # type: ignore[attr-defined]  # one per runtime
    return cast(Wiring, built)


def _build(s: InvoicingSettings) -> Wiring:
    found: dict[str, ch.Sender] = {}
    zalo = None
    if s.zalo_app_id and s.zalo_templates:
        zalo = ch.ZaloZns(
            api_url=s.zalo_api_url,
            oauth_url=s.zalo_oauth_url,
            app_id=s.zalo_app_id,
            secret_key=s.zalo_secret_key.get_secret_value(),
            templates=s.zalo_templates,
        )
        found["zalo"] = zalo
    if s.sms_api_key and s.sms_brandname:
        found["sms"] = ch.SmsGateway(
            api_url=s.sms_api_url,
            api_key=s.sms_api_key,
            secret_key=s.sms_secret_key.get_secret_value(),
            brandname=s.sms_brandname,
        )
    if s.smtp_host:
        found["email"] = ch.Email(
            ch.SmtpServer(
                host=s.smtp_host,
                port=s.smtp_port,
                sender=s.smtp_sender,
                username=s.smtp_username,
                password=s.smtp_password.get_secret_value(),
                starttls=s.smtp_starttls,
            )
        )
    return Wiring(
        channels=found,
        sealer=s.sealer(),
        public_url=s.public_url,
        zalo=zalo,
        zalo_refresh_token=s.zalo_refresh_token.get_secret_value(),
        quiet=parse_quiet_hours(s.messages_quiet_hours),
    )

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import DEVELOPMENT_VALUES, ServiceSettings


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


DEV_PSEUDONYM_SECRET = "dev-only-pseudonym-secret-0123456789"  # noqa: S105
DEVELOPMENT_VALUES.add(DEV_PSEUDONYM_SECRET)


class InvoicingSettings(ServiceSettings):
    """Settings of the invoicing service: shared infrastructure variables plus `INVOICING_*`."""

    model_config = SettingsConfigDict(env_prefix="INVOICING_", extra="ignore", populate_by_name=True)

    database: str = "tuition_invoicing"
    http_port: int = 8101
    # Where parents open their payment page (the links accountants send by SMS/Zalo).
    public_url: str = "http://127.0.0.1:8101"
    # Where the accountant's browser reaches reconciliation's and receipts' APIs (the workspace at /ketoan).
    reconciliation_url: str = "http://127.0.0.1:8102"
    receipts_url: str = "http://127.0.0.1:8103"
    # Where the district dashboard is served (reporting): its page asks this service's session for a token.
    dashboard_url: str = "http://127.0.0.1:8104"
    # INVOICING_DATA_KEY seals pupils' personal IDs and guardians' phones at rest.
    seals_data: ClassVar[bool] = True
    # Keys the family pseudonym (HMAC of the guardian's phone) that events carry instead of the phone.
    pseudonym_secret: SecretStr = SecretStr(DEV_PSEUDONYM_SECRET)
    # Sessions of people signed in (app/sign_in.py): idle and absolute ends; the pages' API tokens' life.
    session_idle: timedelta = timedelta(minutes=30)
    session_absolute: timedelta = timedelta(hours=12)
    page_token_ttl_s: int = 600
    # The province's identity provider (OpenID Connect), if the district uses one: its issuer URL (empty: off),
    # this suite's client there, and the claim that carries the user name of the suite's account.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr = SecretStr("")
    oidc_username_claim: str = "preferred_username"
    oidc_label: str = "Đăng nhập bằng tài khoản của Sở GD&ĐT"
    # Messages to parents (app/messages.py): a channel is on when its settings are given. Email over SMTP:
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_sender: str = "thongbao@truonghoc.example.vn"
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    # Zalo ZNS: the Official Account's app, its first refresh token (then kept, renewed, in the database) and
    # the approved templates' ids by message kind: {"invoice": "…", "payment": "…", "reminder": "…"}.
    zalo_api_url: str = "https://business.openapi.zalo.me"
    zalo_oauth_url: str = "https://oauth.zaloapp.com"
    zalo_app_id: str = ""
    zalo_secret_key: SecretStr = SecretStr("")
    zalo_refresh_token: SecretStr = SecretStr("")
    zalo_templates: dict[str, str] = Field(default_factory=dict)
    # A brand-name SMS gateway (eSMS's JSON interface).
    sms_api_url: str = "https://rest.esms.vn"
    sms_api_key: str = ""
    sms_secret_key: SecretStr = SecretStr("")
    sms_brandname: str = ""
    # No message in these hours, Vietnam time (queued until they end); empty: none.
    messages_quiet_hours: str = "21:00-07:00"

    def signed_in_origins(self) -> list[str]:
        origin = origin_of(self.dashboard_url)
        return [origin] if origin not in (origin_of(self.public_url), origin_of(self.workspace_origin or "")) else []

    def own_origins(self) -> frozenset[str]:
        """The suite's own pages' origins: the only ones a session cookie's request may come from, and the
        only ones a sign-in sends the person back to."""
        return frozenset(origin_of(u) for u in (self.public_url, self.workspace_origin, self.dashboard_url) if u)

    def own_secrets(self) -> dict[str, str]:
        return super().own_secrets() | {"INVOICING_PSEUDONYM_SECRET": self.pseudonym_secret.get_secret_value()}

    @model_validator(mode="after")
    def _check_public_urls(self) -> InvoicingSettings:
        self.check_public_urls(
            public_url=self.public_url,
            reconciliation_url=self.reconciliation_url,
            receipts_url=self.receipts_url,
            dashboard_url=self.dashboard_url,
        )
        return self

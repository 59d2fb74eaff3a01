from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class InvoicingSettings(ServiceSettings):
    """Settings of the invoicing service: shared infrastructure variables plus `INVOICING_*`."""

    model_config = SettingsConfigDict(env_prefix="INVOICING_", extra="ignore", populate_by_name=True)

    database: str = "tuition_invoicing"
    http_port: int = 8101
    # Where parents open their payment page (the links accountants send by SMS/Zalo).
    public_url: str = "http://127.0.0.1:8101"

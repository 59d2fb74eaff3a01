from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ReceiptsSettings(ServiceSettings):
    """Settings of the receipts service: shared infrastructure variables plus `RECEIPTS_*`."""

    model_config = SettingsConfigDict(env_prefix="RECEIPTS_", extra="ignore", populate_by_name=True)

    database: str = "tuition_receipts"
    http_port: int = 8103

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ReconciliationSettings(ServiceSettings):
    """Settings of the reconciliation service: shared infrastructure variables plus `RECONCILIATION_*`."""

    model_config = SettingsConfigDict(env_prefix="RECONCILIATION_", extra="ignore", populate_by_name=True)

    database: str = "tuition_reconciliation"
    http_port: int = 8102
    # RECONCILIATION_DATA_KEY seals the schools' webhook secrets at rest (shared/sealed.py).
    seals_data: ClassVar[bool] = True
    # payOS's merchant API, which confirms a payOS credit before it is booked (for schools that give their API
    # credentials with the webhook's); how long a webhook waits for it before asking payOS to retry.
    payos_api_url: str = "https://api-merchant.payos.vn"
    payos_api_timeout_s: float = Field(default=5.0, gt=0, le=30)

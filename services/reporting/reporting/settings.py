from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    """Settings of the reporting service: shared infrastructure variables plus `REPORTING_*`."""

    model_config = SettingsConfigDict(env_prefix="REPORTING_", extra="ignore", populate_by_name=True)

    database: str = "tuition_reporting"
    http_port: int = 8104

from __future__ import annotations

from pydantic import SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.sealed import Sealer
from shared.settings import ServiceSettings

DEV_DATA_KEY = "dev-only-reconciliation-data-key-0123456789"


class ReconciliationSettings(ServiceSettings):
    """Settings of the reconciliation service: shared infrastructure variables plus `RECONCILIATION_*`."""

    model_config = SettingsConfigDict(env_prefix="RECONCILIATION_", extra="ignore", populate_by_name=True)

    database: str = "tuition_reconciliation"
    http_port: int = 8102
    # Encrypts the schools' webhook secrets at rest (shared/sealed.py).
    data_key: SecretStr = SecretStr(DEV_DATA_KEY)

    def sealer(self) -> Sealer:
        return Sealer(self.data_key.get_secret_value())

    def development_secrets(self) -> list[str]:
        dev = super().development_secrets()
        return dev + (["RECONCILIATION_DATA_KEY"] if self.data_key.get_secret_value() == DEV_DATA_KEY else [])

    @model_validator(mode="after")
    def _refuse_dev_data_key_in_production(self) -> ReconciliationSettings:
        if self.environment == "production" and self.data_key.get_secret_value() == DEV_DATA_KEY:
            raise ValueError("RECONCILIATION_DATA_KEY must be set in production")
        return self

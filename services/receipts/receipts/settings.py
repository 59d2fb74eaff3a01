from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from receipts.adapters import trust
from shared.settings import DEVELOPMENT_VALUES, ServiceSettings

DEV_KEY_SECRET = "dev-only-receipt-key-secret-0123456789"  # noqa: S105
DEVELOPMENT_VALUES.add(DEV_KEY_SECRET)


class ReceiptsSettings(ServiceSettings):
    """Settings of the receipts service: shared infrastructure variables plus `RECEIPTS_*`."""

    model_config = SettingsConfigDict(env_prefix="RECEIPTS_", extra="ignore", populate_by_name=True)

    database: str = "tuition_receipts"
    http_port: int = 8103
    # Encrypts the schools' private keys at rest (PKCS#12).
    key_secret: SecretStr = SecretStr(DEV_KEY_SECRET)
    # Development/demo: a local CA issues school keys and a receipt series is opened automatically.
    auto_provision: bool | None = None
    # Where receipts are served (links on the parent page, the verification URL).
    public_url: str = "http://127.0.0.1:8103"
    default_form_code: str = Field(default="01BLP0-001")
    default_series_prefix: str = Field(default="BL")
    default_range: int = Field(default=9_999_999, ge=1)
    # Worker processes that sign receipts (XML-DSig, compact QR) beside the service: 0 signs in one thread.
    # Signing is the service's CPU work; set it to the cores the service may use.
    signing_processes: int = Field(default=0, ge=0, le=32)
    # The certification authorities this deployment trusts (PEM: the national root, the licensed providers'
    # CAs). Imported school certificates must chain to one; `/keys` publishes them as trust anchors. Required
    # in production; in development the local CA is trusted as well (while provisioning is on).
    trust_bundle: Path | None = None

    def own_secrets(self) -> dict[str, str]:
        return super().own_secrets() | {"RECEIPTS_KEY_SECRET": self.key_secret.get_secret_value()}

    @property
    def provisions(self) -> bool:
        return self.auto_provision if self.auto_provision is not None else self.environment != "production"

    @model_validator(mode="after")
    def _refuse_dev_key_secret_in_production(self) -> ReceiptsSettings:
        self.check_public_urls(public_url=self.public_url)
        if self.environment == "production" and self.trust_bundle is None:
            raise ValueError(
                "RECEIPTS_TRUST_BUNDLE must be set in production: the PEM file of the certification authorities "
                "that issue the schools' signing certificates"
            )
        if self.trust_bundle is not None:
            try:
                trust.load_bundle(self.trust_bundle)
            except trust.BundleError as exc:
                raise ValueError(f"RECEIPTS_TRUST_BUNDLE: {exc}") from exc
        return self

"""What the deployment checks share: the variables each service reads, and its settings built from an env."""

from __future__ import annotations

import importlib
import os
from typing import Any

import pytest
from pydantic import AliasChoices

from shared.settings import ServiceSettings

SERVICES = ("invoicing", "reconciliation", "receipts", "reporting")


def settings_class(service: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"{service}.settings")
    return getattr(module, f"{service.capitalize()}Settings")  # type: ignore[no-any-return]


def variables_read_by(service: str) -> set[str]:
    """The environment variables the service's settings read (names, upper case)."""
    cls = settings_class(service)
    prefix = str(cls.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice).upper() for choice in alias.choices)
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add((prefix + name).upper())
    return names


def production_settings(service: str, env: dict[str, str], monkeypatch: Any) -> ServiceSettings:
    """The service's settings as it would build them from exactly this environment (raises what it refuses)."""
    for name in list(os.environ):
        if any(name.startswith(p) for p in ("TUITION_", "PG_", "KAFKA_", *(s.upper() + "_" for s in SERVICES))):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return settings_class(service)()


@pytest.fixture(scope="session")
def trust_bundle(tmp_path_factory: Any) -> Any:
    """A CA certificate in a PEM file, as the deployment's trust bundle."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Deploy test root")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    path = tmp_path_factory.mktemp("trust") / "ca-bundle.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path

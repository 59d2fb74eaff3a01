import re

import pytest
from pydantic import ValidationError

from invoicing.settings import InvoicingSettings
from shared.settings import DEV_JWT_SECRET

# Secrets as an operator makes them (`openssl rand -base64 48`).
JWT = "q7Jm2VxN9pL4tR8sW1kZ6bY3cH5dF0gA_uE-oI2nM7vXwQ9r"
PSEUDONYM = "Zr4T8yU1iO5pA9sD3fG7hJ2kL6zX0cV-bN_mQ4wE8rT1yU5i"
DATA = "mN3bV7cX1zL5kJ9hG2fD6sA0pO4iU8yT-rE_wQ3eR7tY1uI5o"
KEY = "aS2dF6gH0jK4lZ8xC1vB5nM9qW3eR7tY-uI_oP2aS6dF0gH4j"


def test_production_refuses_the_development_secret(monkeypatch):
    monkeypatch.setenv("TUITION_ENV", "production")
    monkeypatch.delenv("TUITION_JWT_SECRET", raising=False)
    with pytest.raises(ValidationError, match="TUITION_JWT_SECRET"):
        InvoicingSettings()


def _production_invoicing(monkeypatch):
    monkeypatch.setenv("TUITION_ENV", "production")
    monkeypatch.setenv("TUITION_JWT_SECRET", JWT)
    monkeypatch.setenv("INVOICING_PSEUDONYM_SECRET", PSEUDONYM)
    monkeypatch.setenv("INVOICING_DATA_KEY", DATA)
    monkeypatch.setenv("INVOICING_PUBLIC_URL", "https://hocphi.caugiay.edu.vn")
    monkeypatch.setenv("INVOICING_RECONCILIATION_URL", "https://hocphi.caugiay.edu.vn/doisoat")
    monkeypatch.setenv("INVOICING_RECEIPTS_URL", "https://bienlai.caugiay.edu.vn")
    monkeypatch.setenv("INVOICING_DASHBOARD_URL", "https://baocao.caugiay.edu.vn")


def test_production_starts_with_real_secrets(monkeypatch):
    _production_invoicing(monkeypatch)
    assert InvoicingSettings().jwt_secret.get_secret_value() == JWT


@pytest.mark.parametrize(
    ("variable", "value", "why"),
    [
        ("TUITION_JWT_SECRET", "replace-with-48-random-bytes-for-the-token-signing-key", "placeholder"),
        ("INVOICING_DATA_KEY", "dev-only-data-key-0123456789abcdef", "public development value"),
        ("INVOICING_PSEUDONYM_SECRET", "short-but-random-9Xq", "shorter than 32"),
        ("INVOICING_DATA_KEY", "ab" * 24, "too few characters"),
        ("INVOICING_DATA_KEYS_PREVIOUS", f"{DATA}x,change-me-please-0123456789abcdefghij", "placeholder"),
        ("INVOICING_SMTP_PASSWORD", "your-smtp-password", "placeholder"),
    ],
)
def test_production_refuses_placeholders_known_values_and_weak_secrets_naming_the_variable(
    monkeypatch, variable, value, why
):
    _production_invoicing(monkeypatch)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=f"{variable}.*{why}"):
        InvoicingSettings()


@pytest.mark.parametrize("overlay", ["district", "province"])
def test_the_example_secrets_of_the_manifests_never_start_a_service(monkeypatch, overlay):
    """Each value of `secrets.example.yaml`, applied as it is, stops the service that reads it, naming it."""
    from pathlib import Path

    import yaml

    path = Path(__file__).parents[2] / "deploy" / "k8s" / "overlays" / overlay / "secrets.example.yaml"
    examples = {
        name: value
        for doc in yaml.safe_load_all(path.read_text())
        if doc and doc["kind"] == "Secret" and doc["metadata"]["name"] != "tuition-pg-user"
        for name, value in doc["stringData"].items()
    }
    assert {"TUITION_JWT_SECRET", "INVOICING_DATA_KEY", "INVOICING_PSEUDONYM_SECRET"} <= set(examples)
    for name, value in examples.items():
        if name.startswith(("TUITION_", "INVOICING_")):
            _production_invoicing(monkeypatch)
            monkeypatch.setenv(name, value)
            with pytest.raises(ValidationError, match=f"{name} is a placeholder"):
                InvoicingSettings()


@pytest.mark.parametrize(
    ("variable", "url"),
    [
        ("INVOICING_PUBLIC_URL", "http://127.0.0.1:8101"),
        ("INVOICING_PUBLIC_URL", "https://localhost"),
        ("INVOICING_RECEIPTS_URL", "https://[::1]:8103"),
        ("INVOICING_RECONCILIATION_URL", "http://hocphi.caugiay.edu.vn"),
        ("INVOICING_DASHBOARD_URL", "http://127.0.0.1:8104"),
    ],
)
def test_production_refuses_public_addresses_parents_cannot_reach(monkeypatch, variable, url):
    _production_invoicing(monkeypatch)
    monkeypatch.setenv(variable, url)
    with pytest.raises(ValidationError, match=re.escape(f"{variable} is '{url}'")):
        InvoicingSettings()


def test_production_receipts_need_a_public_address_and_a_trust_bundle(monkeypatch, tmp_path):
    from receipts.adapters.certificates import cert_pem, issue_school_key, new_ca
    from receipts.settings import ReceiptsSettings

    monkeypatch.setenv("TUITION_ENV", "production")
    monkeypatch.setenv("TUITION_JWT_SECRET", JWT)
    monkeypatch.setenv("RECEIPTS_KEY_SECRET", KEY)
    with pytest.raises(ValidationError, match="RECEIPTS_PUBLIC_URL is 'http://127.0.0.1:8103'"):
        ReceiptsSettings()
    monkeypatch.setenv("RECEIPTS_PUBLIC_URL", "https://bienlai.caugiay.edu.vn")
    with pytest.raises(ValidationError, match="RECEIPTS_TRUST_BUNDLE must be set in production"):
        ReceiptsSettings()
    ca = new_ca("Root")
    bundle = tmp_path / "ca.pem"
    bundle.write_text(cert_pem(issue_school_key(ca, school_id="S", school_name="S", kind="compact").cert))
    monkeypatch.setenv("RECEIPTS_TRUST_BUNDLE", str(bundle))
    with pytest.raises(ValidationError, match="holds certificates that are not CAs"):
        ReceiptsSettings()
    bundle.write_text("not a certificate")
    with pytest.raises(ValidationError, match="holds no readable PEM certificate"):
        ReceiptsSettings()
    bundle.write_text(cert_pem(ca.cert))
    assert ReceiptsSettings().trust_bundle == bundle


def test_production_refuses_the_development_pseudonym_secret(monkeypatch):
    monkeypatch.setenv("TUITION_ENV", "production")
    monkeypatch.setenv("TUITION_JWT_SECRET", JWT)
    monkeypatch.setenv("INVOICING_DATA_KEY", DATA)
    monkeypatch.delenv("INVOICING_PSEUDONYM_SECRET", raising=False)
    with pytest.raises(ValidationError, match="INVOICING_PSEUDONYM_SECRET"):
        InvoicingSettings()


@pytest.mark.parametrize("service", ["invoicing", "reconciliation"])
def test_production_refuses_the_development_data_key_where_data_is_sealed(monkeypatch, service):
    import importlib

    monkeypatch.setenv("TUITION_ENV", "production")
    monkeypatch.setenv("TUITION_JWT_SECRET", JWT)
    monkeypatch.setenv("INVOICING_PSEUDONYM_SECRET", PSEUDONYM)
    monkeypatch.delenv(f"{service.upper()}_DATA_KEY", raising=False)
    cls = getattr(importlib.import_module(f"{service}.settings"), f"{service.capitalize()}Settings")
    with pytest.raises(ValidationError, match=f"{service.upper()}_DATA_KEY is the public development value"):
        cls()


def test_service_variables_take_their_prefix_and_infra_variables_do_not(monkeypatch):
    monkeypatch.setenv("INVOICING_DATABASE", "inv_test")
    monkeypatch.setenv("PG_DSN", "postgresql://u@db.example:5432/postgres")
    s = InvoicingSettings()
    assert s.database == "inv_test"
    assert s.effective_pg_dsn == "postgresql://u@db.example:5432/postgres"
    assert not s.uses_local_postgres
    assert s.jwt_secret.get_secret_value() == DEV_JWT_SECRET


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.5", "::", "school.example"])  # noqa: S104
def test_the_development_secrets_never_listen_beyond_loopback(monkeypatch, host):
    monkeypatch.delenv("TUITION_ENV", raising=False)
    monkeypatch.delenv("TUITION_JWT_SECRET", raising=False)
    monkeypatch.setenv("INVOICING_HTTP_HOST", host)
    with pytest.raises(ValidationError, match="public development value of TUITION_JWT_SECRET"):
        InvoicingSettings()


def test_a_receipts_service_with_the_development_key_secret_stays_on_loopback(monkeypatch):
    from receipts.settings import ReceiptsSettings

    monkeypatch.setenv("TUITION_JWT_SECRET", JWT)
    settings = ReceiptsSettings()
    settings.check_listening_on("127.0.0.1")
    with pytest.raises(ValueError, match="RECEIPTS_KEY_SECRET"):
        settings.check_listening_on("0.0.0.0")  # noqa: S104


def test_the_serve_command_refuses_a_public_host_with_development_secrets(monkeypatch):
    import subprocess
    import sys

    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("TUITION_", "INVOICING_"))}
    r = subprocess.run(
        [sys.executable, "-m", "suite.cli", "serve", "invoicing", "--host", "0.0.0.0", "--port", "1"],  # noqa: S104
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert r.returncode == 2 and "refusing to listen on 0.0.0.0" in r.stderr


def test_a_managed_kafka_is_reached_over_tls_with_a_sasl_user(monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-0.kafka.svc:9093")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    with pytest.raises(ValidationError, match="needs KAFKA_USERNAME and KAFKA_PASSWORD"):
        InvoicingSettings()
    monkeypatch.setenv("KAFKA_USERNAME", "invoicing")
    monkeypatch.setenv("KAFKA_PASSWORD", "s" * 32)
    args = InvoicingSettings().kafka_connection().client_args()
    assert args["security_protocol"] == "SASL_SSL" and args["ssl_context"] is not None
    assert (args["sasl_mechanism"], args["sasl_plain_username"]) == ("SCRAM-SHA-512", "invoicing")
    assert args["bootstrap_servers"] == "kafka-0.kafka.svc:9093"


def test_topic_policy_comes_from_the_deployment(monkeypatch):
    monkeypatch.setenv("TUITION_TOPIC_REPLICATION", "3")
    monkeypatch.setenv("TUITION_TOPIC_MIN_INSYNC_REPLICAS", "2")
    policy = InvoicingSettings().topic_policy()
    assert (policy.replication, policy.configs()) == (3, {"min.insync.replicas": "2", "retention.ms": "-1"})
    monkeypatch.setenv("TUITION_TOPIC_MIN_INSYNC_REPLICAS", "4")
    with pytest.raises(ValidationError, match="cannot exceed TUITION_TOPIC_REPLICATION"):
        InvoicingSettings()

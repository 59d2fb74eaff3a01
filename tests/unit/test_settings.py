import pytest
from pydantic import ValidationError

from invoicing.settings import InvoicingSettings
from shared.settings import DEV_JWT_SECRET


def test_production_refuses_the_development_secret(monkeypatch):
    monkeypatch.setenv("TUITION_ENV", "production")
    monkeypatch.delenv("TUITION_JWT_SECRET", raising=False)
    with pytest.raises(ValidationError, match="TUITION_JWT_SECRET"):
        InvoicingSettings()


def test_production_starts_with_a_real_secret(monkeypatch):
    monkeypatch.setenv("TUITION_ENV", "production")
    monkeypatch.setenv("TUITION_JWT_SECRET", "x" * 48)
    assert InvoicingSettings().jwt_secret.get_secret_value() == "x" * 48


def test_service_variables_take_their_prefix_and_infra_variables_do_not(monkeypatch):
    monkeypatch.setenv("INVOICING_DATABASE", "inv_test")
    monkeypatch.setenv("PG_DSN", "postgresql://u@db.example:5432/postgres")
    s = InvoicingSettings()
    assert s.database == "inv_test"
    assert s.effective_pg_dsn == "postgresql://u@db.example:5432/postgres"
    assert not s.uses_local_postgres
    assert s.jwt_secret.get_secret_value() == DEV_JWT_SECRET

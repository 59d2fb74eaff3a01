"""deploy/compose.yaml loaded by Docker Compose's own loader (compose-go): schema, interpolation, references.
Then what the loader cannot know: each service's environment is one it reads and starts in production."""

from __future__ import annotations

import json
import subprocess

import pytest

from devinfra import tools
from devinfra.tools import ROOT

from .conftest import SERVICES, production_settings, variables_read_by

COMPOSE = ROOT / "deploy" / "compose.yaml"
ENV_EXAMPLE = ROOT / "deploy" / ".env.example"


def _variables() -> dict[str, str]:
    """deploy/.env.example with every empty value filled as an operator would."""
    out = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            out[name] = value or f"{name.lower()}-0123456789abcdef0123456789abcdef"
    return out


def _load(variables: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = [str(tools.deploycheck()), "compose", str(COMPOSE), *(f"{k}={v}" for k, v in variables.items())]
    return subprocess.run(argv, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def project() -> dict:
    loaded = _load(_variables())
    assert loaded.returncode == 0, loaded.stderr
    return json.loads(loaded.stdout)  # type: ignore[no-any-return]


def test_a_missing_secret_stops_compose_naming_it():
    variables = _variables()
    del variables["RECEIPTS_KEY_SECRET"]
    loaded = _load(variables)
    assert loaded.returncode != 0 and "RECEIPTS_KEY_SECRET" in loaded.stderr


def test_the_services_wait_for_healthy_postgres_and_kafka_and_only_the_proxy_is_published(project):
    services = project["services"]
    for infra in ("postgres", "kafka"):
        assert services[infra]["healthcheck"]["test"], infra
        assert services[infra]["volumes"], f"{infra} keeps its data on a volume"
    for name in SERVICES:
        depends = services[name]["depends_on"]
        assert {k: v["condition"] for k, v in depends.items()} == {
            "postgres": "service_healthy",
            "kafka": "service_healthy",
        }
        assert services[name]["healthcheck"]["test"]
        assert not services[name].get("ports"), f"{name} is reached through the TLS proxy only"
        assert services[name]["read_only"] is True and services[name]["cap_drop"] == ["ALL"]
    assert {p["target"] for p in services["caddy"]["ports"]} == {80, 443}
    assert {v["condition"] for v in services["caddy"]["depends_on"].values()} == {"service_healthy"}


def test_each_service_gets_only_what_it_reads_and_starts_in_production(project, monkeypatch, trust_bundle):
    for name in SERVICES:
        env = dict(project["services"][name]["environment"])
        unknown = set(env) - variables_read_by(name)
        assert not unknown, f"{name} is given variables it never reads: {sorted(unknown)}"
        if "RECEIPTS_TRUST_BUNDLE" in env:
            env["RECEIPTS_TRUST_BUNDLE"] = str(trust_bundle)  # the file the volume mounts
        settings = production_settings(name, env, monkeypatch)
        assert settings.environment == "production"
        assert not settings.uses_local_postgres and not settings.uses_local_kafka
        assert settings.development_secrets() == []
        # Forwarded addresses are believed from Caddy alone: each parent has their own rate limit.
        assert settings.proxy_networks() == [project["services"]["caddy"]["networks"]["default"]["ipv4_address"]]
    receipts_secret = [n for n in SERVICES if "RECEIPTS_KEY_SECRET" in project["services"][n]["environment"]]
    assert receipts_secret == ["receipts"]


def test_the_services_connections_fit_in_postgres(project, monkeypatch, trust_bundle):
    command = project["services"]["postgres"]["command"]
    allowed = int(next(c.split("=", 1)[1] for c in command if c.startswith("max_connections=")))
    used = 0
    for name in SERVICES:
        env = dict(project["services"][name]["environment"])
        if "RECEIPTS_TRUST_BUNDLE" in env:
            env["RECEIPTS_TRUST_BUNDLE"] = str(trust_bundle)
        settings = production_settings(name, env, monkeypatch)
        used += settings.workers * (settings.pg_pool_size + 2)
    assert used + 3 + 20 <= allowed  # superuser_reserved_connections; an operator's psql, a backup's pg_dump


def test_the_databases_are_backed_up_every_night_by_the_scripts_the_restore_drill_runs(project):
    backup = project["services"]["backup"]
    assert backup["image"] == project["services"]["postgres"]["image"]  # pg_dump of the server's own major
    assert backup["entrypoint"] == ["/opt/backup/pg-backup.sh"]
    mounts = {v["target"]: v for v in backup["volumes"]}
    assert mounts["/opt/backup"]["read_only"] and mounts["/opt/backup"]["source"].endswith("deploy/backup")
    assert mounts["/backups"]["type"] == "volume" and mounts["/backups"]["source"] == "backups"
    assert int(backup["environment"]["BACKUP_EVERY_S"]) == 86400 and int(backup["environment"]["BACKUP_KEEP_DAYS"]) >= 7
    assert not backup.get("ports")


def test_each_service_connects_as_its_own_database_role_not_the_superuser(project):
    from urllib.parse import urlsplit

    superuser = project["services"]["postgres"]["environment"]["POSTGRES_USER"]
    init = {v["target"]: v["source"] for v in project["services"]["postgres"]["volumes"] if v["type"] == "bind"}
    assert init["/docker-entrypoint-initdb.d/10-roles.sh"].endswith("deploy/postgres/roles.sh")
    roles = (ROOT / "deploy" / "postgres" / "roles.sh").read_text()
    assert "CREATEDB NOSUPERUSER NOCREATEROLE" in roles
    for name in SERVICES:
        dsn = urlsplit(project["services"][name]["environment"]["PG_DSN"])
        assert dsn.username == name != superuser and name in roles, name
        assert project["services"]["postgres"]["environment"][f"{name.upper()}_PG_PASSWORD"] == dsn.password


def test_third_party_images_are_pinned_by_digest(project):
    import re

    import yaml

    images = {n: s["image"] for n, s in project["services"].items() if n not in SERVICES}
    assert set(images) == {"postgres", "kafka", "backup", "caddy"}
    for name, image in images.items():
        assert re.fullmatch(r"[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}", image), f"{name}: {image}"
    docs = yaml.safe_load_all((ROOT / "deploy" / "k8s" / "base" / "postgres.yaml").read_text())
    cluster = next(d for d in docs if d and d["kind"] == "Cluster")
    assert re.fullmatch(r"[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}", cluster["spec"]["imageName"])

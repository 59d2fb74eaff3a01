"""docs/configuration.md lists every environment variable the services read, and nothing they do not: a
setting added without its row, or a row left after its setting went, fails here."""

from __future__ import annotations

import re

from devinfra.tools import ROOT

from .conftest import SERVICES, settings_class, variables_read_by

# Read by the development tools (devinfra), not by a service.
TOOLS_ONLY = {"TUITION_CACHE_DIR"}


def _documented() -> set[str]:
    names: set[str] = set()
    for line in (ROOT / "docs" / "configuration.md").read_text().splitlines():
        if line.startswith("| `"):
            for token in re.findall(r"`([^`]+)`", line.split("|")[1]):
                if token.startswith("<SERVICE>_"):
                    names |= {f"{s.upper()}_{token.removeprefix('<SERVICE>_')}" for s in SERVICES}
                elif re.fullmatch(r"[A-Z][A-Z0-9_]+", token):
                    names.add(token)
    return names


def _read() -> set[str]:
    read: set[str] = set()
    for service in SERVICES:
        names = variables_read_by(service)
        if not settings_class(service).seals_data:  # the base's sealing key means nothing where nothing is sealed
            names -= {f"{service.upper()}_DATA_KEY", f"{service.upper()}_DATA_KEYS_PREVIOUS"}
        read |= names
    return read


def test_every_variable_the_services_read_is_documented_and_every_documented_one_is_read():
    documented, read = _documented(), _read()
    assert sorted(read - documented) == [], "add their rows to docs/configuration.md"
    assert sorted(documented - read - TOOLS_ONLY) == [], "rows for variables no service reads"
    assert "TUITION_TRUSTED_PROXIES" in documented and "INVOICING_ZALO_TEMPLATES" in documented

"""The image installs `requirements-runtime.lock` alone: it must hold every package the suite needs at run time
(its own dependencies, with their extras, and theirs, as the installed packages declare them), (that it
pins the versions the tests ran against is test_monitoring_and_image.py's). A dependency added to pyproject.toml without
regenerating the runtime lock once reached the image missing four packages; this catches it."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from devinfra.tools import ROOT

# The image's Python: the markers of each requirement are read as there.
TARGET = {"python_version": "3.11", "python_full_version": "3.11.2", "sys_platform": "linux", "os_name": "posix",
          "platform_system": "Linux", "platform_machine": "x86_64", "implementation_name": "cpython",
          "platform_python_implementation": "CPython"}  # fmt: skip


def _pins(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text()
    return {canonicalize_name(m[1]): m[2] for m in re.finditer(r"^([A-Za-z0-9._-]+)==([^\s\\;]+)", text, re.M)}


def _applies(req: Requirement, extras: set[str]) -> bool:
    if req.marker is None:
        return True
    return any(req.marker.evaluate(TARGET | {"extra": e}) for e in (extras or {""}))


def _closure(roots: list[Requirement]) -> dict[str, set[str]]:
    """Every package the roots need, with the extras asked of it (from the installed packages' metadata)."""
    needed: dict[str, set[str]] = {}
    todo = [(r, set()) for r in roots]
    while todo:
        req, _ = todo.pop()
        name = canonicalize_name(req.name)
        extras = set(req.extras)
        if name in needed and extras <= needed[name]:
            continue
        needed.setdefault(name, set()).update(extras)
        for line in importlib.metadata.requires(name) or []:
            sub = Requirement(line)
            if _applies(sub, needed[name]):
                todo.append((sub, set()))
    return needed


def test_the_runtime_lock_holds_everything_the_suite_needs():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    roots = [Requirement(d) for d in project["dependencies"]]
    runtime = _pins("requirements-runtime.lock")
    needed = _closure(roots)
    missing = sorted(set(needed) - set(runtime))
    assert not missing, f"requirements-runtime.lock lacks {missing}: regenerate it (deploy/README.md)"
    for req in roots:
        assert req.specifier.contains(runtime[canonicalize_name(req.name)], prereleases=True), req


def test_the_check_sees_a_dependency_the_lock_lacks():
    needed = _closure([Requirement("argon2-cffi>=23.1")])
    assert {"argon2-cffi", "argon2-cffi-bindings", "cffi"} <= set(needed)
    runtime = _pins("requirements-runtime.lock")
    assert set(needed) <= set(runtime)
    assert "pytest" not in runtime and "pytest" in _pins("requirements.lock")

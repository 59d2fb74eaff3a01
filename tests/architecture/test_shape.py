"""The one shape of every service (README, "Architecture"), checked on the code itself.

- dependencies point inward: domain imports nothing of the outside; stores and adapters never import the
  application or the entrypoints; the application never imports the entrypoints;
- services never import each other, and the shared library imports no service nor what stands above them
  (the command line in suite/, the simulator, the development tools), by statement or by name at run time;
- routes and consumers hold no SQL;
- every consumer registers each event type of its topics, handled or skipped on purpose;
- no production function is longer than 60 lines.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from shared.events.topics import events_on
from shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ["invoicing", "reconciliation", "receipts", "reporting"]
LAYERS = ["domain", "app", "stores", "adapters", "entrypoints"]
# What each layer may not import (besides every other service, which no layer may import).
FORBIDDEN = {
    "domain": {"app", "stores", "adapters", "entrypoints", "main", "settings"},
    "app": {"entrypoints", "main"},
    "stores": {"app", "adapters", "entrypoints", "main"},
    "adapters": {"app", "stores", "entrypoints", "main"},
    "entrypoints": {"main"},
}
# The outside world the pure domain never touches.
IO_LIBRARIES = {"asyncpg", "fastapi", "starlette", "aiokafka", "httpx", "uvicorn", "pydantic_settings", "structlog"}
# Of the shared library, the domain may use only the pure parts.
PURE_SHARED = {"shared.errors", "shared.money", "shared.payref", "shared.formatting"}
SQL_CALLS = {"fetch", "fetchrow", "fetchval", "execute", "executemany", "copy_records_to_table", "copy_to_table"}
MAX_FUNCTION_LINES = 60


def _modules(service: str, layer: str) -> list[Path]:
    return sorted((ROOT / "services" / service / service / layer).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    """Every module the file imports: by statement, and by name at run time (`importlib.import_module`,
    `__import__`: the constant start of the name, `f"{service}.main"` counts as a dynamic import of anything)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Call) and _loads_by_name(node.func) and node.args:
            names.add(_constant_start(node.args[0]) or "<dynamic>")
    return names


def _loads_by_name(func: ast.expr) -> bool:
    return (isinstance(func, ast.Attribute) and func.attr == "import_module") or (
        isinstance(func, ast.Name) and func.id in ("import_module", "__import__")
    )


def _constant_start(arg: ast.expr) -> str:
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
        return str(arg.values[0].value)
    return ""


def _production_files() -> list[Path]:
    files = [p for s in SERVICES for p in (ROOT / "services" / s / s).rglob("*.py")]
    return files + sorted((ROOT / "shared").rglob("*.py"))


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("layer", LAYERS)
def test_dependencies_point_inward_and_services_never_import_each_other(service: str, layer: str) -> None:
    wrong = []
    for path in _modules(service, layer):
        for name in _imports(path):
            top, _, rest = name.partition(".")
            inner = rest.split(".", 1)[0]
            if top in SERVICES and top != service:
                wrong.append(f"{path.name} imports another service: {name}")
            elif top == service and inner in FORBIDDEN[layer]:
                wrong.append(f"{path.name} ({layer}) imports {name}")
            elif layer == "domain" and top in IO_LIBRARIES:
                wrong.append(f"{path.name} (domain) imports {name}")
            elif layer == "domain" and top == "shared" and name != "shared" and not name.startswith(tuple(PURE_SHARED)):
                wrong.append(f"{path.name} (domain) imports {name}")
    assert not wrong, "\n".join(wrong)


# What the shared library may never load, by statement or by name: the services, and what stands above them.
ABOVE_SHARED = {*SERVICES, "simulator", "devinfra", "suite", "bench", "<dynamic>"}


def test_the_shared_library_imports_no_service_nor_anything_above_it() -> None:
    wrong = [
        f"{p.relative_to(ROOT)} imports {n}"
        for p in sorted((ROOT / "shared").rglob("*.py"))
        for n in _imports(p)
        if n.split(".")[0] in ABOVE_SHARED
    ]
    assert not wrong, "\n".join(wrong)


def test_a_dynamic_import_is_seen(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import importlib\nname = 'x'\nimportlib.import_module(f'{name}.main')\n__import__('invoicing.app')\n"
    )
    assert {"<dynamic>", "invoicing.app", "importlib"} <= _imports(probe)


def test_production_code_never_loads_the_development_package() -> None:
    """devinfra (local PostgreSQL and Kafka, test fixtures) is not in the service image: services and the shared
    library never import it, and the command line (suite/) only inside the `tuition infra` command."""
    wrong = [
        f"{p.relative_to(ROOT)} imports {n}"
        for p in _production_files()
        for n in _imports(p)
        if n.split(".")[0] == "devinfra"
    ]
    for path in sorted((ROOT / "suite").rglob("*.py")):
        body = ast.parse(path.read_text()).body
        top = [n for n in body if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = {a.name for n in top for a in n.names} | {
            n.module for n in top if isinstance(n, ast.ImportFrom) and n.module
        }
        wrong += [f"{path.relative_to(ROOT)} imports {n} at load" for n in names if n.split(".")[0] == "devinfra"]
    assert not wrong, "\n".join(wrong)


def _sql_calls(path: Path) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{n.lineno} .{n.func.attr}()"
        for n in ast.walk(ast.parse(path.read_text()))
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in SQL_CALLS
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_routes_and_consumers_hold_no_sql(service: str) -> None:
    calls = [c for p in _modules(service, "entrypoints") if p.name != "cli.py" for c in _sql_calls(p)]
    assert not calls, "SQL belongs in a store module:\n" + "\n".join(calls)


# Services whose application layer has no SQL left: every query is in a store module.


@pytest.mark.parametrize("service", SERVICES)
def test_the_application_layer_holds_no_sql(service: str) -> None:
    calls = [c for p in _modules(service, "app") for c in _sql_calls(p)]
    assert not calls, "SQL belongs in a store module:\n" + "\n".join(calls)


@pytest.mark.parametrize("service", SERVICES)
def test_every_consumer_registers_each_event_type_of_its_topics(service: str) -> None:
    main = importlib.import_module(f"{service}.main")
    settings_cls = next(
        v
        for v in vars(importlib.import_module(f"{service}.settings")).values()
        if isinstance(v, type) and issubclass(v, ServiceSettings) and v is not ServiceSettings
    )

    class Runtime:  # what a handler factory may use of the runtime, without a database
        outbox = None
        settings = settings_cls()

        def settings_as(self, cls: type) -> object:
            return self.settings

    for spec in main.SPEC.consumers:
        handlers = spec.handlers(Runtime())  # type: ignore[arg-type]
        carried = frozenset().union(*(events_on(t) for t in spec.topics))
        registered = handlers.handled | handlers.skipped
        assert registered == carried, (
            f"{service}.{spec.name}: not registered {sorted(carried - registered)}, "
            f"not on its topics {sorted(registered - carried)}"
        )


def test_no_production_function_is_longer_than_60_lines() -> None:
    long = [
        f"{p.relative_to(ROOT)}:{n.lineno} {n.name} ({n.end_lineno - n.lineno + 1} lines)"
        for p in _production_files()
        for n in ast.walk(ast.parse(p.read_text()))
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        and n.end_lineno is not None
        and n.end_lineno - n.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, "\n".join(long)


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_declares_its_answer(service: str) -> None:
    """A JSON answer has a schema in the OpenAPI document; a file or stream names its media types."""
    main = importlib.import_module(f"{service}.main")
    settings_cls = getattr(importlib.import_module(f"{service}.settings"), f"{service.capitalize()}Settings")
    settings = settings_cls(database="unused", pg_dsn="postgresql://unused@127.0.0.1:1/unused")
    spec = main.create_app(settings).openapi()
    bare = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            answers = {code: r for code, r in op["responses"].items() if code.startswith("2")}
            if list(answers) == ["204"] or (not answers and any(c.startswith("3") for c in op["responses"])):
                continue  # no content, or a redirect
            contents = [r.get("content", {}) for r in answers.values()]
            if not any(
                media and (media != "application/json" or body.get("schema"))
                for c in contents
                for media, body in c.items()
            ):
                bare.append(f"{method.upper()} {path}")
    assert not bare, "no declared answer:\n" + "\n".join(bare)


UNTYPED = ("dict[str, Any]", "asyncpg.Record", "Record")


def _untyped_annotations(path: Path) -> list[str]:
    """Parameters and answers of functions whose annotation names a raw row or an untyped mapping."""
    found = []
    for n in ast.walk(ast.parse(path.read_text())):
        if not isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        args = [*n.args.posonlyargs, *n.args.args, *n.args.kwonlyargs, n.args.vararg, n.args.kwarg]
        annotated = [(a.arg, a.annotation) for a in args if a is not None and a.annotation is not None]
        if n.returns is not None:
            annotated.append(("return", n.returns))
        for name, annotation in annotated:
            text = ast.unparse(annotation)
            if "dict[str, Any]" in text or any(part in {"asyncpg.Record", "Record"} for part in _names(annotation)):
                found.append(f"{path.name}:{n.lineno} {n.name}({name}: {text})")
    return found


def _names(annotation: ast.expr) -> set[str]:
    return {ast.unparse(x) for x in ast.walk(annotation) if isinstance(x, ast.Name | ast.Attribute)}


@pytest.mark.parametrize("service", SERVICES)
def test_the_seams_between_layers_are_typed(service: str) -> None:
    """Handlers take and give named types, and stores answer rows mapped to frozen dataclasses: no
    `dict[str, Any]` nor `asyncpg.Record` in a signature of the application or a store."""
    untyped = [
        f"{p.parent.name}/{u}"
        for layer in ("app", "stores")
        for p in _modules(service, layer)
        for u in _untyped_annotations(p)
    ]
    assert not untyped, "untyped seams:\n" + "\n".join(untyped)


def test_an_untyped_seam_is_seen(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "async def a(row: asyncpg.Record) -> int: ...\n"
        "def b() -> list[dict[str, Any]]: ...\n"
        "def c(x: Record | None) -> None: ...\n"
        "def d(x: Invoice) -> dict[str, int]: ...\n"
    )
    found = [line.split(" ", 1)[1] for line in _untyped_annotations(module)]
    assert found == ["a(row: asyncpg.Record)", "b(return: list[dict[str, Any]])", "c(x: Record | None)"], found


MAX_ROUTE_MODULE_LINES = 300


def test_route_modules_stay_one_concern_each() -> None:
    """A route module holds one concern's routes (and their request and answer models): none over 300 lines."""
    long = [
        f"{p.relative_to(ROOT)} ({n} lines)"
        for service in SERVICES
        for p in _modules(service, "entrypoints")
        if (n := len(p.read_text().splitlines())) > MAX_ROUTE_MODULE_LINES
    ]
    assert not long, "\n".join(long)

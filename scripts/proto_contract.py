"""The event contract's compatibility check: no change to proto/ may break a consumer still on the last release.

The contract of the last release is `proto/contract.json` (every message's fields by number, every enum's
values, what each reserves). A change is breaking when a reader of the old contract would misread the new
bytes or JSON: a message, field or enum value removed without reserving its number and name, a field's
number given another type, cardinality (repeated), name or oneof, an enum value renumbered or renamed.
Adding messages, fields and values is compatible; a new major version is a new package (`.v2`).

    python scripts/proto_contract.py            # check proto/ against the contract (exit 1 on a break)
    python scripts/proto_contract.py --update   # record proto/ as the contract (at a release)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT / "proto" / "contract.json"
FieldType = descriptor_pb2.FieldDescriptorProto


def describe(proto_root: Path) -> dict[str, Any]:
    """The contract surface of every .proto under proto_root/tuition, as plain data."""
    files = sorted(str(p.relative_to(proto_root)) for p in (proto_root / "tuition").rglob("*.proto"))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "set.binpb"
        subprocess.run(
            [sys.executable, "-m", "grpc_tools.protoc", "-I", str(proto_root), f"--descriptor_set_out={out}", *files],
            check=True,
            capture_output=True,
        )
        fds = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    messages: dict[str, Any] = {}
    enums: dict[str, Any] = {}
    for f in fds.file:
        for m in f.message_type:
            _message(f.package, m, messages, enums)
        for e in f.enum_type:
            enums[f"{f.package}.{e.name}"] = _enum(e)
    return {"messages": dict(sorted(messages.items())), "enums": dict(sorted(enums.items()))}


def _message(scope: str, m: descriptor_pb2.DescriptorProto, messages: dict[str, Any], enums: dict[str, Any]) -> None:
    name = f"{scope}.{m.name}"
    messages[name] = {
        "fields": {
            str(fld.number): {
                "name": fld.name,
                "type": FieldType.Type.Name(fld.type),
                "type_name": fld.type_name.lstrip("."),
                "repeated": fld.label == FieldType.LABEL_REPEATED,
                "oneof": m.oneof_decl[fld.oneof_index].name
                if fld.HasField("oneof_index") and not fld.proto3_optional
                else "",
            }
            for fld in m.field
        },
        "reserved_numbers": sorted(n for r in m.reserved_range for n in range(r.start, r.end)),
        "reserved_names": sorted(m.reserved_name),
    }
    for nested in m.nested_type:
        if not nested.options.map_entry:
            _message(name, nested, messages, enums)
    for e in m.enum_type:
        enums[f"{name}.{e.name}"] = _enum(e)


def _enum(e: descriptor_pb2.EnumDescriptorProto) -> dict[str, Any]:
    return {
        "values": {str(v.number): v.name for v in e.value},
        "reserved_numbers": sorted(n for r in e.reserved_range for n in range(r.start, r.end + 1)),
        "reserved_names": sorted(e.reserved_name),
    }


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What a reader of `old` would misread in `new`; empty when `new` is compatible."""
    problems: list[str] = []
    for name, was in old["messages"].items():
        now = new["messages"].get(name)
        if now is None:
            problems.append(f"message {name} was removed (publish a new package version instead)")
            continue
        for number, field in was["fields"].items():
            problems += _field_change(name, number, field, now)
    for name, was in old["enums"].items():
        now = new["enums"].get(name)
        if now is None:
            problems.append(f"enum {name} was removed")
            continue
        for number, value in was["values"].items():
            current = now["values"].get(number)
            if current is None and not (int(number) in now["reserved_numbers"] and value in now["reserved_names"]):
                problems.append(f"enum {name}: value {value} = {number} was removed without reserving it")
            elif current is not None and current != value:
                problems.append(f"enum {name}: value {number} was renamed {value} → {current}")
    return problems


def _field_change(message: str, number: str, was: dict[str, Any], now: dict[str, Any]) -> list[str]:
    field = now["fields"].get(number)
    where = f"{message}.{was['name']} = {number}"
    if field is None:
        if int(number) in now["reserved_numbers"] and was["name"] in now["reserved_names"]:
            return []
        return [f"{where} was removed without reserving its number and name"]
    problems = []
    for key, what in (("type", "type"), ("type_name", "message or enum type"), ("repeated", "cardinality")):
        if field[key] != was[key]:
            problems.append(f"{where}: its {what} changed from {was[key]!r} to {field[key]!r}")
    if field["name"] != was["name"]:
        problems.append(f"{where} was renamed {field['name']} (JSON readers go by name)")
    if field["oneof"] != was["oneof"]:
        problems.append(f"{where} moved from oneof {was['oneof']!r} to {field['oneof']!r}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", action="store_true", help="record proto/ as the released contract")
    args = parser.parse_args()
    current = describe(ROOT / "proto")
    if args.update:
        CONTRACT.write_text(json.dumps(current, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"recorded {len(current['messages'])} messages and {len(current['enums'])} enums in {CONTRACT}")
        return 0
    problems = breaking_changes(json.loads(CONTRACT.read_text(encoding="utf-8")), current)
    for p in problems:
        print(f"breaking: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""proto/ keeps the released event contract (proto/contract.json): consumers of the last release still read
every event. The checker itself is tested on edited copies of the real .proto files."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
EVENTS = Path("tuition/reconciliation/v1/events.proto")


def _checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("proto_contract", ROOT / "scripts" / "proto_contract.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


contract = _checker()


def test_proto_keeps_the_released_contract() -> None:
    released = json.loads((ROOT / "proto" / "contract.json").read_text(encoding="utf-8"))
    assert contract.breaking_changes(released, contract.describe(ROOT / "proto")) == []


@pytest.fixture(scope="module")
def released() -> dict[str, object]:
    return contract.describe(ROOT / "proto")  # type: ignore[no-any-return]


def _edited(tmp_path: Path, old: str, new: str) -> dict[str, object]:
    shutil.copytree(ROOT / "proto" / "tuition", tmp_path / "tuition")
    path = tmp_path / EVENTS
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return contract.describe(tmp_path)  # type: ignore[no-any-return]


BREAKING = [
    (
        "  string bank_reference = 7;\n  google.protobuf.Timestamp paid_at = 8;",
        "  google.protobuf.Timestamp paid_at = 8;",
        "PaymentMatched.bank_reference = 7 was removed without reserving",
    ),
    (
        "  int64 amount = 5;\n  Channel channel = 6;",
        "  int32 amount = 5;\n  Channel channel = 6;",
        "PaymentMatched.amount = 5: its type changed from 'TYPE_INT64' to 'TYPE_INT32'",
    ),
    ("  string payer_name = 9;", "  string payer = 9;", "PaymentMatched.payer_name = 9 was renamed payer"),
    ("  string payer_name = 9;", "  repeated string payer_name = 9;", "payer_name = 9: its cardinality changed"),
    ("  CASH = 5;\n", "", "enum tuition.reconciliation.v1.Channel: value CASH = 5 was removed"),
    ("  CASH = 5;\n  OTHER = 6;", "  CASH = 6;\n  OTHER = 5;", "value 5 was renamed CASH → OTHER"),
    ("message PaymentReversed {", "message PaymentTakenBack {", "message tuition.reconciliation.v1.PaymentReversed"),
]


@pytest.mark.parametrize(("old", "new", "expected"), BREAKING, ids=[b[2][:40] for b in BREAKING])
def test_a_breaking_change_is_named(
    tmp_path: Path, released: dict[str, object], old: str, new: str, expected: str
) -> None:
    problems = contract.breaking_changes(released, _edited(tmp_path, old, new))
    assert any(expected in p for p in problems), problems


COMPATIBLE = [
    ("  string reason_code = 10;\n", "  string reason_code = 10;\n  string note = 12;\n"),
    ("  OTHER = 6;\n", "  OTHER = 6;\n  POS = 7;\n"),
    (
        "  string bank_reference = 7;\n  google.protobuf.Timestamp paid_at = 8;",
        '  reserved 7;\n  reserved "bank_reference";\n  google.protobuf.Timestamp paid_at = 8;',
    ),
]


@pytest.mark.parametrize(("old", "new"), COMPATIBLE, ids=["new field", "new enum value", "removed and reserved"])
def test_a_compatible_change_passes(tmp_path: Path, released: dict[str, object], old: str, new: str) -> None:
    assert contract.breaking_changes(released, _edited(tmp_path, old, new)) == []

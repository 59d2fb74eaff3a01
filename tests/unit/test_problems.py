"""One error shape (RFC 9457 problem details), said in Vietnamese, in English for a client that asks."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from shared import problems
from shared.errors import Conflict


@pytest.mark.parametrize(
    ("header", "english"),
    [
        (None, False),
        ("vi-VN,vi;q=0.9,en;q=0.8", False),
        ("en-US,en;q=0.9", True),
        ("en;q=0.5,vi;q=0.9", False),
        ("fr-FR", False),
        ("fr;q=0.9,en;q=0.8", True),
        ("en;q=x", False),
    ],
)
def test_english_only_for_a_client_that_prefers_it(header, english):
    assert problems.prefers_english(header) is english


def test_validation_errors_name_each_field_in_vietnamese():
    errors = problems.field_errors(
        [
            {"loc": ("body", "note"), "type": "string_too_long", "msg": "x", "ctx": {"max_length": 300}},
            {"loc": ("query", "date"), "type": "missing", "msg": "Field required"},
            {"loc": ("body", "items", 0, "amount"), "type": "greater_than", "msg": "x", "ctx": {"gt": 0}},
            {"loc": ("body", "x"), "type": "some_new_type", "msg": "whatever"},
        ],
        english=False,
    )
    assert [(e["field"], e["in"], e["message"]) for e in errors] == [
        ("note", "body", "dài quá 300 ký tự"),
        ("date", "query", "còn thiếu"),
        ("items.0.amount", "body", "phải lớn hơn 0"),
        ("x", "body", "không hợp lệ"),
    ]
    detail = problems.validation_detail(errors, english=False)
    assert detail.startswith("Dữ liệu chưa hợp lệ: «note» dài quá 300 ký tự; «date» còn thiếu")


class NoteIn(BaseModel):
    note: str = Field(max_length=5)
    amount: int = Field(gt=0)


def _app() -> FastAPI:
    from shared.service import install_problem_handlers  # the suite's own handlers

    app = FastAPI()

    @app.post("/notes")
    async def notes(body: NoteIn) -> dict[str, str]:
        raise Conflict("Hóa đơn đã bị hủy: không nhận thêm khoản nộp.")

    install_problem_handlers(app)
    return app


def test_every_error_is_problem_details_with_a_code_and_a_vietnamese_detail():
    client = TestClient(_app())
    bad = client.post("/notes", json={"note": "quá dài rồi", "amount": "hai"})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    body = bad.json()
    assert (body["status"], body["code"], body["title"]) == (422, "validation", "Dữ liệu chưa hợp lệ")
    assert body["type"].endswith("/validation")
    assert {e["field"]: e["message"] for e in body["errors"]} == {
        "note": "dài quá 5 ký tự",
        "amount": "phải là số nguyên",
    }
    assert "«note» dài quá 5 ký tự" in body["detail"]
    english = client.post("/notes", json={}, headers={"Accept-Language": "en-GB"}).json()
    assert english["title"] == "Invalid input" and "Field required" in english["detail"]

    conflict = client.post("/notes", json={"note": "ok", "amount": 1})
    assert conflict.status_code == 409 and conflict.headers["content-type"] == "application/problem+json"
    assert conflict.json() | {"type": None} == {
        "type": None,
        "title": "Không thực hiện được lúc này",
        "status": 409,
        "code": "conflict",
        "detail": "Hóa đơn đã bị hủy: không nhận thêm khoản nộp.",
    }
    unknown = client.get("/no-such-page")
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    assert unknown.json()["detail"] == "Không có trang hoặc địa chỉ API này."

"""Every error of the suite as RFC 9457 problem details (`application/problem+json`), in one shape: a stable
machine `code`, a `title` and `detail` a person reads (Vietnamese; English for an API client whose
`Accept-Language` prefers it), and for a request that does not validate, its `errors` field by field. The
pages show `detail` as it comes, and translate nothing.

    {"type": "https://tuition.example.vn/problems/validation", "title": "Dữ liệu chưa hợp lệ", "status": 422,
     "code": "validation", "detail": "Dữ liệu chưa hợp lệ: «note» dài quá 300 ký tự.",
     "errors": [{"field": "note", "in": "body", "code": "string_too_long", "message": "dài quá 300 ký tự"}]}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://tuition.example.vn/problems/"

# The code and title of each status the suite answers with.
BY_STATUS: dict[int, tuple[str, str, str]] = {
    400: ("malformed", "Yêu cầu không đọc được", "The request cannot be read"),
    401: ("unauthorized", "Chưa xác thực được người gửi", "Not authenticated"),
    403: ("forbidden", "Không có quyền", "Not allowed"),
    404: ("not_found", "Không tìm thấy", "Not found"),
    405: ("method_not_allowed", "Không hỗ trợ thao tác này", "Method not allowed"),
    409: ("conflict", "Không thực hiện được lúc này", "Conflict with the current state"),
    413: ("too_large", "Dữ liệu gửi lên quá lớn", "Request too large"),
    415: ("unsupported_media_type", "Định dạng không được hỗ trợ", "Unsupported media type"),
    422: ("invalid", "Dữ liệu chưa hợp lệ", "Invalid input"),
    429: ("too_many_attempts", "Thử quá nhiều lần", "Too many attempts"),
    500: ("internal", "Lỗi hệ thống", "Internal error"),
    503: ("unavailable", "Dịch vụ tạm thời không sẵn sàng", "Service unavailable"),
}


def prefers_english(accept_language: str | None) -> bool:
    """The client asks for English before Vietnamese (or without Vietnamese at all)."""
    if not accept_language:
        return False
    ranked = []
    for n, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if q > 0:  # q=0: not acceptable
            ranked.append((-q, n, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        if tag.startswith("vi"):
            return False
        if tag.startswith("en"):
            return True
    return False


def problem(
    status: int,
    detail: str,
    *,
    code: str | None = None,
    english: bool = False,
    errors: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    default_code, title_vi, title_en = BY_STATUS.get(status, ("error", "Lỗi", "Error"))
    code = code or default_code
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": title_en if english else title_vi,
        "status": status,
        "code": code,
        "detail": detail,
    }
    if errors:
        body["errors"] = [dict(e) for e in errors]
    return body


# Pydantic's error types, said in Vietnamese (the context fills the limits).
_VI: dict[str, str] = {
    "missing": "còn thiếu",
    "string_too_short": "ngắn quá (ít nhất {min_length} ký tự)",
    "string_too_long": "dài quá {max_length} ký tự",
    "string_pattern_mismatch": "không đúng dạng",
    "string_type": "phải là chữ",
    "int_parsing": "phải là số nguyên",
    "int_type": "phải là số nguyên",
    "int_from_float": "phải là số nguyên, không có phần lẻ",
    "float_parsing": "phải là số",
    "float_type": "phải là số",
    "decimal_parsing": "phải là số",
    "decimal_max_digits": "nhiều chữ số quá (tối đa {max_digits})",
    "decimal_max_places": "nhiều chữ số thập phân quá (tối đa {decimal_places})",
    "greater_than": "phải lớn hơn {gt}",
    "greater_than_equal": "phải từ {ge} trở lên",
    "less_than": "phải nhỏ hơn {lt}",
    "less_than_equal": "không được quá {le}",
    "bool_parsing": "phải là có hoặc không (true/false)",
    "bool_type": "phải là có hoặc không (true/false)",
    "date_parsing": "phải là ngày dạng YYYY-MM-DD",
    "date_from_datetime_parsing": "phải là ngày dạng YYYY-MM-DD",
    "date_type": "phải là ngày dạng YYYY-MM-DD",
    "datetime_parsing": "phải là thời điểm (ISO 8601, có múi giờ)",
    "datetime_from_date_parsing": "phải là thời điểm (ISO 8601, có múi giờ)",
    "datetime_type": "phải là thời điểm (ISO 8601, có múi giờ)",
    "timezone_aware": "cần có múi giờ",
    "uuid_parsing": "phải là mã UUID",
    "uuid_type": "phải là mã UUID",
    "literal_error": "phải là một trong: {expected}",
    "enum": "phải là một trong: {expected}",
    "json_invalid": "không phải JSON hợp lệ",
    "json_type": "không phải JSON hợp lệ",
    "too_short": "cần ít nhất {min_length} mục",
    "too_long": "nhiều quá (tối đa {max_length} mục)",
    "list_type": "phải là một danh sách",
    "dict_type": "phải là một đối tượng",
    "model_attributes_type": "phải là một đối tượng",
    "model_type": "phải là một đối tượng",
    "extra_forbidden": "không được phép có",
    "url_parsing": "phải là địa chỉ web",
    "url_type": "phải là địa chỉ web",
    "url_scheme": "phải là địa chỉ web http hoặc https",
    "value_error": "không hợp lệ: {error}",
    "assertion_error": "không hợp lệ: {error}",
}


def _field(loc: Sequence[Any]) -> tuple[str, str]:
    """Where an error is (body, query, path, header) and its field's dotted name."""
    where = str(loc[0]) if loc else ""
    if where not in ("body", "query", "path", "header", "cookie"):
        return "", ".".join(str(p) for p in loc)
    return where, ".".join(str(p) for p in loc[1:]) or where


def field_errors(errors: Sequence[Mapping[str, Any]], *, english: bool) -> list[dict[str, Any]]:
    out = []
    for e in errors:
        where, name = _field(e.get("loc", ()))
        kind = str(e.get("type", "value_error"))
        message = str(e.get("msg", ""))
        if not english:
            template = _VI.get(kind)
            if template is not None:
                ctx = {k: v for k, v in (e.get("ctx") or {}).items()}
                try:
                    message = template.format(**ctx)
                except (KeyError, IndexError):
                    message = template.split(":")[0].split("{")[0].strip()
            else:
                message = "không hợp lệ"
        out.append({"field": name, "in": where, "code": kind, "message": message})
    return out


def validation_detail(errors: Sequence[Mapping[str, Any]], *, english: bool) -> str:
    """One sentence for a person: each field and what is wrong with it (at most five, then how many more)."""
    said = [f"«{e['field']}» {e['message']}" for e in errors[:5]]
    more = len(errors) - len(said)
    if english:
        tail = f"; and {more} more" if more > 0 else ""
        return "Invalid input: " + "; ".join(said) + tail + "."
    tail = f"; và {more} lỗi khác" if more > 0 else ""
    return "Dữ liệu chưa hợp lệ: " + "; ".join(said) + tail + "."


# The OpenAPI schema of every error answer (FastAPI documents its own `HTTPValidationError` by default).
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "code", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string", "description": "stable, for programs: validation, invalid, not_found, ..."},
        "detail": {"type": "string", "description": "for a person (Vietnamese unless English is asked for)"},
        "errors": {
            "type": "array",
            "items": {"type": "object", "additionalProperties": True},
            "description": "field by field (validation), or row by row (a roster, a statement)",
        },
    },
}


def document(app: FastAPI) -> None:
    """The app's OpenAPI says what its errors really are: problem details, as `application/problem+json`."""
    original: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas["HTTPValidationError"] = PROBLEM_SCHEMA
        schemas.pop("ValidationError", None)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                answer = operation.get("responses", {}).get("422", {})
                content = answer.get("content", {})
                if "application/json" in content and "HTTPValidationError" in str(content["application/json"]):
                    answer["content"] = {MEDIA_TYPE: content.pop("application/json")}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

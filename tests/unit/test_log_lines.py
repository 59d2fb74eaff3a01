"""Every line on stderr is one JSON object: ours, the libraries' (uvicorn, aiokafka) and the access log, each
with the request's correlation id; the access log names the route, never the path or the query string."""

from __future__ import annotations

import json
import logging

import httpx
from fastapi import FastAPI

from shared.logging import configure_logging, get_logger
from shared.service import RequestMiddleware


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/students/{code}/invoices")
    async def invoices(code: str) -> dict[str, str]:
        logging.getLogger("aiokafka.consumer").warning("heartbeat failed for group %s", "g1")
        get_logger("test").warning("test.looked_up", count=1)
        return {"ok": code[:0]}

    app.add_middleware(RequestMiddleware)
    return app


async def _get(app: FastAPI, url: str, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        return await client.get(url, headers=headers)


def _lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.strip()]


async def test_library_and_access_lines_are_json_with_the_correlation_id(capfd):
    configure_logging("INFO", json=True)
    capfd.readouterr()
    r = await _get(_app(), "/students/HS20240117/invoices?phone=0912345678", **{"X-Correlation-ID": "cid-42"})
    assert r.status_code == 200 and r.headers["X-Correlation-ID"] == "cid-42"
    err = capfd.readouterr().err
    lines = _lines(err)  # every line parses: nothing on stderr is plain text
    library = next(line for line in lines if line.get("logger") == "aiokafka.consumer")
    assert library["event"] == "heartbeat failed for group g1"
    assert library["level"] == "warning" and library["correlation_id"] == "cid-42" and "timestamp" in library
    ours = next(line for line in lines if line["event"] == "test.looked_up")
    assert ours["correlation_id"] == "cid-42"
    access = next(line for line in lines if line["event"] == "http.request")
    assert access["route"] == "/students/{code}/invoices"
    assert access["method"] == "GET" and access["status"] == 200 and access["correlation_id"] == "cid-42"
    assert isinstance(access["duration_ms"], float)
    assert "HS20240117" not in err and "0912345678" not in err


async def test_the_access_log_counts_refusals_and_can_be_turned_off(capfd):
    configure_logging("INFO", json=True)
    capfd.readouterr()
    r = await _get(_app(), "/nowhere/0912345678")
    assert r.status_code == 404
    access = [line for line in _lines(capfd.readouterr().err) if line["event"] == "http.request"]
    assert [(a["route"], a["status"]) for a in access] == [("unmatched", 404)]
    assert len(str(access[0]["correlation_id"])) == 32  # one made for the request

    quiet = FastAPI()
    quiet.add_middleware(RequestMiddleware, access_log=False)
    await _get(quiet, "/x")
    assert not [line for line in _lines(capfd.readouterr().err) if line["event"] == "http.request"]


def test_configured_twice_the_root_logger_writes_each_record_once(capfd):
    configure_logging("INFO", json=True)
    configure_logging("INFO", json=True)
    capfd.readouterr()
    logging.getLogger("uvicorn.error").info("Application startup complete.")
    lines = [line for line in _lines(capfd.readouterr().err) if line.get("logger") == "uvicorn.error"]
    assert [line["event"] for line in lines] == ["Application startup complete."]

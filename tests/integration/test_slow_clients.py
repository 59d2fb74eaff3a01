"""A stranger's slow connection costs a bounded time (issue 28 §6): headers not sent within the header timeout,
or a body trickled past the body timeout, get 408 and the connection closed, over real sockets to a real
uvicorn with the services' own protocol; a prompt request on the same server is served as usual."""

from __future__ import annotations

import asyncio
import time

import uvicorn
from fastapi import FastAPI, Request

from devinfra.testing import free_port, wait_until
from shared.http_protocol import BoundedHttpToolsProtocol
from suite.cli import HTTP_PROTOCOL


def _app() -> FastAPI:
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    return app


async def _read_all(reader: asyncio.StreamReader, within: float) -> tuple[bytes, float]:
    started = time.monotonic()
    data = await asyncio.wait_for(reader.read(), within)
    return data, time.monotonic() - started


async def test_slow_headers_and_a_trickled_body_are_cut_off_and_a_prompt_request_is_served():
    BoundedHttpToolsProtocol.configure(header_timeout_s=1.0, body_timeout_s=1.5)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(_app(), host="127.0.0.1", port=port, http=HTTP_PROTOCOL, log_config=None))
    task = asyncio.create_task(server.serve())
    try:

        async def started() -> bool:
            return server.started

        await wait_until(started, what="the server")
        # Headers a byte at a time, never finished: 408 within about the header timeout.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\n")
        data, took = await _read_all(reader, within=10)
        assert data.startswith(b"HTTP/1.1 408") and 0.8 < took < 3, (data, took)
        writer.close()

        # Headers at once, then a body that never completes.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc")
        data, took = await _read_all(reader, within=10)
        assert b"408" in data.split(b"\r\n", 1)[0] and 1.2 < took < 4, (data, took)
        writer.close()

        # A prompt request is served, and a kept-alive connection idle between requests is not cut by these.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(2):
            writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            assert head.startswith(b"HTTP/1.1 200")
            length = int(next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1])
            assert await reader.readexactly(length) == b'{"bytes":3}'
            await asyncio.sleep(0.3)
        writer.close()
    finally:
        BoundedHttpToolsProtocol.configure(header_timeout_s=10.0, body_timeout_s=120.0)
        server.should_exit = True
        await task


def test_the_services_are_served_with_the_bounded_protocol_and_a_connection_limit():
    import inspect

    from suite import cli

    source = inspect.getsource(cli._serve)
    assert "http=HTTP_PROTOCOL" in source and "limit_concurrency=settings.http_max_connections" in source
    assert uvicorn.importer.import_from_string(HTTP_PROTOCOL) is BoundedHttpToolsProtocol

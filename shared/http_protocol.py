"""The HTTP server's connections, bounded in time: a client has `header_timeout_s` to send a request's headers
and `body_timeout_s` to send its body, or gets 408 and the connection is closed. Uvicorn bounds only the idle
time between requests (keep-alive); without these, a thousand clients trickling a byte a second each hold a
connection, its buffers and a slot of the process for as long as they like (a slow-loris).

The deadlines are class settings, set from the service's settings where each process builds its app
(`configure`), so that every worker process of a service has them.
"""

from __future__ import annotations

import asyncio
import json
from typing import ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from shared.logging import get_logger
from shared.problems import problem

log = get_logger(__name__)

_BODY = json.dumps(
    problem(408, "Yêu cầu không được gửi kịp thời hạn: hãy gửi lại.", code="request_timeout"), ensure_ascii=False
).encode()
_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/problem+json\r\nconnection: close\r\n"
    b"content-length: " + str(len(_BODY)).encode() + b"\r\n\r\n" + _BODY
)


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    header_timeout_s: ClassVar[float] = 10.0
    body_timeout_s: ClassVar[float] = 120.0
    _deadline: asyncio.TimerHandle | None = None

    @classmethod
    def configure(cls, *, header_timeout_s: float, body_timeout_s: float) -> None:
        cls.header_timeout_s, cls.body_timeout_s = header_timeout_s, body_timeout_s

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start(self.header_timeout_s, "headers")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # the next request on a kept-alive connection
            self._start(self.header_timeout_s, "headers")

    def on_headers_complete(self) -> None:
        self._start(self.body_timeout_s, "body")
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._stop()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop()
        super().connection_lost(exc)

    def _start(self, seconds: float, what: str) -> None:
        self._stop()
        self._deadline = self.loop.call_later(seconds, self._too_slow, what)

    def _stop(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self, what: str) -> None:
        self._deadline = None
        log.warning("service.http.too_slow", waiting_for=what)
        if self.cycle is None or not self.cycle.response_started:
            self.transport.write(_TIMEOUT)
        if self.cycle is not None:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.close()

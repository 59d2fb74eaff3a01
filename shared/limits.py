"""What a stranger's request may cost: body size per route, and a request rate on the public routes.

Both are plain ASGI middleware installed once by `build_app`, from the rules each service declares:

- **Body size**: a declared `Content-Length` over the route's limit is answered 413 before anything is
  read; a body sent without one (chunked) is counted as it arrives and cut off at the limit, also 413.
- **Rate**: a token bucket per (rule, key), the key being the client address or a path segment (a
  webhook's school: aggregators post for many schools from a few addresses). Over the rate → 429 with
  `Retry-After`. Buckets live in the process (each replica limits on its own) and their number is
  bounded, so the limiter itself cannot be made to grow without end.

Written here rather than taken from a library: the body limit has no maintained ASGI package, and the
rate limiter is 30 lines where the libraries bring a storage layer the suite does not need.
"""

from __future__ import annotations

import json
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from shared.problems import MEDIA_TYPE, problem

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# The rate limiter's clock (a test may stop it; the rest of the process keeps time.monotonic).
_clock = time.monotonic

KiB = 1024
MiB = 1024 * KiB
DEFAULT_BODY_LIMIT = 256 * KiB


@dataclass(frozen=True)
class BodyLimit:
    """Requests whose path matches `pattern` (a regular expression, matched from the start) may send at most
    `max_bytes`. The first matching rule applies; unmatched paths get `DEFAULT_BODY_LIMIT`."""

    pattern: str
    max_bytes: int


@dataclass(frozen=True)
class RateLimit:
    """At most `per_second` requests per key on paths matching `pattern`, with bursts up to `burst`.
    `key_group`: the regex group of `pattern` that keys the bucket; 0 = the client's address."""

    name: str
    pattern: str
    per_second: int
    burst: int
    key_group: int = 0


async def _reply(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps(problem(status, detail), ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())]
            + (headers or []),
        }
    )
    await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, rules: list[BodyLimit], default: int = DEFAULT_BODY_LIMIT) -> None:
        self.app = app
        self.rules = [(re.compile(r.pattern), r.max_bytes) for r in rules]
        self.default = default

    def limit_for(self, path: str) -> int:
        return next((limit for pattern, limit in self.rules if pattern.match(path)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _reply(send, 400, "Content-Length phải là số byte.")
                return
            if int(declared) > limit:
                await _reply(send, 413, f"Dữ liệu gửi lên lớn hơn {limit} byte, giới hạn của địa chỉ này.")
                return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except* _TooLarge:  # a group when it crossed a task group of an inner middleware
            if not started:
                await _reply(send, 413, f"Dữ liệu gửi lên lớn hơn {limit} byte, giới hạn của địa chỉ này.")


class TokenBuckets:
    """Token buckets by key, at most `max_keys` of them (the least recently used is forgotten first)."""

    def __init__(self, per_second: int, burst: int, max_keys: int = 10_000) -> None:
        self.rate = per_second
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str, now: float | None = None) -> float:
        """0 when the request may go now; otherwise the seconds to wait for a token."""
        now = _clock() if now is None else now
        tokens, at = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
        self._buckets[key] = (tokens - 1 if wait == 0 else tokens, now)
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, rules: list[RateLimit]) -> None:
        self.app = app
        self.rules = [(r, re.compile(r.pattern), TokenBuckets(r.per_second, r.burst)) for r in rules]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for rule, pattern, buckets in self.rules:
                m = pattern.match(scope["path"])
                if m is None:
                    continue
                client = scope.get("client") or ("?", 0)
                key = m.group(rule.key_group) if rule.key_group else str(client[0])
                wait = buckets.take(key)
                if wait > 0:
                    retry = str(max(1, int(wait + 0.999))).encode()
                    said = f"Quá nhiều yêu cầu tới {rule.name}: hãy thử lại sau ít phút."
                    await _reply(send, 429, said, [(b"retry-after", retry)])
                    return
                break
        await self.app(scope, receive, send)

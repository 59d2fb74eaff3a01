"""The live stream the dashboard follows (Server-Sent Events)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from reporting.app import queries
from reporting.app.streams import Streams
from shared.auth import (
    Principal,
    Role,
    check_school_scope,
    current_principal,
)
from shared.errors import Forbidden
from shared.schemas import files
from shared.service import Runtime

router = APIRouter(prefix="/api")


@router.get(
    "/stream",
    tags=["dashboard"],
    summary="Server-Sent Events: a message whenever the figures change",
    response_class=StreamingResponse,
    responses=files("text/event-stream", description="one `data:` message with the projection version per change"),
)
async def stream(
    request: Request,
    rt: Runtime,
    principal: Annotated[Principal, Depends(current_principal)],
    school_id: str | None = None,
) -> StreamingResponse:
    # The token comes in the Authorization header, like everywhere else (the page reads the stream with
    # fetch): never in the URL, where proxies and access logs would keep it.
    if principal.role is Role.PARENT:
        raise Forbidden("Phụ huynh không dùng trang tổng hợp này.")
    if school_id:
        await check_school_scope(principal, school_id, request.app.state.district_of)
    streams: Streams = request.app.state.streams
    release = streams.take(principal.jti or principal.subject)  # refused here (429) past the bounds

    async def events() -> AsyncIterator[bytes]:
        last, idle = None, 0
        try:
            while not await request.is_disconnected() and not rt.stopping.is_set():
                # A stream lives no longer than its token: it ends at expiry and at revocation.
                if time.time() >= principal.expires_at:
                    yield b"event: expired\ndata: sign in again\n\n"
                    return
                if await request.app.state.revocations.is_revoked(rt.db(), principal.jti):
                    yield b"event: revoked\ndata: this access was withdrawn\n\n"
                    return
                version = await queries.projection_version(rt.db())
                if version != last:
                    last, idle = version, 0
                    yield f"event: changed\ndata: {version}\n\n".encode()
                else:
                    idle += 1
                    if idle % 15 == 0:
                        yield b": keep-alive\n\n"
                with contextlib.suppress(TimeoutError):  # a second, or less when the service stops
                    await asyncio.wait_for(rt.stopping.wait(), timeout=1.0)
            if rt.stopping.is_set():  # the page reconnects (to another instance)
                yield b"event: closing\ndata: the service is stopping\n\n"
        finally:
            release()

    body = events()
    weakref.finalize(body, release)  # a stream whose client left before it started is released too
    return StreamingResponse(
        body, media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )

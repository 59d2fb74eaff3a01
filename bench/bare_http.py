"""The HTTP floor of the intake bench: the same server (uvicorn, httptools, uvloop) with an app that reads
the request and answers at once. What this machine's HTTP stack accepts from the bench's load generator
when a webhook costs nothing else."""

from __future__ import annotations

from starlette.types import Receive, Scope, Send

ANSWER = b'{"success":true}'


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": ANSWER})

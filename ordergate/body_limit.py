"""Request bodies are bounded before they are read: `BodyLimit` answers 413 at once when
`Content-Length` is over the limit, and otherwise reads the body itself, a chunk at a time, and
answers 413 as soon as the bytes received pass it. What it hands on is that body, whole and
at most `max_bytes` long, so no endpoint (GraphQL, webhooks, the sandboxes) holds more than
that for any request, however the sender frames it."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

GRAPHQL_PATH = "/graphql"


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                await _refuse(scope, send, 400, "BAD_REQUEST", "Content-Length is not a number")
                return
            if length > self.max_bytes:
                await self._too_large(scope, send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left before it finished sending
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()  # after the body: the disconnect, when it comes
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        await _refuse(
            scope, send, 413, "REQUEST_TOO_LARGE", f"the request body is larger than {self.max_bytes} bytes"
        )


async def _refuse(scope: Scope, send: Send, status: int, code: str, message: str) -> None:
    """In GraphQL's error shape on /graphql, in the webhooks' shape elsewhere."""
    if scope.get("path", "").startswith(GRAPHQL_PATH):
        payload: object = {"errors": [{"message": message, "extensions": {"code": code}}]}
    else:
        payload = {"error": {"code": code, "message": message}}
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

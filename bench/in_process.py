"""An app served in the bench's own process: started as `ordergate serve` starts a worker's (its
lifespan, the collector tuned) and called through httpx's ASGI transport, without a network, so
the process's CPU time is the server's work and the client's alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette

from ordergate import runtime


@asynccontextmanager
async def served_in_process(app: Starlette, token: str) -> AsyncIterator[httpx.AsyncClient]:
    """`app` running, and a client that calls it with `token` as its bearer."""
    runtime.tune_gc_for_serving()  # as each worker of `ordergate serve` does once its app is built
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://ordergate.bench",
            headers={"Authorization": f"Bearer {token}"},
        ) as client,
    ):
        yield client

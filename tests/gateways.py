"""The gateways a walk (`tests/simulation.py`) talks to: one, or several replicas of it on the one
database and one Redis, as a deployment runs them, each request sent to one of them."""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette

from ordergate import bootstrap
from ordergate.app import create_app
from ordergate.bootstrap import Sandboxes
from ordergate.broker.redis import RedisBroker
from ordergate.settings import Settings
from ordergate.store.unit_of_work import Store
from ordergate.usecases.services import Services

BASE_URL = "http://ordergate.test"


class Alternating(httpx.AsyncBaseTransport):
    """Each request to one of the apps, drawn from a generator of its own: a walk's own draws are
    those of a walk with one gateway."""

    def __init__(self, apps: list[Starlette], seed: int) -> None:
        self.transports = [httpx.ASGITransport(app=app) for app in apps]
        self.rng = random.Random(seed)
        self.sent = [0] * len(apps)  # requests each app was sent

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        chosen = self.rng.randrange(len(self.transports))
        self.sent[chosen] += 1
        return await self.transports[chosen].handle_async_request(request)


@dataclass(frozen=True)
class Gateways:
    client: httpx.AsyncClient  # the walk's: each request to one of the gateways
    services: Services  # the first's: the walk relays, imports and reads the store through it
    others: tuple[Services, ...] = ()  # the other replicas'
    each: tuple[httpx.AsyncClient, ...] = ()  # with replicas, a client of each, the first's first
    sent: list[int] | None = None  # with replicas, the walk's requests each was sent, as they go


@contextlib.asynccontextmanager
async def gateways(
    settings: Settings,
    url: str,
    connect_args: dict[str, Any],
    sandboxes: Sandboxes,
    count: int = 1,
    seed: int = 0,
) -> AsyncIterator[Gateways]:
    """`count` gateways, each with services of its own (views, caches, pools) on the database at
    `url`, and the same vendors' sandboxes. The first is served as `ordergate serve` serves it
    (its lifespan: the sandboxes deliver their webhooks to it); the others start what their
    lifespan would start but that delivery, their broker. Several need `settings.redis_url`: a
    change committed on one reaches the others' views through it."""
    if count > 1 and not settings.redis_url:
        raise ValueError("replicas share changes through Redis: set redis_url")
    async with contextlib.AsyncExitStack() as stack:
        first, *others = [
            await stack.enter_async_context(
                bootstrap.opened(settings, Store(url, connect_args=connect_args), sandboxes)
            )
            for _ in range(count)
        ]
        apps = [create_app(settings, services, sandboxes) for services in (first, *others)]
        await stack.enter_async_context(apps[0].router.lifespan_context(apps[0]))
        for services in others:
            await services.broker.start()
            stack.push_async_callback(services.broker.stop)
            assert isinstance(services.broker, RedisBroker)
            await services.broker.wait_subscribed()

        def client(transport: httpx.AsyncBaseTransport) -> httpx.AsyncClient:
            return httpx.AsyncClient(transport=transport, base_url=BASE_URL)

        if not others:
            yield Gateways(await stack.enter_async_context(client(httpx.ASGITransport(app=apps[0]))), first)
            return
        each = [await stack.enter_async_context(client(httpx.ASGITransport(app=app))) for app in apps]
        alternating = Alternating(apps, seed)
        walks = await stack.enter_async_context(client(alternating))
        yield Gateways(walks, first, tuple(others), tuple(each), alternating.sent)

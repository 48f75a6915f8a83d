"""Every worker a gateway's settings ask for, started together and stopped together."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from ordergate.settings import Settings
from ordergate.usecases.services import Services
from ordergate.workers.dispatch import EMAILS, WEBHOOKS
from ordergate.workers.handlers import outbox_handlers
from ordergate.workers.loops import (
    allocate_backorders_forever,
    dispatch_forever,
    push_availability_forever,
    sync_storefront_forever,
)
from ordergate.workers.relay import relay_forever


@asynccontextmanager
async def running(services: Services, settings: Settings) -> AsyncIterator[None]:
    work: dict[str, Coroutine[Any, Any, None]] = {}
    if settings.outbox_relay:
        work["ordergate-outbox-relay"] = relay_forever(services, outbox_handlers(services))
        work["ordergate-webhook-dispatch"] = dispatch_forever(services, WEBHOOKS)
    if settings.outbox_relay and services.mailer is not None:
        work["ordergate-email-dispatch"] = dispatch_forever(services, EMAILS)
    if settings.outbox_relay and settings.backorder_seconds > 0:
        work["ordergate-backorders"] = allocate_backorders_forever(services, settings.backorder_seconds)
    if services.storefront is not None and settings.storefront_sync_seconds > 0:
        work["ordergate-storefront-sync"] = sync_storefront_forever(
            services, settings.storefront_sync_seconds
        )
    if services.storefront is not None and settings.storefront_availability_seconds > 0:
        work["ordergate-storefront-availability"] = push_availability_forever(
            services, settings.storefront_availability_seconds
        )
    tasks = [asyncio.create_task(coroutine, name=name) for name, coroutine in work.items()]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

"""Roles one replica does for all (`Broker.lead`): a replica's token for a role, and whether it
leads the role now, kept while it works."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ordergate.usecases.services import Services
from ordergate.workers.relay import stop_if_cancelled

log = logging.getLogger("ordergate.workers")


@asynccontextmanager
async def role_token(services: Services, role: str) -> AsyncIterator[str]:
    """This replica's token for a role one replica does for all (`Broker.lead`), given up as
    the loop that holds it stops, so that another takes it at its next round rather than after
    the hold runs out."""
    token = uuid.uuid4().hex
    try:
        yield token
    finally:
        await services.broker.step_down(role, token)


@asynccontextmanager
async def leading(services: Services, role: str, token: str, hold: float) -> AsyncIterator[bool]:
    """Whether this replica (`token`) leads `role` for the next `hold` seconds (taken or renewed);
    when it does, the role is kept while the body runs (`_kept`)."""
    leads = await services.broker.lead(role, token, hold)
    stop_if_cancelled()  # redis-py can swallow a cancellation that lands mid-command
    if not leads:
        yield False
        return
    async with _kept(services, role, token, hold):
        yield True


@asynccontextmanager
async def _kept(services: Services, role: str, token: str, hold: float) -> AsyncIterator[None]:
    """The role (led by `token`) renewed every third of its hold while the body runs, so that a
    chore that outlasts its hold (a backfill of a large storefront; the ERP's stock of many
    backordered SKUs at 60 requests a minute) is not taken up by another replica midway and done
    twice, out of the same quota. A replica that dies stops renewing: another takes the role once
    the hold runs out."""

    async def renew() -> None:
        while True:
            await asyncio.sleep(hold / 3)
            if not await services.broker.lead(role, token, hold):
                log.warning("%s was taken up by another replica while this one did it", role)
                return
            stop_if_cancelled()  # redis-py can swallow a cancellation that lands mid-command

    renewing = asyncio.create_task(renew(), name=f"renew {role}")
    try:
        yield
    finally:
        renewing.cancel()
        # waited for without swallowing a CancelledError: one meant for the holder (its loop
        # stopped as the body ended) must still stop it, or the loop runs on past its stop
        await asyncio.wait([renewing])

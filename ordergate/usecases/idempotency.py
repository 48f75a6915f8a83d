"""Idempotency for any keyed mutation: the first result is kept and a repeat gets it back.

A request claims its key before it changes anything. One that only writes to the store claims
it in the transaction that makes the change (`claim`). One that calls a provider first (a card
authorised before the order is taken) claims it in a short transaction of its own
(`claim_first`), so that a repeat is answered, and a reuse refused, before the card is touched.

Until the request completes the claim with its result, in the transaction that writes the
result, the key is pending: a repeat waits for the result a moment, then is told
IDEMPOTENCY_KEY_IN_USE. A request that fails gives its key up (failures are not kept, so a
corrected retry may run); one that crashed leaves it held until its lease runs out. Each
attempt's calls to providers carry keys of its own (`Claim.provider_key`): the provider never
hands a retry what it did for an earlier, failed attempt (an authorisation since voided)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from ordergate.models.errors import DomainError, IdempotencyKeyInUse, IdempotencyKeyReused
from ordergate.models.idempotency import IdempotencyRecord, fingerprint, provider_key
from ordergate.models.identity import Principal
from ordergate.store.idempotency import KeyTaken
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases.services import Services

KEY_FIELD = ("idempotency_key",)
FIRST_PAUSE = 0.01  # seconds between looks at a pending key, doubling up to LONGEST_PAUSE
LONGEST_PAUSE = 0.2

Prepare = Callable[[UnitOfWork], Awaitable[int]]
"""Work to do in a claim's own transaction once the key is claimed (an order's number)."""
Also = Callable[[UnitOfWork], Awaitable[None]]
"""What to keep of a failure in the transaction that gives its key up (a stock-out's count)."""


@dataclass
class Claim:
    """A request's hold on its key (`record`, to complete with the result), or the result the
    key's first request made (`result_id`, for a repeat); neither for a request without a key."""

    record: IdempotencyRecord | None = None
    result_id: str | None = None
    field: tuple[str, ...] = KEY_FIELD
    prepared: int | None = None  # what `claim_first`'s `prepare` gave, in the claim's transaction

    def provider_key(self, purpose: str) -> str:
        """The idempotency key for this attempt's call to a provider (`purpose`: "auth")."""
        assert self.record is not None, "a request without a claimed key has no attempt"
        return provider_key(purpose, self.record)

    async def complete(self, uow: UnitOfWork, result_id: str) -> None:
        """Keep `result_id` as the key's result, in the transaction that wrote it. Refused when
        the claim is no longer this attempt's (its lease ran out and another attempt took it)."""
        if self.record is None:
            return
        if not await uow.idempotency.complete(self.record, result_id):
            raise IdempotencyKeyInUse(
                "another request took this idempotencyKey over: send it again for its result",
                field=self.field,
            )

    async def release(self, services: Services, also: Also | None = None) -> None:
        """The request failed and kept nothing: the key is free again (unless another attempt
        has taken it meanwhile), in one statement, with what `also` keeps of the failure in the
        same transaction. Released once: a second call does nothing."""
        if self.record is None:
            return
        async with services.store.write() as uow:
            await uow.idempotency.release_if_pending(self.record)
            if also is not None:
                await also(uow)
        self.record = None


def scope_of(principal: Principal) -> str:
    return f"{principal.role.value}:{principal.subject}"


async def claim(
    services: Services,
    uow: UnitOfWork,
    principal: Principal,
    operation: str,
    key: str,
    request: Any,
    field: tuple[str, ...] = KEY_FIELD,
) -> Claim:
    """Claim `key` in this transaction, first in it: a concurrent repeat waits on the key (its
    row, or SQLite's one writer) and then replays. IDEMPOTENCY_KEY_REUSED for another request
    under a key; IDEMPOTENCY_KEY_IN_USE while the same request holds it in another transaction."""
    payload = (
        dataclasses.asdict(request)
        if dataclasses.is_dataclass(request) and not isinstance(request, type)
        else request
    )
    request_hash = fingerprint({"operation": operation, "request": payload})
    scope = scope_of(principal)
    now = services.clock()
    lease = now + services.policy.idempotency_lease
    record = IdempotencyRecord(
        scope=scope,
        key=key,
        operation=operation,
        request_hash=request_hash,
        created_at=now,
        leased_until=lease,
    )
    try:
        await uow.idempotency.claim(record)
    except KeyTaken:
        found = await uow.idempotency.lock(scope, key)
    else:
        return Claim(record, field=field)
    if found is None:  # its first request failed and gave it up just now
        raise IdempotencyKeyInUse(
            "this idempotencyKey was just given up: send the request again", field=field
        )
    if found.result_id is None and not found.held(now):  # its holder is gone, having kept nothing
        found.take(operation, request_hash, lease)
        uow.save(found)
        return Claim(found, field=field)
    if found.request_hash != request_hash:
        raise IdempotencyKeyReused("this idempotencyKey was used for a different request", field=field)
    if found.result_id is None:
        raise IdempotencyKeyInUse("this idempotencyKey's first request is still at work", field=field)
    return Claim(result_id=found.result_id, field=field)


@asynccontextmanager
async def claim_first(
    services: Services,
    principal: Principal,
    operation: str,
    key: str | None,
    request: Any,
    field: tuple[str, ...] = KEY_FIELD,
    prepare: Prepare | None = None,
) -> AsyncIterator[Claim]:
    """Claim `key` in a transaction of its own, for work that calls a provider before it writes
    its result: run the work in the block and complete the claim where the result is written.
    A repeat of a done request gets its `result_id`; one of a pending request waits for it up
    to `Policy.idempotency_wait` seconds. A DomainError out of the block gives the key up.
    `prepare` runs in the claim's transaction when the key is this request's to work under (not
    for a repeat, nor without a key): its value is the claim's `prepared`."""
    once = (
        Claim(field=field)
        if key is None
        else await _claim_waiting(services, principal, operation, key, request, field, prepare)
    )
    try:
        yield once
    except DomainError:
        await once.release(services)
        raise


async def _claim_waiting(
    services: Services,
    principal: Principal,
    operation: str,
    key: str,
    request: Any,
    field: tuple[str, ...],
    prepare: Prepare | None,
) -> Claim:
    clock = asyncio.get_running_loop().time
    deadline = clock() + services.policy.idempotency_wait
    pause = FIRST_PAUSE
    while True:
        try:
            async with services.store.write() as uow:
                once = await claim(services, uow, principal, operation, key, request, field)
                if prepare is not None and once.record is not None:
                    once.prepared = await prepare(uow)
                return once
        except IdempotencyKeyInUse:
            if clock() + pause > deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(2 * pause, LONGEST_PAUSE)

"""The relay: does the durable work in the outbox table (pushes to upstreams, webhook
deliveries, storefront deliveries taken in) until each task succeeds.

A task is leased in a short transaction (on PostgreSQL another replica's relay skips the rows
this one holds), done outside any transaction by the handler registered for its kind, and
settled in another: done with the handler's result, or retried later with exponential
backoff. Nothing is dropped: a task whose handler fails in any way waits and is tried again.

Work runs in one lane per upstream (`models.outbox.LANES`): each lane leases and does only its
own kinds, one task at a time, so an ERP answering 429 for a minute, or not at all, holds up
the ERP's lane and nothing else; payments, carriers and customers' webhooks go on. A lane runs
when a commit queues work in it, and when one watch over every lane (`watch_due`) finds work of
its kinds due: at start, and every few seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta

from ordergate import metrics, tracing
from ordergate.models.outbox import OutboxTask, Permanent, lane_of, next_attempt
from ordergate.usecases.services import Services
from ordergate.usecases.settled import DoneWith

log = logging.getLogger("ordergate.relay")
LEASE = timedelta(minutes=2)
BATCH = 20  # tasks leased at a time by a lane

Handler = Callable[[Services, OutboxTask], Awaitable[str | DoneWith | None]]
"""Does one task; returns a short result to keep (with writes to make as it is settled done:
`DoneWith`), or raises to be retried later."""


def lanes(handlers: Mapping[str, Handler]) -> dict[str, dict[str, Handler]]:
    """The handlers, by the lane their kind runs in."""
    split: dict[str, dict[str, Handler]] = {}
    for kind, handler in handlers.items():
        split.setdefault(lane_of(kind), {})[kind] = handler
    return split


async def relay_forever(
    services: Services, handlers: Mapping[str, Handler], idle_seconds: float = 5.0
) -> None:
    """Every lane, and one watch over them all, for as long as the gateway runs."""
    async with asyncio.TaskGroup() as group:
        for lane, own in sorted(lanes(handlers).items()):
            group.create_task(relay_lane(services, lane, own), name=f"ordergate-relay-{lane}")
        group.create_task(watch_due(services, sorted(handlers), idle_seconds), name="ordergate-relay-watch")


async def relay_lane(services: Services, lane: str, handlers: Mapping[str, Handler]) -> None:
    """One lane's work, each time it is woken: after a commit that queued some here, or by the
    watch (`watch_due`), and again at once while it leases full batches."""
    ready = services.wakeups.lane(lane)
    while True:
        stop_if_cancelled()
        await ready.wait()
        ready.clear()  # before the pass: a commit during it wakes the lane again
        try:
            attempted = await relay_once(services, handlers)
        except Exception:  # a supervisor: log, and try again when next woken
            log.exception("the %s lane of the outbox relay failed; retrying", lane)
            attempted = 0
        if attempted >= BATCH:  # there may be more due now
            ready.set()


async def watch_due(services: Services, kinds: Sequence[str], idle_seconds: float = 5.0) -> None:
    """Wakes the lanes that have work due, at start (work an earlier run left) and every
    `idle_seconds` after (retries come due, work another replica queued or left, a wake-up
    lost): one read for every lane. Each lane used to look for itself every few seconds, in a
    write transaction of its own: six of them per interval on an idle gateway, and six
    connections opened at once as it started."""
    while True:
        stop_if_cancelled()
        try:
            async with services.store.read() as uow:
                due = await uow.outbox.due_kinds(services.clock(), kinds)
            services.wakeups.wake(due)
        except Exception:  # a supervisor: log, and look again next time
            log.exception("the outbox relay could not read what is due; retrying")
        await asyncio.sleep(idle_seconds)


def stop_if_cancelled() -> None:
    """A loop that was cancelled stops, even where a library swallowed the CancelledError (on
    Python 3.11 `asyncio.wait_for` can, as a result arrives): left running, its next
    `asyncio.timeout` would turn the pending cancellation into a TimeoutError, and on forever."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def relay_once(services: Services, handlers: Mapping[str, Handler], limit: int = BATCH) -> int:
    """Do what is due among the kinds that have a handler; returns how many were attempted."""
    if not handlers:
        return 0
    now = services.clock()
    async with services.store.write() as uow:
        tasks = await uow.outbox.due(now, limit, kinds=sorted(handlers))
        for task in tasks:
            task.available_at = now + LEASE
            task.leases += 1
            uow.save(task)
    for task in tasks:
        await _do(services, handlers[task.kind], task)
    return len(tasks)


async def _do(services: Services, handler: Handler, task: OutboxTask) -> None:
    """One task, in a span of its own (kind, attempt, outcome), then settled."""
    attempt = task.attempts + 1
    with tracing.span(
        f"outbox {task.kind}",
        attributes={"ordergate.outbox.kind": task.kind, "ordergate.outbox.attempt": attempt},
    ) as span:
        try:
            result = await handler(services, task)
        except Permanent as reason:
            span.set_attribute("ordergate.outbox.outcome", "gave_up")
            await settle(services, task.id, result=f"gave up: {reason}"[:128])
            metrics.OUTBOX_GAVE_UP.labels(lane_of(task.kind)).inc()
            log.warning("%s %s cannot succeed: %s", task.kind, task.key, reason)
        except Exception as error:
            span.set_attribute("ordergate.outbox.outcome", "retry")
            tracing.record_failure(span, error)
            await settle(services, task.id, error=f"{type(error).__name__}: {error}"[:500])
            log.warning("%s %s failed (attempt %d): %s", task.kind, task.key, attempt, error)
        else:
            span.set_attribute("ordergate.outbox.outcome", "done")
            await settle(services, task.id, result=result)


async def settle(
    services: Services, task_id: str, *, result: str | DoneWith | None = None, error: str | None = None
) -> None:
    now = services.clock()
    async with services.store.write() as uow:
        if error is None:
            if isinstance(result, DoneWith):
                await result.write(uow)
                result = result.result
            await uow.outbox.done(task_id, now, (result or "done")[:128])
            return
        task = await uow.outbox.by_id(task_id)
        if task is None:
            return
        task.attempts += 1
        task.available_at, task.last_error = next_attempt(task.attempts, now), error
        uow.save(task)

"""Labels bought and not needed, voided at the carrier for their refund.

A label is voided only when no parcel travelled on it: the carrier's tracking is asked first,
and a label it has scanned is left as it is. The carrier has the last word: one it will not
void (past its void period, say) stands, and the caller keeps its reason. A carrier that does
not answer raises, and the relay tries again later.

Two kinds of work void labels: a return's label when its parcel came back without it
(`usecases.returns`), and a shipping label bought for work that could not take it
(`usecases.shipping`: the work was cancelled while its label was being bought, or a concurrent
repeat recorded another label first), promised here as a LABEL_VOID task.
"""

from __future__ import annotations

import logging
from datetime import datetime

from ordergate.connectors.carriers.base import Carrier, Label
from ordergate.models.outbox import LABEL_VOID, OutboxTask, Permanent
from ordergate.models.shipment import TrackingStatus, label_used
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases.services import Services

log = logging.getLogger("ordergate.labels")


async def void_unused(
    carrier: Carrier, carrier_label_id: str | None, tracking_number: str | None
) -> str | None:
    """None once the carrier voided the label; else why it stands, for the task's result."""
    if not carrier_label_id:
        return "kept: the carrier gave no id to void it by"
    tracking = await tracked_as(carrier, tracking_number)
    if label_used(tracking):
        return f"kept: the carrier tracks it as {tracking}"[:128]
    answer = await carrier.void_label(carrier_label_id)
    if not answer.voided:
        return f"kept: {carrier.name} would not void it: {answer.reason}"[:128]
    return None


async def tracked_as(carrier: Carrier, tracking_number: str | None) -> TrackingStatus | None:
    """What the carrier's tracking says of a label now (None: nothing yet, or no number)."""
    updates = await carrier.track([tracking_number]) if tracking_number else []
    return next((update.status for update in updates if update.tracking_number == tracking_number), None)


def promise_void(uow: UnitOfWork, label: Label, now: datetime, *, why: str) -> None:
    """A shipping label no work took, voided by the relay (`void_label`)."""
    uow.outbox.add(
        OutboxTask(
            kind=LABEL_VOID,
            key=f"{label.carrier}:{label.tracking_number}",
            payload={
                "carrier": label.carrier,
                "label_id": label.carrier_label_id,
                "tracking_number": label.tracking_number,
                "why": why[:200],
            },
            available_at=now,
            created_at=now,
        )
    )


async def promise_void_now(services: Services, label: Label, *, why: str) -> None:
    """`promise_void` in a transaction of its own (the work's own was refused). Never raises:
    the caller is raising the refusal already; a void that cannot be promised is logged with
    what an operator needs to void it by hand."""
    try:
        async with services.store.write() as uow:
            promise_void(uow, label, services.clock(), why=why)
    except Exception:
        log.exception(
            "a %s label no work took could not be queued for its void: tracking %s, label id %s",
            label.carrier,
            label.tracking_number,
            label.carrier_label_id,
        )


async def void_label(services: Services, task: OutboxTask) -> str:
    """The relay's handler for LABEL_VOID."""
    name = str(task.payload.get("carrier", ""))
    carrier = services.carriers.get(name)
    if carrier is None:
        raise Permanent(f"the carrier {name!r} is not configured")
    number = str(task.payload.get("tracking_number", "")) or None
    kept = await void_unused(carrier, str(task.payload.get("label_id", "")) or None, number)
    if kept is not None:
        log.warning("a label no work took was not voided: %s %s: %s", name, number, kept)
        return kept
    return f"voided {number}"[:128]

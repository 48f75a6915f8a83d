"""Payments: authorised before an order is taken, captured as its units leave (their share of
tax and shipping with them), voided when it is cancelled before anything was captured, and
refunded for what comes back. Captures, voids and refunds are durable work in the outbox, made
with idempotency keys, so a retry never moves money twice; the ledger records what the
provider did, and the order's payment status is derived from it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from ordergate.connectors.errors import UpstreamError
from ordergate.connectors.payments.base import (
    Authorization,
    PaymentDeclined,
    PaymentProvider,
    PaymentRejected,
)
from ordergate.models.commands import ExternalSale
from ordergate.models.errors import Problem, UpstreamFailed, ValidationFailed
from ordergate.models.events import EventType
from ordergate.models.order import Order, OrderLine
from ordergate.models.outbox import PAYMENT_CAPTURE, PAYMENT_REFUND, PAYMENT_VOID, OutboxTask, Permanent
from ordergate.models.payments import (
    PaymentKind,
    PaymentTransaction,
    payment_status,
    share,
    taken_elsewhere,
    totals,
)
from ordergate.models.scope import OrderScope
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases import loyalty
from ordergate.usecases.services import Services

EVERYTHING = OrderScope(everything=True)
SYSTEM = "payments"
log = logging.getLogger("ordergate.payments")
AFTER_CAPTURES = timedelta(microseconds=1)  # the relay takes due tasks in order of availability
EVENT_OF_KIND = {
    PaymentKind.CAPTURE: EventType.PAYMENT_CAPTURED,
    PaymentKind.REFUND: EventType.PAYMENT_REFUNDED,
    PaymentKind.VOID: EventType.PAYMENT_VOIDED,
}


async def authorize(
    services: Services,
    *,
    provider_name: str,
    token: str,
    amount: Decimal,
    requested: Decimal | None,
    idempotency_key: str,
) -> tuple[str, Authorization]:
    """The card authorised for `amount` under the provider key `idempotency_key` (the one
    returned), or a userError: declined, refused, or an amount that is not the order's."""
    provider = services.payments.get(provider_name)
    if provider is None:
        raise ValidationFailed(
            [
                Problem(
                    "UNKNOWN_PAYMENT_PROVIDER",
                    f"no payment provider {provider_name!r}",
                    ("payment", "provider"),
                )
            ]
        )
    if requested is not None and requested != amount:
        raise ValidationFailed(
            [
                Problem(
                    "PAYMENT_AMOUNT_MISMATCH",
                    f"the order comes to {amount}, not {requested}",
                    ("payment", "amount"),
                )
            ]
        )
    try:
        authorization = await provider.authorize(
            order_reference=idempotency_key,
            amount=amount,
            currency=services.policy.currency,
            token=token,
            idempotency_key=idempotency_key,
        )
    except PaymentDeclined as declined:
        raise ValidationFailed(
            [
                Problem(
                    "PAYMENT_DECLINED",
                    f"the card was declined ({declined.decline_code})",
                    ("payment", "token"),
                )
            ]
        ) from None
    except PaymentRejected as rejected:
        raise ValidationFailed([Problem("PAYMENT_REJECTED", rejected.message, ("payment",))]) from None
    except UpstreamError as error:
        raise UpstreamFailed(
            provider_name, f"could not authorise the payment: {error.message}", field=("payment",)
        ) from None
    return idempotency_key, authorization


def record_authorization(
    uow: UnitOfWork, order: Order, provider_name: str, key: str, authorization: Authorization, now: datetime
) -> PaymentTransaction:
    entry = PaymentTransaction(
        order_id=order.id,
        kind=PaymentKind.AUTHORIZATION,
        provider=provider_name,
        reference=authorization.reference,
        amount=authorization.amount,
        currency=authorization.currency,
        key=key,
        created_at=now,
    )
    uow.save(entry)
    order.payment_status = payment_status([entry], order.total)
    uow.save(order)
    return entry


async def increment(services: Services, order_id: str, new_total: Decimal, key: str) -> Authorization:
    """Raise the order's authorisation to its new total (an edit made it larger), or a userError:
    declined, refused, or the provider unreachable; nothing is recorded here."""
    async with services.store.read() as uow:
        authorization = await _authorization(uow, order_id)
    if authorization is None:
        raise ValidationFailed([Problem("NO_PAYMENT", "the order has no authorised payment", ())])
    provider = services.payments.get(authorization.provider)
    if provider is None:
        raise UpstreamFailed(authorization.provider, "the order's payment provider is not configured")
    try:
        return await provider.increment(authorization.reference, new_total, idempotency_key=key)
    except PaymentDeclined as declined:
        raise ValidationFailed(
            [
                Problem(
                    "PAYMENT_DECLINED",
                    f"the card was declined for the new total ({declined.decline_code})",
                    (),
                )
            ]
        ) from None
    except PaymentRejected as rejected:
        raise ValidationFailed([Problem("PAYMENT_REJECTED", rejected.message, ())]) from None
    except UpstreamError as error:
        raise UpstreamFailed(
            authorization.provider, f"could not authorise the new total: {error.message}"
        ) from None


async def record_increment(
    uow: UnitOfWork, order: Order, raised: Authorization, key: str, now: datetime
) -> None:
    """The ledger's authorisation grows by what the provider added."""
    ledger = (await uow.payments.by_order_ids([order.id])).get(order.id, [])
    authorised = totals(ledger).authorised
    first = next(entry for entry in ledger if entry.kind is PaymentKind.AUTHORIZATION)
    if raised.amount > authorised:
        uow.save(_entry_of(first, PaymentKind.AUTHORIZATION, raised.amount - authorised, key, now))
        await uow.events.append(
            order,
            EventType.PAYMENT_AUTHORIZED,
            actor=SYSTEM,
            occurred_at=now,
            data={"amount": str(raised.amount - authorised)},
        )


async def keep_increment(
    services: Services, order_id: str, raised: Authorization, key: str, now: datetime
) -> None:
    """An increment the provider made for an edit that was then not taken (the order moved on
    under its lock, say), recorded on its own: the ledger holds what the card holds, so a later
    edit within it asks the card for nothing, and what is never captured is released in full.
    Never raises: the edit's refusal is on its way to the caller; a failure here is logged with
    what reconciling the ledger by hand needs."""
    try:
        async with services.store.write() as uow:
            order = await uow.orders.lock(order_id, EVERYTHING)
            if order is None:
                return
            await record_increment(uow, order, raised, key, now)
            await rederive_status(uow, order)
    except Exception:
        log.exception(
            "order %s: the card was raised to %s (%s) for an edit not taken, and the ledger could not say so",
            order_id,
            raised.amount,
            raised.reference,
        )


async def rederive_status(uow: UnitOfWork, order: Order) -> list[PaymentTransaction]:
    """The order's payment status from its ledger and its total as they are now in this
    transaction (an edit or a cancellation changed the total, or added to the ledger); the
    ledger read for it."""
    await uow.flush()
    ledger = (await uow.payments.by_order_ids([order.id])).get(order.id, [])
    order.payment_status = payment_status(ledger, order.total)
    uow.save(order)
    return ledger


async def void_quietly(
    services: Services, provider_name: str, authorization: Authorization, key: str
) -> None:
    """The order was not taken after all: release the hold on the card (best effort)."""
    provider = services.payments.get(provider_name)
    if provider is None:
        return
    # An uncaptured authorisation lapses by itself at the provider if this does not get through.
    with contextlib.suppress(UpstreamError):
        await provider.void(authorization.reference, idempotency_key=f"void:{key}"[:160])


async def _authorization(uow: UnitOfWork, order_id: str) -> PaymentTransaction | None:
    """The order's authorisation with a provider of ours; None without one, or when a
    storefront took the payment (its captures and refunds happen there)."""
    ledger = (await uow.payments.by_order_ids([order_id])).get(order_id, [])
    found = next((entry for entry in ledger if entry.kind is PaymentKind.AUTHORIZATION), None)
    return None if found is None or taken_elsewhere(found) else found


async def paid_elsewhere(uow: UnitOfWork, order_id: str) -> bool:
    """Whether a storefront took the order's payment (refunds for it are made there)."""
    ledger = (await uow.payments.by_order_ids([order_id])).get(order_id, [])
    return any(entry.kind is PaymentKind.AUTHORIZATION and taken_elsewhere(entry) for entry in ledger)


async def record_storefront_payment(
    uow: UnitOfWork, order: Order, sale: ExternalSale, now: datetime, points_per_unit: Decimal
) -> None:
    """What the storefront took from the shopper, as it reports it: the order's payment status
    then says so (PAID, AUTHORIZED) instead of PENDING, and what it captured earns the customer
    loyalty points as any capture does."""
    entries = [(PaymentKind.AUTHORIZATION, sale.authorised), (PaymentKind.CAPTURE, sale.captured)]
    ledger = [
        PaymentTransaction(
            order_id=order.id,
            kind=kind,
            provider=sale.provider,
            reference=sale.reference,
            amount=amount,
            currency=order.currency,
            key=f"{sale.provider}:{sale.reference}:{kind.value.lower()}"[:160],
            created_at=now,
        )
        for kind, amount in entries
        if amount > 0
    ]
    uow.save(*ledger)
    order.payment_status = payment_status(ledger, order.total)
    captured = next((entry for entry in ledger if entry.kind is PaymentKind.CAPTURE), None)
    if captured is not None:
        await loyalty.record_points(
            uow, order, PaymentKind.CAPTURE, ledger, captured.key, points_per_unit, now
        )


async def record_storefront_refunds(
    uow: UnitOfWork, order: Order, refunded: Decimal, *, actor: str, now: datetime, points_per_unit: Decimal
) -> Decimal:
    """What the storefront that took the order's payment says it has refunded of it, in all
    (`refunded`, its running total: a merchant refunds there, after a cancellation or a return
    here, or for reasons of their own), kept in the ledger: one REFUND for what is new since it
    last said, never past what it captured. The payment status follows (REFUNDED once all of it
    is back), the loyalty points it earned are taken back in proportion, and PAYMENT_REFUNDED
    tells whoever follows the order. What was recorded (0: nothing new). The caller holds the
    order's lock, so two notices of one refund record it once (and the entry's key, the running
    total, would refuse a second)."""
    ledger = (await uow.payments.by_order_ids([order.id])).get(order.id, [])
    theirs = [entry for entry in ledger if taken_elsewhere(entry)]
    taken = next((entry for entry in theirs if entry.kind is PaymentKind.AUTHORIZATION), None)
    if taken is None:
        return Decimal(0)
    money = totals(theirs)
    new = min(refunded, money.captured) - money.refunded
    if new <= 0:
        return Decimal(0)
    key = f"{taken.provider}:{taken.reference}:refunded:{money.refunded + new}"[:160]
    entry = _entry_of(taken, PaymentKind.REFUND, new, key, now)
    await _book(uow, order, entry, actor=actor, now=now, points_per_unit=points_per_unit)
    return new


async def _book(
    uow: UnitOfWork,
    order: Order,
    entry: PaymentTransaction,
    *,
    actor: str,
    now: datetime,
    points_per_unit: Decimal,
) -> None:
    """A capture, refund or void that was made (by a provider of ours, or reported by the
    storefront), into the (locked) order's ledger with what follows from it in the same
    transaction: the payment status from the ledger, the customer's loyalty points, and its
    event (PAYMENT_CAPTURED, PAYMENT_REFUNDED or PAYMENT_VOIDED)."""
    uow.save(entry)
    ledger = await rederive_status(uow, order)
    await loyalty.record_points(uow, order, entry.kind, ledger, entry.key, points_per_unit, now)
    order.updated_at = now
    await uow.events.append(
        order, EVENT_OF_KIND[entry.kind], actor=actor, occurred_at=now, data={"amount": str(entry.amount)}
    )


def _entry_of(
    first: PaymentTransaction, kind: PaymentKind, amount: Decimal, key: str, now: datetime
) -> PaymentTransaction:
    """A ledger entry of the payment `first` began: its order, provider, reference and currency."""
    return PaymentTransaction(
        order_id=first.order_id,
        kind=kind,
        provider=first.provider,
        reference=first.reference,
        amount=amount,
        currency=first.currency,
        key=key,
        created_at=now,
    )


def _task(order: Order, kind: str, suffix: str, amount: Decimal, now: datetime) -> OutboxTask:
    return OutboxTask(
        kind=kind,
        key=f"{order.id}:{kind}:{suffix}",
        payload={"order_id": order.id, "amount": str(amount)},
        available_at=now,
        created_at=now,
    )


async def promise_settlement(
    uow: UnitOfWork, order: Order, suffix: str, lines: Sequence[OrderLine], now: datetime
) -> None:
    """The card brought in line with the order as it now stands (called after units leave, and
    after an edit or a cancellation priced it again): the share of the order that has left is
    captured (all of it, once nothing is open), and once no unit is open any more what is
    authorised beyond that is released (`payment.void`, which waits for pending captures): the
    whole authorisation when nothing left at all."""
    if await _authorization(uow, order.id) is None:
        return
    fulfilled_value = sum((line.unit_price * line.quantity_fulfilled for line in lines), Decimal("0"))
    due = share(fulfilled_value, order.subtotal, order.total)
    earlier = await uow.outbox.with_key_prefixes([f"{order.id}:{PAYMENT_CAPTURE}:"])
    promised = sum((Decimal(str(task.payload["amount"])) for task in earlier), Decimal("0"))
    amount = due - promised
    if amount > 0:
        uow.outbox.add(_task(order, PAYMENT_CAPTURE, suffix, amount, now))
    if any(line.quantity - line.quantity_fulfilled - line.quantity_cancelled for line in lines):
        return
    ledger = (await uow.payments.by_order_ids([order.id])).get(order.id, [])
    money = totals(ledger)
    unused = money.authorised - money.released - due  # `due` is all the order will ever capture
    if unused > 0:
        release = _task(order, PAYMENT_VOID, "all", unused, now)
        release.available_at = now + AFTER_CAPTURES  # due after the captures promised with it
        await uow.outbox.add_once(release)


async def promise_refund(uow: UnitOfWork, order: Order, suffix: str, value: Decimal, now: datetime) -> bool:
    """Units came back: refund their share of the order (capped, when done, at what was captured).
    Whether a refund was promised (none without a payment, or for nothing of value)."""
    if await _authorization(uow, order.id) is None:
        return False
    amount = share(value, order.subtotal, order.total)
    if amount > 0:
        uow.outbox.add(_task(order, PAYMENT_REFUND, suffix, amount, now))
        return True
    return False


async def refundable(uow: UnitOfWork, order_id: str) -> Decimal:
    """What can still be refunded here: captured, less refunded, less refunds promised and not
    yet done (nothing, when a storefront took the payment)."""
    if await _authorization(uow, order_id) is None:
        return Decimal("0")
    ledger = (await uow.payments.by_order_ids([order_id])).get(order_id, [])
    money = totals(ledger)
    done = {entry.key for entry in ledger}
    promised = sum(
        (
            Decimal(str(task.payload["amount"]))
            for task in await uow.outbox.with_key_prefixes([f"{order_id}:{PAYMENT_REFUND}:"])
            if task.done_at is None and task.key not in done
        ),
        Decimal("0"),
    )
    return money.captured - money.refunded - promised


CORRECTIONS = ("edit-", "cancel-")  # suffixes of the refunds an edit or a cancellation promises


def correction_keys(order_id: str) -> tuple[str, ...]:
    """How the keys of an order's corrections (and the ledger entries they make) begin."""
    return tuple(f"{order_id}:{PAYMENT_REFUND}:{kind}" for kind in CORRECTIONS)


def promise_correction(uow: UnitOfWork, order: Order, suffix: str, amount: Decimal, now: datetime) -> None:
    """Give back what was charged beyond a total an edit or a cancellation lowered (`suffix`
    names the change: `edit-...` or `cancel-...`, what `corrected` counts)."""
    assert suffix.startswith(CORRECTIONS), suffix
    promise_refund_amount(uow, order, suffix, amount, now)


async def corrected(uow: UnitOfWork, order_id: str) -> Decimal:
    """What edits and cancellations gave back, or promised to (a refund given up on gave
    nothing): the part of what was captured that is no longer charged for."""
    tasks = await uow.outbox.with_key_prefixes(list(correction_keys(order_id)))
    return sum(
        (Decimal(str(t.payload["amount"])) for t in tasks if not (t.result or "").startswith("gave up")),
        Decimal(0),
    )


def promise_refund_amount(uow: UnitOfWork, order: Order, suffix: str, amount: Decimal, now: datetime) -> None:
    """Refund exactly `amount`, not a share of units: goodwill (the caller checked it against
    `refundable`), or a correction (`promise_correction`)."""
    uow.outbox.add(_task(order, PAYMENT_REFUND, suffix, amount, now))


class CapturesPending(Exception):
    """A release that must wait: the relay retries it later (never a reason to give up)."""


async def _captures_pending(services: Services, order_id: str, ledger: Sequence[PaymentTransaction]) -> bool:
    recorded = {entry.key for entry in ledger}
    async with services.store.read() as uow:
        tasks = await uow.outbox.with_key_prefixes([f"{order_id}:{PAYMENT_CAPTURE}:"])
    return any(task.key not in recorded and not (task.result or "").startswith("gave up") for task in tasks)


async def do_payment_task(services: Services, task: OutboxTask) -> str:
    """The relay's handler for captures, voids and refunds."""
    order_id = str(task.payload["order_id"])
    async with services.store.read() as uow:
        order = (await uow.orders.by_ids([order_id], EVERYTHING)).get(order_id)
        ledger = (await uow.payments.by_order_ids([order_id])).get(order_id, [])
        given_back = await corrected(uow, order_id) if task.kind == PAYMENT_CAPTURE else Decimal(0)
    authorization = next((e for e in ledger if e.kind is PaymentKind.AUTHORIZATION), None)
    if order is None or authorization is None:
        raise Permanent("no authorised payment for this order")
    provider: PaymentProvider | None = services.payments.get(authorization.provider)
    if provider is None:
        raise Permanent(f"payment provider {authorization.provider!r} is not configured")
    money = totals(ledger)
    if any(entry.key == task.key for entry in ledger):
        return "recorded already"
    wanted = Decimal(str(task.payload["amount"]))
    if task.kind == PAYMENT_CAPTURE:
        # never past the total as it stands now: a capture promised as a share of an earlier
        # total can be a cent more than what an edit or a cancellation since left to charge
        owed = order.total + given_back - money.captured
        kind, amount = PaymentKind.CAPTURE, min(wanted, money.capturable, owed)
        if amount <= 0:
            raise Permanent("nothing left to capture")
        await provider.capture(authorization.reference, amount, idempotency_key=task.key)
    elif task.kind == PAYMENT_REFUND:
        kind, amount = PaymentKind.REFUND, min(wanted, money.captured - money.refunded)
        if amount <= 0:
            raise Permanent("nothing captured to refund")
        await provider.refund(authorization.reference, amount, idempotency_key=task.key)
    else:
        kind, amount = PaymentKind.VOID, money.capturable
        if await _captures_pending(services, order_id, ledger):
            raise CapturesPending("captures of this order are still to be made: released after them")
        if amount <= 0:
            return "nothing left to release"
        # Cancelling the intent releases what is left uncaptured, after partial captures too.
        await provider.void(authorization.reference, idempotency_key=task.key)
    now = services.clock()
    async with services.store.write() as uow:
        locked = await uow.orders.lock(order_id, EVERYTHING)
        assert locked is not None
        entry = _entry_of(authorization, kind, amount, task.key, now)
        await _book(
            uow, locked, entry, actor=SYSTEM, now=now, points_per_unit=services.policy.loyalty_points_per_unit
        )
    return f"{kind.value.lower()} {amount}"

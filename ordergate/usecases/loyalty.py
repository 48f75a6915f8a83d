"""Loyalty points: written with the payment ledger entry that earns or reverses them, and read
by the customer they belong to or by staff who may look customers up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from ordergate.models.errors import Forbidden
from ordergate.models.identity import Permission, Principal
from ordergate.models.loyalty import LoyaltyEntry, LoyaltyReason, points_change
from ordergate.models.order import Order
from ordergate.models.pagination import Page, check_page, decode_time_cursor, encode_cursor
from ordergate.models.payments import PaymentKind, PaymentTransaction, totals
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases.services import Services

REASON_OF_KIND = {PaymentKind.CAPTURE: LoyaltyReason.CAPTURED, PaymentKind.REFUND: LoyaltyReason.REFUNDED}


async def record_points(
    uow: UnitOfWork,
    order: Order,
    kind: PaymentKind,
    ledger: Sequence[PaymentTransaction],
    key: str,
    points_per_unit: Decimal,
    now: datetime,
) -> LoyaltyEntry | None:
    """After a capture or refund is in `ledger`: bring the order's points to what it has netted.
    Call it with the order locked, in the transaction that writes the ledger entry `key`."""
    reason = REASON_OF_KIND.get(kind)
    if reason is None:
        return None
    money = totals(ledger)
    held = await uow.loyalty.held_by_order(order.id)
    points = points_change(reason, held, money.captured - money.refunded, points_per_unit)
    if points == 0:
        return None
    entry = LoyaltyEntry(
        customer_id=order.customer_id,
        order_id=order.id,
        points=points,
        reason=reason,
        key=key,
        created_at=now,
    )
    uow.loyalty.add(entry)
    return entry


def check_access(principal: Principal, email: str) -> None:
    """Customers see their own points; staff who may look customers up see anyone's."""
    if not (principal.can(Permission.READ_CUSTOMERS) or principal.owns_email(email)):
        raise Forbidden("this role may not read this customer's loyalty points")


def entry_cursor(entry: LoyaltyEntry) -> str:
    return encode_cursor(entry.created_at, entry.id)


async def entries(services: Services, customer_id: str, first: int, after: str | None) -> Page[LoyaltyEntry]:
    """A customer's points ledger, newest first (access checked with `check_access`)."""
    check_page(first, services.policy.page_size_cap)
    key = decode_time_cursor(after) if after else None
    async with services.store.read() as uow:
        rows, has_next = await uow.loyalty.page(customer_id, first, key)
        _, count = (await uow.loyalty.balances([customer_id])).get(customer_id, (0, 0))
    return Page(rows, has_next, count)

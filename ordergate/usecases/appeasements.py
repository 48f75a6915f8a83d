"""Goodwill appeasements: money given back without a return, by agents up to their limit and
admins beyond it. Each is recorded, told on the order's timeline and refunded through the
payments outbox, once per idempotency key."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ordergate.models.appeasements import Appeasement, check_limit
from ordergate.models.commands import IssueAppeasement, check_appeasement
from ordergate.models.errors import Forbidden, NotFound, Problem, ValidationFailed
from ordergate.models.events import EventType
from ordergate.models.identity import Permission, Principal
from ordergate.models.order import Order
from ordergate.models.scope import order_scope
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases import payments
from ordergate.usecases.idempotency import claim
from ordergate.usecases.services import Services


async def given_on(uow: UnitOfWork, order_id: str) -> Decimal:
    return sum(
        (a.amount for a in (await uow.appeasements.by_order_ids([order_id])).get(order_id, [])), Decimal(0)
    )


@dataclass(frozen=True)
class Issued:
    appeasement: Appeasement
    order: Order


async def issue_appeasement(services: Services, principal: Principal, command: IssueAppeasement) -> Issued:
    if not principal.can(Permission.ISSUE_APPEASEMENTS):
        raise Forbidden("this role may not issue appeasements")
    limits = services.policy.appeasement_limits
    problems = check_appeasement(command)
    if not problems:  # over the limit whatever the order had: refused before anything is read
        problems = check_limit(principal.role, command.amount, Decimal(0), limits, ("amount",))
    if problems:
        raise ValidationFailed(problems)
    now = services.clock()
    async with services.store.write() as uow:
        once = await claim(services, uow, principal, "issueAppeasement", command.idempotency_key, command)
        if once.result_id is not None:
            found = await uow.appeasements.by_id(once.result_id)
            assert found is not None
            order = await uow.orders.lock(found.order_id, order_scope(principal))
            assert order is not None
            return Issued(found, order)
        order = await uow.orders.lock(command.order_id, order_scope(principal))
        if order is None:
            raise NotFound("no such order", field=("order_id",))
        given = await given_on(uow, order.id)  # under the order's lock: two agents cannot both fit
        problems = check_limit(principal.role, command.amount, given, limits, ("amount",))
        if problems:
            raise ValidationFailed(problems)
        available = await payments.refundable(uow, order.id)
        if command.amount > available:
            raise ValidationFailed(
                [
                    Problem(
                        "REFUND_EXCEEDS_CAPTURED",
                        f"at most {max(available, 0):.2f} of what was charged can still be refunded",
                        ("amount",),
                    )
                ]
            )
        appeasement = Appeasement(
            order_id=order.id,
            amount=command.amount,
            currency=order.currency,
            reason=command.reason,
            note=command.note,
            issued_by=principal.subject,
            issued_at=now,
        )
        await uow.appeasements.add(appeasement)
        payments.promise_refund_amount(uow, order, appeasement.id, command.amount, now)
        order.updated_at = now
        uow.save(order)
        await uow.events.append(
            order,
            EventType.APPEASEMENT_ISSUED,
            actor=principal.subject,
            occurred_at=now,
            data={
                "appeasement_id": appeasement.id,
                "amount": str(command.amount),
                "reason": command.reason.value,
            },
        )
        await once.complete(uow, appeasement.id)
    return Issued(appeasement, order)

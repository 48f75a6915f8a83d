"""Holding stock for a cart: units set aside at specific locations until a TTL passes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta

from ordergate.models.allocation import Want
from ordergate.models.catalog import check_sellable
from ordergate.models.commands import ChangeHold, ReserveInventory, check_change_hold, check_reserve
from ordergate.models.errors import Forbidden, NotFound, ValidationFailed
from ordergate.models.identity import Permission, Principal
from ordergate.models.inventory import (
    Reservation,
    ReservationLine,
    ReservationStatus,
    plan_hold_change,
    release_problem,
)
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases import catalog
from ordergate.usecases.idempotency import claim
from ordergate.usecases.inventory import (
    Destination,
    locate,
    refresh_stock,
    source_locations,
    stock_view,
)
from ordergate.usecases.routing import decide, shortage
from ordergate.usecases.services import Services


@dataclass(frozen=True)
class Hold:
    reservation: Reservation
    lines: list[ReservationLine]


async def _stored(uow: UnitOfWork, reservation_id: str) -> Hold:
    reservation = await uow.inventory.reservation(reservation_id)
    if reservation is None:
        raise NotFound("no such reservation")
    lines = (await uow.inventory.reservation_lines([reservation_id])).get(reservation_id, [])
    return Hold(reservation, lines)


async def reserve_inventory(services: Services, principal: Principal, command: ReserveInventory) -> Hold:
    """Hold units for `ttlSeconds`; a repeat of the idempotency key returns the first hold."""
    if not principal.can(Permission.PLACE_ORDER):
        raise Forbidden("this role may not hold stock")
    policy = services.policy
    problems = check_reserve(command, policy.limits, int(policy.max_hold_ttl.total_seconds()))
    if problems:
        raise ValidationFailed(problems)
    if command.pickup_location_id:  # its code will do
        command = dataclasses.replace(
            command, pickup_location_id=await catalog.location_id(services, command.pickup_location_id)
        )
    wants = [Want(line.sku, line.quantity) for line in command.lines]
    skus = [w.sku for w in wants]
    stale = await refresh_stock(services, skus)
    destination = (
        Destination(
            command.destination_country,
            command.destination_postal_code,
            command.destination_latitude,
            command.destination_longitude,
        )
        if command.destination_country
        else None
    )
    point = locate(services, destination)
    now = services.clock()
    ttl = timedelta(seconds=command.ttl_seconds) if command.ttl_seconds else policy.hold_ttl
    async with services.store.write() as uow:
        once = await claim(services, uow, principal, "reserveInventory", command.idempotency_key, command)
        if once.result_id is not None:
            return await _stored(uow, once.result_id)
        await _sellable(uow, wants, policy.currency)
        sources = source_locations(
            await uow.catalog.locations(),
            command.channel,
            command.pickup_location_id,
            ship=command.pickup_location_id is None,
        )
        view = await stock_view(services, uow, skus, sources, point, stale, lock=True)
        decision, nodes = await decide(services, uow, wants, sources, view, channel=command.channel)
        if decision.chosen is None:
            raise shortage(decision, wants, nodes, "hold")
        plan = decision.chosen.plan
        reservation = Reservation(
            status=ReservationStatus.ACTIVE,
            channel=(command.channel or "web").strip(),
            created_by=principal.subject,
            created_at=now,
            expires_at=now + ttl,
        )
        lines = [
            ReservationLine(
                reservation_id=reservation.id, sku=p.sku, location_id=p.location_id, quantity=p.quantity
            )
            for p in plan.lines
        ]
        await uow.inventory.add_reservation(reservation, lines)
        await once.complete(uow, reservation.id)
    return Hold(reservation, lines)


async def change_inventory_hold(services: Services, principal: Principal, command: ChangeHold) -> Hold:
    """Make a live hold hold `command.lines` instead: fewer units are given back at once, more
    are found as a new hold's are (INSUFFICIENT_STOCK when they cannot be), a SKU left out is
    given back whole. Same idempotency rules as holding; the same holder rules as releasing."""
    problems = check_change_hold(command, services.policy.limits)
    if problems:
        raise ValidationFailed(problems)
    wants = [Want(line.sku, line.quantity) for line in command.lines]
    stale = await refresh_stock(services, [w.sku for w in wants])
    async with services.store.write() as uow:
        once = await claim(services, uow, principal, "changeInventoryHold", command.idempotency_key, command)
        if once.result_id is not None:
            return await _stored(uow, once.result_id)
        hold = await _held_by(uow, principal, command.reservation_id, services.clock(), ("reservation_id",))
        await _sellable(uow, wants, services.policy.currency)
        change = plan_hold_change(hold.lines, wants)
        added: list[ReservationLine] = []
        if change.extra:
            added = await _found(services, uow, hold.reservation, list(change.extra), stale)
        kept = []
        for line, quantity in change.kept:
            if quantity == 0:
                await uow.remove(line)
            else:
                line.quantity = quantity
                uow.save(line)
                kept.append(line)
        uow.save(*added)
        await once.complete(uow, hold.reservation.id)
    return Hold(hold.reservation, kept + added)


async def _sellable(uow: UnitOfWork, wants: list[Want], currency: str) -> None:
    """UNKNOWN_SKU (or PRODUCT_UNAVAILABLE) for a line that is not for sale, as placeOrder says
    it: a hold is only ever for what an order could take."""
    products = await uow.catalog.products_by_skus([w.sku for w in wants])
    problems = [
        problem
        for index, want in enumerate(wants)
        for problem in check_sellable(
            want.sku, products.get(want.sku), currency, ("lines", str(index), "sku")
        )
    ]
    if problems:
        raise ValidationFailed(problems)


async def _found(
    services: Services, uow: UnitOfWork, reservation: Reservation, extra: list[Want], stale: set[str]
) -> list[ReservationLine]:
    """New lines for units a hold does not have yet, routed as a new hold's are."""
    sources = source_locations(await uow.catalog.locations(), reservation.channel, None, ship=True)
    view = await stock_view(services, uow, [w.sku for w in extra], sources, None, stale, lock=True)
    decision, nodes = await decide(services, uow, extra, sources, view, channel=reservation.channel)
    if decision.chosen is None:
        raise shortage(decision, extra, nodes, "hold")
    return [
        ReservationLine(
            reservation_id=reservation.id, sku=p.sku, location_id=p.location_id, quantity=p.quantity
        )
        for p in decision.chosen.plan.lines
    ]


async def _held_by(
    uow: UnitOfWork, principal: Principal, reservation_id: str, now: datetime, field: tuple[str, ...]
) -> Hold:
    """The live hold, when `principal` may change it: its holder, or staff who manage holds;
    anyone else is told there is no such hold."""
    hold = await _stored(uow, reservation_id)
    reservation = hold.reservation
    if not (reservation.created_by == principal.subject or principal.can(Permission.MANAGE_HOLDS)):
        raise NotFound("no such reservation", field=field)
    problem = release_problem(reservation, now, field)
    if problem is not None:
        raise ValidationFailed([problem])
    return hold


async def release_inventory_hold(services: Services, principal: Principal, reservation_id: str) -> Hold:
    """Give a cart's held units back at once, before the hold would expire. Only whoever held
    them (or an agent who manages holds) may; anyone else is told there is no such hold.
    HOLD_NOT_ACTIVE when it was already used by an order, released, or has expired."""
    async with services.store.write() as uow:
        hold = await _held_by(uow, principal, reservation_id, services.clock(), ("id",))
        hold.reservation.status = ReservationStatus.RELEASED
        uow.save(hold.reservation)
    return hold

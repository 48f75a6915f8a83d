"""The network's configuration through the API (admins): the routing policy, the locations and
safety stock per SKU and node. Each holds at the next decision on every replica (routing reads
the policy at each decision; location and safety-stock changes drop the read views here at
commit and on the other replicas through the broker), and every change is audited."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ordergate.models.commands import SKU_PATTERN
from ordergate.models.errors import Forbidden, NotFound, Problem, ValidationFailed
from ordergate.models.identity import Permission, Principal
from ordergate.models.inventory import MAX_SAFETY_STOCK, SafetyStock
from ordergate.models.location import Location, check_location
from ordergate.models.network_policy import RoutingPolicy, check_policy
from ordergate.models.order import Order
from ordergate.models.replanning import split_work, unheld, waiting_units
from ordergate.models.routing import Weights
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases.catalog import location_id
from ordergate.usecases.services import Services


async def routing_policy(services: Services, principal: Principal) -> RoutingPolicy:
    """The policy in force: the one set through the API, else the settings' (version 0)."""
    if not principal.can(Permission.READ_ALL_ORDERS):
        raise Forbidden("only staff read the routing policy")
    async with services.store.read() as uow:
        return policy_in_force(services, await uow.network.routing_policy())


def policy_in_force(services: Services, stored: RoutingPolicy | None) -> RoutingPolicy:
    """The policy set through the API (`stored`), else the settings' (version 0)."""
    return stored or RoutingPolicy(Weights(), services.policy.max_split, dict(services.policy.split_limits))


async def set_routing_policy(
    services: Services,
    principal: Principal,
    weights: Weights,
    max_split: int,
    split_limits: Mapping[str, int],
) -> RoutingPolicy:
    if not principal.can(Permission.MANAGE_NETWORK):
        raise Forbidden("only admins change the routing policy")
    check_policy(weights, max_split, split_limits)
    policy = RoutingPolicy(weights, max_split, {k.strip(): v for k, v in split_limits.items()})
    async with services.store.write() as uow:
        return await uow.network.save_routing_policy(policy, by=principal.subject, at=services.clock())


# -- locations ---------------------------------------------------------------------------------

EDITABLE = frozenset(
    {
        "name",
        "type",
        "line1",
        "city",
        "region",
        "postal_code",
        "country_code",
        "phone",
        "latitude",
        "longitude",
        "ships",
        "pickup_enabled",
        "channels",
        "capacity_per_day",
        "priority",
        "handling_days",
        "safety_stock",
        "erp_id",
        "feed_max_age_minutes",
        "time_zone",
        "hours",
    }
)
PLACE = ("line1", "city", "region", "postal_code", "country_code")


def _may_manage(principal: Principal) -> None:
    if not principal.can(Permission.MANAGE_NETWORK):
        raise Forbidden("only admins change the network")


def _placed(services: Services, location: Location, values: Mapping[str, Any]) -> list[Problem]:
    """Coordinates for a node whose address is new and whose coordinates were not given: from
    its postal code, as destinations are placed; INVALID_COORDINATES when it cannot be placed."""
    if ("latitude" in values) != ("longitude" in values):
        return [Problem("INVALID_COORDINATES", "give latitude and longitude together", ("latitude",))]
    if "latitude" in values or not any(name in values for name in PLACE):
        return []
    point = services.geocoder.postal_point(location.country_code, location.postal_code)
    if point is None:
        message = "this address cannot be placed on the map from its postal code: give latitude and longitude"
        return [Problem("INVALID_COORDINATES", message, ("latitude",))]
    location.latitude, location.longitude = point.latitude, point.longitude
    return []


async def _check(uow: UnitOfWork, location: Location, placed: list[Problem]) -> None:
    """The node as a whole, and its code and ERP id nobody else's."""
    problems = check_location(location)
    if not any(p.field and p.field[0] == "address" for p in problems):
        problems.extend(placed)  # an address that is wrong is said once
    others = [loc for loc in await uow.catalog.locations() if loc.id != location.id]
    if any(loc.code == location.code for loc in others):
        problems.append(
            Problem("DUPLICATE_CODE", f"another location has the code {location.code}", ("code",))
        )
    if location.erp_id and any(loc.erp_id == location.erp_id for loc in others):
        message = "another location is joined to this ERP location"
        problems.append(Problem("DUPLICATE_ERP_ID", message, ("erp_id",)))
    if problems:
        raise ValidationFailed(problems)


async def create_location(services: Services, principal: Principal, values: Mapping[str, Any]) -> Location:
    """A new node, routed to from the next decision on every replica (the views drop the
    network when it commits). The code is its name for good: tokens and the ERP join on it."""
    _may_manage(principal)
    fields = {name: value for name, value in values.items() if name in EDITABLE | {"code"}}
    fields.setdefault("latitude", 0.0)
    fields.setdefault("longitude", 0.0)
    location = Location(**fields)
    location.code = location.code.strip().upper()
    location.time_zone = location.time_zone or services.geocoder.zone_name(
        location.country_code, location.postal_code
    )
    placed = _placed(services, location, {name: v for name, v in values.items() if v is not None})
    async with services.store.write() as uow:
        await _check(uow, location, placed)
        if not await uow.catalog.add_location(location):
            raise ValidationFailed(
                [Problem("DUPLICATE_CODE", f"another location has the code {location.code}", ("code",))]
            )
    return location


async def update_location(
    services: Services, principal: Principal, ref: str, values: Mapping[str, Any]
) -> Location:
    """Change what is given, keep the rest; checked as a whole before it is kept."""
    _may_manage(principal)
    unknown = sorted(set(values) - EDITABLE)
    if unknown:
        message = f"{', '.join(unknown)} cannot be changed (a code is a node's name for good)"
        raise ValidationFailed([Problem("NOT_EDITABLE", message, (unknown[0],))])
    async with services.store.write() as uow:
        location = await _location(services, uow, ref)
        for name, value in values.items():
            setattr(location, name, value)
        await _check(uow, location, _placed(services, location, values))
    return location


async def set_location_active(services: Services, principal: Principal, ref: str, active: bool) -> Location:
    """Deactivate a node (routing, pickup and availability stop counting it at the next request)
    or bring it back. A node with open work is not deactivated: LOCATION_HAS_OPEN_WORK while it
    has open fulfilment orders (route them elsewhere, or let them finish, first), order lines
    waiting there for supply (they would be allocated at the closed node when it arrives), or
    pickup orders for it with units no node holds yet (held before routing, or refused by the
    store: routing them again would find nowhere to collect them)."""
    _may_manage(principal)
    async with services.store.write() as uow:
        location = await _location(services, uow, ref)
        if not active and location.active:
            await _refuse_open_work(uow, location)
        location.active = active
    return location


async def _refuse_open_work(uow: UnitOfWork, location: Location) -> None:
    open_orders = (await uow.catalog.open_fulfillment_counts([location.id])).get(location.id, 0)
    waiting = await uow.inventory.waiting_lines_at(location.id)
    unrouted = await unrouted_orders(uow, await uow.orders.open_pickups_at(location.id))
    work = []
    if open_orders:
        work.append(f"{open_orders} open fulfilment orders")
    if waiting:
        work.append(f"{waiting} order lines waiting there for supply")
    if unrouted:
        numbers = ", ".join(order.number for order in unrouted[:5]) + (", ..." if len(unrouted) > 5 else "")
        work.append(f"{len(unrouted)} pickup orders with units not yet routed there ({numbers})")
    if work:
        message = (
            f"{location.code} has {' and '.join(work)}: route open orders elsewhere (routeOrder) or "
            "let them finish, let waiting lines be allocated or cancel them, route pickup orders "
            "there (releaseOrderHold, routeOrder) or cancel them, or stop new work with shipEnabled "
            "and pickupEnabled false"
        )
        raise ValidationFailed([Problem("LOCATION_HAS_OPEN_WORK", message, ("id",))])


async def unrouted_orders(uow: UnitOfWork, orders: Sequence[Order]) -> list[Order]:
    """The orders (of `orders`, open ones) with units no node holds (`replanning.unheld`): four
    batched reads however many orders."""
    ids = [order.id for order in orders]
    lines = await uow.orders.lines_by_order_ids(ids)
    shares = await uow.orders.fulfillment_orders_by_order_ids(ids)
    fo_lines = await uow.orders.fulfillment_lines_by_fo_ids(
        [fo.id for mine in shares.values() for fo in mine]
    )
    backorders = await uow.inventory.backorders_by_order_ids(ids)
    return [
        order
        for order in orders
        if unheld(
            lines.get(order.id, []),
            *split_work(shares.get(order.id, []), fo_lines),
            waiting_units(backorders.get(order.id, [])),
        )
    ]


async def _location(services: Services, uow: UnitOfWork, ref: str) -> Location:
    known = await location_id(services, ref) or ref
    location = await uow.catalog.location_for_update(known)
    if location is None:
        raise NotFound(f"no location {ref[:64]!r} (give its id or its code)", field=("id",))
    return location


# -- safety stock ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SafetyStockLevel:
    """A SKU's safety stock at a node: set for the SKU (`record`), else the node's own."""

    sku: str
    location: Location
    quantity: int
    record: SafetyStock | None


async def set_safety_stock(
    services: Services, principal: Principal, sku: str, ref: str, quantity: int | None
) -> SafetyStockLevel:
    """Units of `sku` the node keeps back from sale, from the next availability answer and
    allocation on every replica; None gives the node's own figure back."""
    _may_manage(principal)
    problems = (
        [] if SKU_PATTERN.fullmatch(sku) else [Problem("INVALID_SKU", f"{sku[:70]!r} is not a SKU", ("sku",))]
    )
    if quantity is not None and not 0 <= quantity <= MAX_SAFETY_STOCK:
        problems.append(Problem("OUT_OF_RANGE", f"safety stock is 0 to {MAX_SAFETY_STOCK}", ("quantity",)))
    if problems:
        raise ValidationFailed(problems)
    async with services.store.write() as uow:
        location = await _location(services, uow, ref)
        if not (await uow.catalog.products_by_skus([sku])):
            raise NotFound(f"no product {sku!r}", field=("sku",))
        record = await uow.inventory.set_safety_stock(
            sku, location.id, quantity, by=principal.subject, at=services.clock()
        )
    return SafetyStockLevel(
        sku, location, location.safety_stock if record is None else record.quantity, record
    )


async def safety_stock(services: Services, principal: Principal, sku: str) -> list[SafetyStockLevel]:
    """A SKU's safety stock at every node, in code order (staff)."""
    if not principal.can(Permission.READ_ALL_ORDERS):
        raise Forbidden("only staff read safety stock")
    async with services.store.read() as uow:
        records = {r.location_id: r for r in await uow.inventory.safety_stock_records(sku)}
        nodes = await uow.catalog.locations()
    return [
        SafetyStockLevel(
            sku, loc, records[loc.id].quantity if loc.id in records else loc.safety_stock, records.get(loc.id)
        )
        for loc in nodes
    ]

"""Gathering routing's inputs (stock, distance, capacity used today) and asking the model."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from ordergate.models.address import Address
from ordergate.models.allocation import Plan, PlanLine, Want
from ordergate.models.availability import earliest_date, promise_date, start_on
from ordergate.models.calendar import business_days_between, local_now, zone_of
from ordergate.models.commands import LineRequest, check_lines
from ordergate.models.delivery import Candidate, DeliveryChoice, choice, offer
from ordergate.models.errors import Forbidden, Problem, ValidationFailed
from ordergate.models.geo import transit_days
from ordergate.models.identity import Permission, Principal
from ordergate.models.location import Location, local_today, location_zone, next_open_day
from ordergate.models.order import DeliveryMethod, Order, ServiceLevel
from ordergate.models.pricing import PricedLine, TaxPlace, Totals
from ordergate.models.routing import (
    Decision,
    Node,
    RoutingDecisionRecord,
    Weights,
    days_until_room,
    insufficient,
    route,
)
from ordergate.models.what_if import SNAPSHOT, snapshot
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases.inventory import (
    Destination,
    SkuStock,
    local_clock,
    locate,
    refresh_stock,
    sells,
    source_locations,
    stock_view,
)
from ordergate.usecases.network import policy_in_force
from ordergate.usecases.services import Services


@dataclass(frozen=True)
class Network:
    """Routing's view of the sources for one request: each node with what it can sell of the
    SKUs in view and its capacity left today, and the channel's split limit."""

    nodes: tuple[Node, ...]
    max_split: int
    capacity_of: Mapping[str, int]
    weights: Weights = field(default_factory=Weights)
    channel: str | None = None

    def route(self, wants: Sequence[Want]) -> Decision:
        """The decision, keeping what it was made on (`models.what_if.snapshot`) to be replayed."""
        decision = route(
            wants, self.nodes, max_split=self.max_split, weights=self.weights, capacity_of=self.capacity_of
        )
        seen = snapshot(self.nodes, self.capacity_of, self.channel, self.weights)
        return dataclasses.replace(decision, inputs={**decision.inputs, SNAPSHOT: seen})

    def usable(self) -> list[Node]:
        return usable(self.nodes)


def usable(nodes: Sequence[Node]) -> list[Node]:
    """The nodes that may serve: those full today too (`models.routing.route` takes them last)."""
    return [n for n in nodes if n.active and n.eligible]


NO_ORDERS = "takes no orders (a capacity of 0 a day)"


async def network(
    services: Services,
    uow: UnitOfWork,
    sources: Sequence[Location],
    view: Mapping[str, SkuStock],
    *,
    channel: str | None,
    excluded: Mapping[str, str] | None = None,
    used: Mapping[str, int] | None = None,
) -> Network:
    """The sources as routing sees them (one read: capacity used today); `excluded` maps a
    location to the reason it may not serve (it rejected this order, say); a node that takes no
    orders (`Location.takes_orders`) may not either. `used`:
    the orders each source has taken today, when the caller has read them (`capacity_used`)."""
    excluded = excluded or {}
    if used is None:
        used = await capacity_used(uow, sources, services.clock())
    rows = {(stock.sku, row.location.id): row for stock in view.values() for row in stock.locations}
    distance: dict[str, float | None] = {}
    for (_, lid), row in rows.items():
        distance.setdefault(lid, row.distance_km)
    nodes = tuple(
        Node(
            location_id=loc.id,
            code=loc.code,
            type=loc.type,
            priority=loc.priority,
            distance_km=distance.get(loc.id),
            available={sku: rows[(sku, loc.id)].available if (sku, loc.id) in rows else 0 for sku in view},
            capacity_left=loc.capacity_per_day - used.get(loc.id, 0),
            active=loc.active,
            eligible=loc.id not in excluded and loc.takes_orders,
            ineligible_reason=excluded.get(loc.id) or (None if loc.takes_orders else NO_ORDERS),
            lead_days=loc.handling_days + transit_days(distance.get(loc.id)),
        )
        for loc in sources
    )
    # read at each decision: a policy set through the API holds on every replica at once
    policy = policy_in_force(services, await uow.network.routing_policy())
    return Network(
        nodes,
        policy.split_limit(channel),
        {loc.id: max(1, loc.capacity_per_day) for loc in sources},
        policy.weights,
        channel,
    )


async def capacity_used(uow: UnitOfWork, locations: Sequence[Location], now: datetime) -> dict[str, int]:
    """The work in each location's queue from today on, on its own clock: what it took today
    and what it took earlier to start today or later (one read)."""
    return await uow.orders.capacity_used({loc.id: local_today(loc, now) for loc in locations})


def room_of(locations: Sequence[Location], used: Mapping[str, int]) -> dict[str, int]:
    """Days each full location waits before it starts on an order taken now (`days_until_room`)."""
    left = {loc.id: loc.capacity_per_day - used.get(loc.id, 0) for loc in locations}
    return {
        loc.id: days_until_room(left[loc.id], loc.capacity_per_day) for loc in locations if left[loc.id] <= 0
    }


async def decide(
    services: Services,
    uow: UnitOfWork,
    wants: Sequence[Want],
    sources: Sequence[Location],
    view: Mapping[str, SkuStock],
    *,
    channel: str | None,
    excluded: Mapping[str, str] | None = None,
    used: Mapping[str, int] | None = None,
) -> tuple[Decision, list[Node]]:
    """Route `wants` over `sources`, given what each can sell now (`view`), within the channel's
    split limit."""
    sources_now = await network(services, uow, sources, view, channel=channel, excluded=excluded, used=used)
    return sources_now.route(wants), list(sources_now.nodes)


def record(uow: UnitOfWork, order_id: str, decision: Decision, now: datetime) -> None:
    uow.orders.add_decision(RoutingDecisionRecord.of(order_id, decision, now))


def shortage(decision: Decision, wants: Sequence[Want], nodes: Sequence[Node], verb: str) -> ValidationFailed:
    """Why no plan: SPLIT_LIMIT_EXCEEDED when only more nodes than the limit could serve the cart
    (saying which), else INSUFFICIENT_STOCK for each line the usable nodes together do not hold
    (for all lines when each is held but not the cart as a whole)."""
    if decision.needs:
        return ValidationFailed(
            [
                Problem(
                    "SPLIT_LIMIT_EXCEEDED",
                    f"the stock is there, in {len(decision.needs)} locations ({', '.join(decision.needs)}), "
                    f"but this channel ships from at most {decision.max_split}: order fewer units "
                    "or split the cart into several orders",
                    ("lines",),
                )
            ]
        )
    serving = usable(nodes)
    held = {w.sku: sum(n.available.get(w.sku, 0) for n in serving) for w in wants}
    # each line held but not the cart as a whole: every line (as if nothing were held)
    return ValidationFailed(insufficient(wants, held, verb) or insufficient(wants, {}, verb))


@dataclass(frozen=True)
class DeliveryOption:
    """An option a shopper can buy (`models.delivery`): its id, the units' route, the cart
    priced with it (`price.shipping` is what delivery costs the customer), and when it arrives
    (a date on the destination's calendar, and business days from today there)."""

    choice: DeliveryChoice
    plan: Plan
    price: Totals
    estimated_delivery: date | None
    business_days: int | None
    split_count: int

    @property
    def method(self) -> DeliveryMethod:
        return self.choice.method

    @property
    def level(self) -> ServiceLevel:
        return self.choice.level


def order_clock(order: Order, now: datetime, pickup: Location | None = None) -> datetime:
    """Now on the calendar an order's promise counts on (`models.calendar`): where a shipped
    order goes (its region's or country's zone), or the store a pickup is collected at."""
    return place_clock(order.delivery_method, order.shipping_address, pickup, now)


def place_clock(
    method: DeliveryMethod, address: Address | None, pickup: Location | None, now: datetime
) -> datetime:
    if method is DeliveryMethod.PICKUP:
        return now if pickup is None else local_now(now, location_zone(pickup))
    if address is None:
        return now
    return local_now(now, zone_of(address.country_code, address.region))


def estimate(
    view: Mapping[str, SkuStock],
    plan: Plan,
    now: datetime,
    *,
    pickup: Location | None = None,
    room: Mapping[str, int] | None = None,
) -> date | None:
    """When the slowest node of the plan can deliver its share (`now` on the destination's
    clock; handling and transit in business days): for a pickup, the first day the store is
    open once it has every unit and has had its handling days to get them ready. `room`: the
    business days a full node waits before it starts (`Decision.room`)."""
    room = room or {}
    dates: list[date] = []
    for line in plan.lines:
        node = next(n for n in view[line.sku].nodes if n.location_id == line.location_id)
        waits = room.get(line.location_id, 0)
        if pickup is None:
            promised = promise_date(node, line.quantity, now, waits)
        else:  # a store counts its days on its own calendar: the days it is open
            first = earliest_date(node, line.quantity, now)
            if first is not None and first <= now.date():
                first = start_on(first, waits, business_days=False)
            promised = (
                None if first is None else next_open_day(pickup, first + timedelta(days=pickup.handling_days))
            )
        if promised is None:
            return None
        dates.append(promised)
    return max(dates) if dates else None


async def delivery_options(
    services: Services,
    principal: Principal,
    lines: Sequence[LineRequest],
    destination: Destination,
    channel: str | None,
    limit: int = 3,
) -> list[DeliveryOption]:
    """Before checkout: STANDARD and, when faster, EXPRESS shipping (`models.delivery.offer`)
    and the nearest stores that can hand the whole cart over, each priced by the rule
    `placeOrder` charges by and with the id it accepts."""
    if not principal.can(Permission.READ_CATALOG):
        raise Forbidden("this role may not ask for delivery options")
    problems = check_lines(tuple(lines), services.policy.limits, ())
    if problems:
        raise ValidationFailed(problems)
    wants = [Want(line.sku, line.quantity) for line in lines]
    skus = [w.sku for w in wants]
    stale = await refresh_stock(services, skus)
    point = locate(services, destination)
    now = local_clock(services, destination)
    async with services.store.read() as uow:
        everywhere = await uow.catalog.locations()
        products = await uow.catalog.products_by_skus(skus)
        shippers = source_locations(everywhere, channel, None, ship=True)
        stores = [loc for loc in everywhere if loc.pickup_enabled and sells(loc, channel)]
        used = await capacity_used(uow, [*shippers, *stores], services.clock())
        view = await stock_view(services, uow, skus, shippers, point, stale)
        decision, _ = await decide(services, uow, wants, shippers, view, channel=channel, used=used)
        pickup_view = await stock_view(services, uow, skus, stores, point, stale)
    priced = [
        PricedLine(products[w.sku].price if w.sku in products else Decimal(0), w.quantity) for w in wants
    ]
    region = destination.region or services.geocoder.region_name(
        destination.country_code, destination.postal_code
    )
    code = {loc.id: loc.code for loc in everywhere}
    shipped = TaxPlace(destination.country_code, region)
    options = _shipping(services, decision, limit, view, code, priced, shipped, now)
    return options + _pickups(services, wants, stores, pickup_view, room_of(stores, used), priced, now, limit)


def _shipping(
    services: Services,
    decision: Decision,
    limit: int,
    view: Mapping[str, SkuStock],
    code: Mapping[str, str],
    priced: Sequence[PricedLine],
    there: TaxPlace,
    now: datetime,
) -> list[DeliveryOption]:
    """STANDARD, and EXPRESS when faster, among routing's first `limit` plans
    (`models.delivery.offer`)."""
    plans = decision.plans[:limit]
    candidates = [
        Candidate(
            tuple(code[loc] for loc in scored.plan.locations),
            estimate(view, scored.plan, now, room=decision.room),
        )
        for scored in plans
    ]
    options: list[DeliveryOption] = []
    for level, index in offer(candidates):
        arrives = candidates[index].arrives
        options.append(
            DeliveryOption(
                choice(DeliveryMethod.SHIP, level, candidates[index].codes, arrives),
                plans[index].plan,
                services.policy.pricing.price(
                    priced, delivery_method=DeliveryMethod.SHIP, destination=there, level=level
                ),
                arrives,
                business_days_between(now.date(), arrives) if arrives else None,
                plans[index].split_count,
            )
        )
    return options


def _pickups(
    services: Services,
    wants: Sequence[Want],
    stores: Sequence[Location],
    pickup_view: Mapping[str, SkuStock],
    room: Mapping[str, int],
    priced: Sequence[PricedLine],
    now: datetime,
    limit: int,
) -> list[DeliveryOption]:
    """The nearest stores that have the whole cart, ready on their own calendars (a store that
    has used up today's capacity, on its next day with room)."""
    skus = [w.sku for w in wants]
    nearest = sorted(
        stores,
        key=lambda loc: (
            next(r.distance_km for r in pickup_view[skus[0]].locations if r.location.id == loc.id)
            or float("inf"),
            loc.code,
        ),
    )
    options: list[DeliveryOption] = []
    for store in nearest:
        available = {
            w.sku: next(r.available for r in pickup_view[w.sku].locations if r.location.id == store.id)
            for w in wants
        }
        if all(available[w.sku] >= w.quantity for w in wants):
            plan = Plan(tuple(PlanLine(w.sku, store.id, w.quantity) for w in wants))
            store_now = place_clock(DeliveryMethod.PICKUP, None, store, now)
            ready = estimate(pickup_view, plan, store_now, pickup=store, room=room)
            options.append(
                DeliveryOption(
                    choice(DeliveryMethod.PICKUP, ServiceLevel.STANDARD, [store.code], ready),
                    plan,
                    services.policy.pricing.price(
                        priced,
                        delivery_method=DeliveryMethod.PICKUP,
                        destination=TaxPlace(store.country_code, store.region),
                    ),
                    ready,
                    business_days_between(store_now.date(), ready) if ready else None,
                    1,
                )
            )
            if len(options) >= limit:
                break
    return options

"""Stock: reading it from the ERP, answering availability, holding units, allocating orders."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ordergate.broker.base import ReadElsewhere
from ordergate.connectors.errors import UpstreamError, UpstreamUnavailable, WebhookRejected
from ordergate.models.address import Address
from ordergate.models.availability import NodeStock, Supply, ats, network_ats
from ordergate.models.calendar import local_now, zone_of
from ordergate.models.capture import pickup_refusal
from ordergate.models.commands import SKU_PATTERN
from ordergate.models.errors import Forbidden, Problem, ValidationFailed
from ordergate.models.geo import Point, haversine_km, transit_days
from ordergate.models.identity import Permission, Principal
from ordergate.models.ids import new_id
from ordergate.models.inventory import IncomingSupplyRecord, PositionFigures
from ordergate.models.location import Location
from ordergate.models.movements import ReadWindow, placeable, reread_at
from ordergate.models.outbox import ERP_STOCK_REREAD, OutboxTask
from ordergate.models.supply import set_aside
from ordergate.store.inventory import PositionAt
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases.services import Services, StockFreshness
from ordergate.usecases.views import StockInputs, mark_fallback

log = logging.getLogger("ordergate.inventory")
# A replica's claim on a SKU's ERP read outlasts the read's time limit by this much, then lapses
# (a replica that died mid-read holds nothing for long); others ask how it went this often.
CLAIM_MARGIN_SECONDS = 0.5
ELSEWHERE_POLL_SECONDS = 0.025


@dataclass(frozen=True)
class Destination:
    country_code: str
    postal_code: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    region: str | None = None

    @classmethod
    def of(cls, address: Address | None) -> Destination:
        """Where an address is, for distances (nowhere known for no address)."""
        if address is None:
            return cls("")
        return cls(address.country_code, address.postal_code, region=address.region)


@dataclass(frozen=True)
class LocationStock:
    location: Location
    available: int
    distance_km: float | None
    incoming: tuple[Supply, ...]  # open purchase orders, as the ERP lists them
    backordered: int = 0  # units sold against that supply, waiting for it


@dataclass(frozen=True)
class SkuStock:
    sku: str
    available: int
    as_of: datetime
    stale: bool
    locations: list[LocationStock]
    now: datetime
    nodes: list[NodeStock] = field(default_factory=list)


def sellable(location: Location, channel: str | None) -> bool:
    return (
        location.active
        and (location.ships or location.pickup_enabled)
        and (channel is None or location.serves(channel))
    )


def sells(location: Location, channel: str | None) -> bool:
    """A node a customer can buy from: `sellable` for the channel, and it takes orders (a
    capacity above 0 a day). What availability counts, so that a product page never shows units
    that `placeOrder` would refuse for being only where no order is taken."""
    return sellable(location, channel) and location.takes_orders


def node_stock(
    location: Location,
    position: PositionFigures | None,
    held: int,
    incoming: Iterable[IncomingSupplyRecord],
    distance_km: float | None,
    waiting: int = 0,
    now: datetime | None = None,
    safety: int | None = None,
) -> NodeStock:
    """One SKU at one location, as new sales see it: its units on hand and incoming supply set
    aside for the `waiting` backordered units first (`models.supply.set_aside`), and its safety
    stock (`safety`, set for this SKU, else the node's own) kept back."""
    node = NodeStock(
        location_id=location.id,
        on_hand=position.on_hand if position else 0,
        allocated=position.allocated if position else 0,
        reserved=held,
        unavailable=location.safety_stock if safety is None else safety,
        as_of=position.as_of if position else None,
        max_age=timedelta(minutes=location.feed_max_age_minutes) if location.feed_max_age_minutes else None,
        incoming=tuple(Supply(r.quantity, r.expected_on) for r in incoming if r.location_id == location.id),
        lead_days=lead_days(location, distance_km),
    )
    return set_aside(node, waiting, now) if waiting and now is not None else node


def lead_days(location: Location, distance: float | None) -> int:
    """The node's handling and the transit over `distance` km (unknown: the longest), in
    business days."""
    return location.handling_days + transit_days(distance)


def distance_km(location: Location, point: Point | None) -> float | None:
    return haversine_km(point, Point(location.latitude, location.longitude)) if point else None


def _expired(read_at: datetime | None, now: datetime, ttl: timedelta) -> bool:
    return read_at is None or now - read_at >= ttl


def _due(services: Services, skus: Iterable[str], now: datetime) -> list[str]:
    """The SKUs an answer made now would read from the ERP first: a snapshot past its TTL, or
    one an ERP notice asked to re-read (none without an ERP)."""
    if services.erp is None:
        return []
    read_at, ttl = services.freshness.stock_read_at, services.policy.stock_ttl
    return sorted({sku for sku in skus if _expired(read_at.get(sku), now, ttl)})


def refresh_due(services: Services, skus: Iterable[str], now: datetime) -> bool:
    """Whether an answer about `skus` made now would read the ERP first: what `refresh_stock`
    decides, without reading."""
    return bool(_due(services, skus, now))


async def refresh_stock(services: Services, skus: Sequence[str]) -> set[str]:
    """Read on-hand (and, less often, incoming supply) from the ERP for the SKUs whose
    snapshot is older than the TTL, and store it. Returns the SKUs that could not be read:
    their answers come from the last snapshot, labelled stale.

    One read per SKU at a time in this process: a SKU already being read is waited for, not
    read again (`StockFreshness.reading`). The read is its own task, shielded, so a request
    that goes away (a client that hung up) does not cancel it for the others waiting."""
    now = services.clock()
    fresh = services.freshness
    due = _due(services, skus, now)
    if not due:
        return set()
    reads = {fresh.reading[sku] for sku in due if sku in fresh.reading}
    mine = [sku for sku in due if sku not in fresh.reading]
    if mine:
        started: asyncio.Future[set[str]] = asyncio.create_task(
            _read_stock(services, mine, now), name="ordergate-stock-read"
        )
        for sku in mine:
            fresh.reading[sku] = started
        started.add_done_callback(lambda done: _read_done(fresh, mine, done))
        reads.add(started)
    stale: set[str] = set()
    for read in reads:
        stale |= await asyncio.shield(read)
    return stale & set(due)


async def refresh_order_stock(services: Services, order_id: str, also: Sequence[str] = ()) -> None:
    """Read from the ERP the stock of the order's SKUs (and `also`) that is past its TTL here,
    before routing them again, as placeOrder reads its lines' before it routes: the decision is
    made from the stored positions, inside a transaction that does not wait for the ERP. Without
    it an agent's re-route, an edit or a released hold decided from a snapshot of any age, and a SKU
    this gateway had not read yet (a product added since it started) had no stock anywhere."""
    async with services.store.read() as uow:
        lines = (await uow.orders.lines_by_order_ids([order_id])).get(order_id, [])
    if lines:  # no such order: the caller answers NOT_FOUND, and nobody's SKUs are read for it
        await refresh_stock(services, sorted({line.sku for line in lines} | set(also)))


async def forget_stock(services: Services, skus: Iterable[str]) -> None:
    """The ERP said these SKUs changed: the next answer about them here reads afresh, and no
    read from before the change (under way here or elsewhere, or done elsewhere) is taken for
    it by any replica. Other replicas' own snapshots run to their TTL: they answer from the
    database, which this replica's re-read brings up to date."""
    skus = sorted(set(skus))
    services.freshness.forget(skus)
    await services.broker.forget_reads(skus)


def _read_done(fresh: StockFreshness, skus: Sequence[str], read: asyncio.Future[set[str]]) -> None:
    """The read is no longer under way. A failure reaches whoever waits for it, and is logged
    here too: when every request that waited has gone, nobody else would see it."""
    for sku in skus:
        if fresh.reading.get(sku) is read:
            del fresh.reading[sku]
    if not read.cancelled() and read.exception() is not None:
        log.warning("stock read of %d SKUs failed: %r", len(skus), read.exception())


async def _read_stock(services: Services, due: Sequence[str], now: datetime) -> set[str]:
    """One read of `due`, shared with the other replicas (`Broker.claim_reads`): a SKU another
    replica has read within its TTL is fresh here too, one it is reading now is waited for, and
    the rest are read from the ERP here. Returns the SKUs that could not be read."""
    owner = asyncio.current_task()  # the read `StockFreshness.reading` registers these SKUs to
    token = uuid.uuid4().hex
    hold = services.policy.stock_read_timeout + CLAIM_MARGIN_SECONDS
    elsewhere = await services.broker.claim_reads(due, token, hold)
    here = [sku for sku in due if sku not in elsewhere]
    stale: set[str] = set()
    if here:
        stale |= await _read_here(services, here, now, token, owner)
    if elsewhere:
        stale |= await _read_there(services, elsewhere, hold, owner)
    return stale


async def _read_there(
    services: Services, elsewhere: Mapping[str, ReadElsewhere], hold: float, owner: object
) -> set[str]:
    """Take the other replicas' reads as this one's: fresh for as long as they are, once those
    under way end (a read that fails or outlasts `hold` is stale here too, this time)."""
    fresh, ttl = services.freshness, services.policy.stock_ttl
    deadline = asyncio.get_running_loop().time() + hold
    waiting, stale = dict(elsewhere), set[str]()
    while True:
        for sku, there in list(waiting.items()):
            if not there.reading:
                del waiting[sku]
                fresh.stamp(sku, owner, stock=services.clock() - ttl + timedelta(seconds=there.fresh_for))
        if not waiting:
            return stale
        if asyncio.get_running_loop().time() >= deadline:
            return stale | set(waiting)
        await asyncio.sleep(ELSEWHERE_POLL_SECONDS)
        now_there = await services.broker.reads_elsewhere(sorted(waiting))
        stale |= {sku for sku in waiting if sku not in now_there}  # it failed, or was forgotten
        waiting = {sku: now_there[sku] for sku in waiting if sku in now_there}


async def _read_here(
    services: Services, due: Sequence[str], now: datetime, token: str, owner: object
) -> set[str]:
    """One read of `due` from the ERP, stored, and settled with the other replicas (fresh for
    as long as it is here, or the claim dropped when it failed); the SKUs that could not be read."""
    settled = Settled(dict.fromkeys(due, 0.0))
    try:
        stale = await _read_erp(services, due, now, owner, settled)
    finally:
        await asyncio.shield(services.broker.reads_settled(token, settled.stock, settled.supply))
    return stale


@dataclass
class Settled:
    """How long a read's figures stay fresh, per SKU, for the other replicas: its stock (0: the
    read failed) and its incoming supply (when it read that too)."""

    stock: dict[str, float]
    supply: dict[str, float] = field(default_factory=dict)


async def _supply_due(services: Services, due: Sequence[str], now: datetime, owner: object) -> list[str]:
    """Of `due`, the SKUs whose incoming supply is to be read with their stock: past its TTL
    here, and not read by another replica within it (that read is taken as this one's)."""
    fresh, ttl = services.freshness, services.policy.incoming_ttl
    supply_due = [sku for sku in due if _expired(fresh.incoming_read_at.get(sku), now, ttl)]
    if not supply_due:
        return []
    there = await services.broker.supply_fresh_elsewhere(supply_due)
    for sku, left in there.items():
        fresh.stamp(sku, owner, supply=services.clock() - ttl + timedelta(seconds=left))
    return [sku for sku in supply_due if sku not in there]


async def _read_erp(
    services: Services, due: Sequence[str], now: datetime, owner: object, settled: Settled
) -> set[str]:
    """Read `due` from the ERP and store it; `settled` gets how long each SKU's read stays fresh.
    Incoming supply is read too where neither this replica nor another has within its TTL."""
    erp = services.erp
    assert erp is not None
    policy = services.policy
    fresh = services.freshness
    supply_due = await _supply_due(services, due, now, owner)
    try:
        async with asyncio.timeout(policy.stock_read_timeout):
            levels = await erp.stock_levels(due)
            window = ReadWindow(started=now, finished=services.clock())
            supplies = await erp.incoming_supply(supply_due) if supply_due else []
            supply_read = services.clock()
    except (UpstreamError, TimeoutError) as error:
        # Slow, rate-limited or down: answer from the last snapshot, labelled stale.
        log.warning("stock read from the ERP failed for %d SKUs: %s", len(due), str(error) or "timed out")
        return set(due)
    async with services.store.write() as uow:
        by_erp_id = {loc.erp_id: loc.id for loc in await uow.catalog.locations() if loc.erp_id}
        on_hand = {(sku, location_id): 0 for sku in due for location_id in by_erp_id.values()}
        for level in levels:
            location_id = by_erp_id.get(level.erp_location_id)
            if location_id is not None and (level.sku, location_id) in on_hand:
                on_hand[(level.sku, location_id)] = level.on_hand
        kept = await uow.inventory.record_snapshot(on_hand, window, policy.clock_skew)
        if kept:
            log.info("%d positions keep their own figure: a movement was in flight to the ERP", len(kept))
        if supply_due:
            records = [
                IncomingSupplyRecord(
                    sku=s.sku,
                    location_id=by_erp_id[s.erp_location_id],
                    quantity=s.quantity,
                    expected_on=s.expected_on,
                    reference=s.reference[:64],
                    as_of=now,
                )
                for s in supplies
                if s.erp_location_id in by_erp_id and s.quantity > 0
            ]
            await uow.inventory.replace_incoming(supply_due, records, supply_read)
    undecided = {sku for sku, _ in kept}
    stored = services.clock()
    for sku in due:
        # A position the read could not place against a movement of ours is read again once the
        # allowed clock skew has passed, not a whole TTL later: a receipt the ERP announced in
        # that moment is counted seconds after, not up to a TTL after.
        lasts = policy.clock_skew if sku in undecided else policy.stock_ttl
        settled.stock[sku] = _left(now + lasts, stored)
        fresh.stamp(
            sku, owner, stock=now - policy.stock_ttl + lasts, supply=now if sku in supply_due else None
        )
    settled.supply = dict.fromkeys(supply_due, _left(supply_read + policy.incoming_ttl, stored))
    return set()


def _left(fresh_until: datetime, now: datetime) -> float:
    """Seconds a read stays fresh for the other replicas, counted from when it was made, not
    from when it was stored (a read and its transaction can take a second on a busy machine);
    never 0, which says the read failed."""
    return max((fresh_until - now).total_seconds(), 0.001)


def source_locations(
    locations: list[Location], channel: str | None, pickup_location_id: str | None, *, ship: bool
) -> list[Location]:
    """Where units may come from: the pickup location alone, or every active location that
    ships for the channel."""
    if pickup_location_id is not None:
        chosen = [loc for loc in locations if loc.id == pickup_location_id]
        refused = pickup_refusal(pickup_location_id, chosen[0] if chosen else None)
        if refused is not None:
            raise ValidationFailed([refused])
        return chosen
    return [loc for loc in locations if sellable(loc, channel) and (loc.ships or not ship)]


def check_skus(skus: Sequence[str], limit: int, path: str = "skus") -> list[str]:
    problems: list[Problem] = []
    if not skus:
        problems.append(Problem("REQUIRED", "ask for at least one SKU", (path,)))
    if len(skus) > limit:
        problems.append(Problem("TOO_MANY_SKUS", f"ask for at most {limit} SKUs at once", (path,)))
    for index, sku in enumerate(skus):
        if not SKU_PATTERN.fullmatch(sku):
            problems.append(Problem("INVALID_SKU", f"{sku[:70]!r} is not a SKU", (path, str(index))))
    if problems:
        raise ValidationFailed(problems)
    return list(dict.fromkeys(skus))


def locate(services: Services, destination: Destination | None) -> Point | None:
    if destination is None:
        return None
    return services.geocoder.locate(
        destination.country_code, destination.postal_code, destination.latitude, destination.longitude
    )


def local_clock(services: Services, destination: Destination | None) -> datetime:
    """Now on the destination's clock: promises are dates on the customer's calendar
    (`models.calendar`); UTC when nowhere is known."""
    now = services.clock()
    if destination is None:
        return now
    known = services.geocoder.zone_name(destination.country_code, destination.postal_code)
    zone = zone_of(destination.country_code, destination.region, known=known, longitude=destination.longitude)
    return local_now(now, zone)


async def stock_inputs(
    uow: UnitOfWork,
    skus: Sequence[str],
    now: datetime,
    *,
    lock: bool = False,
    excluding_hold: str | None = None,
    for_waiting: bool = False,
) -> StockInputs:
    """What a stock view of these SKUs is made of, in two reads (`stock_at`, incoming supply);
    with `lock`, every position of them is row-locked first (`lock_positions_of`), so that the
    reads see whatever committed before the locks."""
    if lock:
        await uow.inventory.lock_positions_of(skus)
    rows = await uow.inventory.stock_at(skus, now, excluding=excluding_hold)
    return _inputs_of(rows, await uow.inventory.incoming(skus), for_waiting=for_waiting)


def _inputs_of(
    rows: Sequence[PositionAt], incoming: dict[str, list[IncomingSupplyRecord]], *, for_waiting: bool = False
) -> StockInputs:
    """`for_waiting`: units waiting are not set aside (the pass that gives them units reads)."""
    return StockInputs(
        positions=[row.position for row in rows if row.position is not None],
        held={row.key: row.held for row in rows if row.held},
        incoming=incoming,
        waiting={} if for_waiting else {row.key: row.waiting for row in rows if row.waiting},
        safety={row.key: row.safety for row in rows if row.safety is not None},
    )


async def stock_view(
    services: Services,
    uow: UnitOfWork,
    skus: Sequence[str],
    locations: Sequence[Location],
    point: Point | None,
    stale_skus: set[str],
    *,
    lock: bool = False,
    excluding_hold: str | None = None,
    for_waiting: bool = False,
) -> dict[str, SkuStock]:
    """Each SKU's stock at these locations, as the store knows it now (locked when allocating):
    as new sales see it, with what waiting backorders will take set aside, or `for_waiting`, as
    the allocation pass that gives it to them sees it."""
    now = services.clock()
    inputs = await stock_inputs(
        uow, skus, now, lock=lock, excluding_hold=excluding_hold, for_waiting=for_waiting
    )
    return compose_stock(services.policy.stale_after, inputs, skus, locations, point, stale_skus, now)


async def stock_locked_at(
    services: Services,
    uow: UnitOfWork,
    keys: Sequence[tuple[str, str]],
    locations: Sequence[Location],
    point: Point | None,
    earlier: StockInputs,
    *,
    excluding_hold: str | None = None,
) -> dict[str, SkuStock]:
    """The view of these (sku, location) positions once their row locks are taken: each row and
    what is set aside there read again in one statement (`set_aside_at`: what committed before
    the locks is seen, what commits after waits for this transaction), incoming supply as
    `earlier` read it. Only these positions' SKUs and locations are in it."""
    await uow.inventory.lock_positions(keys)
    now = services.clock()
    rows = await uow.inventory.set_aside_at(keys, now, excluding=excluding_hold)
    again = _inputs_of(rows, earlier.incoming)
    taken = {location for _, location in keys}
    nodes = [location for location in locations if location.id in taken]
    skus = sorted({sku for sku, _ in keys})
    return compose_stock(services.policy.stale_after, again, skus, nodes, point, set(), now)


def compose_stock(
    stale_after: timedelta,
    inputs: StockInputs,
    skus: Sequence[str],
    locations: Sequence[Location],
    point: Point | None,
    stale_skus: set[str],
    now: datetime,
) -> dict[str, SkuStock]:
    positions, held, incoming, waiting = inputs.positions, inputs.held, inputs.incoming, inputs.waiting
    safety = inputs.safety
    by_key: dict[tuple[str, str], PositionFigures] = {}
    oldest: dict[str, datetime] = {}  # each SKU's oldest snapshot, in one pass over the positions
    for row in positions:
        sku, as_of = row.sku, row.as_of
        by_key[(sku, row.location_id)] = row
        if sku not in oldest or as_of < oldest[sku]:
            oldest[sku] = as_of
    distances = {loc.id: distance_km(loc, point) for loc in locations}
    answers: dict[str, SkuStock] = {}
    for sku in skus:
        nodes: list[NodeStock] = []
        rows: list[LocationStock] = []
        for location in locations:
            position = by_key.get((sku, location.id))
            node = node_stock(
                location,
                position,
                held.get((sku, location.id), 0),
                incoming.get(sku, []),
                distances[location.id],
                waiting.get((sku, location.id), 0),
                now,
                safety.get((sku, location.id)),
            )
            nodes.append(node)
            listed = tuple(
                Supply(r.quantity, r.expected_on)
                for r in incoming.get(sku, [])
                if r.location_id == location.id
            )
            rows.append(
                LocationStock(
                    location,
                    ats(node, now),
                    distances[location.id],
                    listed,
                    waiting.get((sku, location.id), 0),
                )
            )
        as_of = oldest.get(sku, now)
        stale = sku in stale_skus or now - as_of > stale_after
        rows.sort(
            key=lambda r: (r.distance_km if r.distance_km is not None else float("inf"), r.location.code)
        )
        answers[sku] = SkuStock(sku, network_ats(nodes, now), as_of, stale, rows, now, nodes)
    return answers


async def availability(
    services: Services,
    principal: Principal,
    skus: Sequence[str],
    destination: Destination | None = None,
    channel: str | None = None,
) -> list[SkuStock]:
    """ATS across the network and per location, incoming supply and promise dates, honest
    about how fresh each answer is. One ERP read per 250 SKUs however many locations."""
    if not principal.can(Permission.READ_CATALOG):
        raise Forbidden("this role may not read availability")
    wanted = check_skus(skus, services.policy.max_skus_per_query)
    stale = await refresh_stock(services, wanted)
    if stale:
        mark_fallback()
    point = locate(services, destination)
    now = services.clock()
    locations = [loc for loc in await services.views.locations(services.store) if sells(loc, channel)]
    inputs = await services.views.stock(services.store, wanted, now)
    view = compose_stock(services.policy.stale_after, inputs, wanted, locations, point, stale, now)
    return [view[sku] for sku in wanted]


@dataclass(frozen=True)
class WebhookOutcome:
    duplicate: bool
    skus: tuple[str, ...] = ()  # read at once (the others: once the skew has passed)


async def take_erp_webhook(services: Services, body: bytes, headers: Mapping[str, str]) -> WebhookOutcome:
    """A signed inventory notice from the ERP: re-read the named SKUs' stock.

    An ERP's notices may carry no delivery id or timestamp (the connector then names a
    delivery by its bytes), so two real changes to one variant can look the same: only a
    *redelivery* (`notice.retry` > 0) of one already taken in within the retry window is a
    duplicate. The re-read comes before the delivery is recorded, so a failure leaves the ERP's
    retry to do the work, and re-reading is harmless.

    A SKU a movement of ours has just reached the ERP for (most often, the notice *is* that
    movement, announced back) is not read at once: that read could not be placed against the
    movement and would be made again anyway. It is read once the skew has passed, with every other
    SKU whose notice came in the same few seconds (`models.movements.reread_at`)."""
    erp = services.erp
    if erp is None:
        raise WebhookRejected("NOT_CONFIGURED", "no ERP is configured")
    notice = erp.verify_webhook(body, headers)
    now, skew = services.clock(), services.policy.clock_skew
    async with services.store.write() as uow:
        if notice.retry > 0:
            taken_at = await uow.inventory.delivery_at(erp.name, notice.delivery_id)
            came_at = await uow.inventory.delivery_at(came(erp.name), notice.delivery_id)
            if already_taken(taken_at, came_at, now):
                return WebhookOutcome(duplicate=True)
        # Marked before it is read: if it is not taken in (a 503, a crash, a replica stopping), its
        # retry is not mistaken for a retry of one with the same bytes taken in before it came.
        await uow.inventory.record_delivery(came(erp.name), notice.delivery_id, now)
    skus = set(notice.skus)
    if notice.variant_ids:
        skus |= set((await erp.resolve_skus(notice.variant_ids)).values())
    async with services.store.read() as uow:
        movements = await uow.inventory.uncounted_by_sku(sorted(skus))
    later = {sku for sku, theirs in movements.items() if not placeable(theirs, now, skew)}
    at_once = sorted(skus - later)
    if at_once:  # a receipt moves supply to on hand: both are read
        later |= set(await read_again(services, at_once))
    async with services.store.write() as uow:
        await uow.inventory.record_delivery(erp.name, notice.delivery_id, now)
        if later:
            await read_later(uow, sorted(later), services.clock(), skew)
    return WebhookOutcome(duplicate=False, skus=tuple(at_once))


def already_taken(taken_at: datetime | None, came_at: datetime | None, now: datetime) -> bool:
    """Whether a retry repeats a delivery taken in: one with its bytes was taken within the retry
    window, and none came after it (one that came later and was not taken in, refused or cut off,
    announced what no read has seen). Each time is when the delivery came."""
    if taken_at is None or now - taken_at > WEBHOOK_RETRY_WINDOW:
        return False
    return came_at is None or came_at <= taken_at


def came(source: str) -> str:
    """Where the last time each delivery from `source` came is kept, beside when one was taken in."""
    return f"{source}:came"


async def read_later(uow: UnitOfWork, skus: Sequence[str], now: datetime, skew: timedelta) -> None:
    """Queue a read of `skus` for once the skew has passed: joined to the read already queued for
    that time (`ERP_STOCK_REREAD`, one per mark of the grid), or one of its own when a relay has
    already taken that one (a relay whose clock runs ahead)."""
    due = reread_at(now, skew)
    task = OutboxTask(
        kind=ERP_STOCK_REREAD,
        key=f"at:{due.isoformat()}",
        payload={"skus": list(skus)},
        available_at=due,
        created_at=now,
    )
    if await uow.outbox.add_once(task) or await uow.outbox.join_pending(task.kind, task.key, "skus", skus):
        return
    task.key = f"at:{due.isoformat()}:{new_id()}"
    uow.outbox.add(task)


def undecided(services: Services, skus: Iterable[str]) -> list[str]:
    """Of `skus`, those whose last read (here or by another replica) could not be placed against
    a movement of ours to one of their positions (`models.movements.reconcile`: the figure kept,
    and fresh for the allowed skew only, not the TTL)."""
    now, read_at = services.clock(), services.freshness.stock_read_at
    ttl, skew = services.policy.stock_ttl, services.policy.clock_skew
    return sorted(sku for sku in set(skus) if sku in read_at and read_at[sku] + ttl - now <= skew)


async def read_again(services: Services, skus: Sequence[str]) -> list[str]:
    """An ERP notice's SKUs read, no earlier read taken for them (as the notice comes, and again
    as `ERP_STOCK_REREAD`); the SKUs whose read could not be placed (a movement of ours too close
    or still on its way). Raises when the ERP cannot be read: the notice is not taken, or the
    task is tried again."""
    erp = services.erp
    assert erp is not None
    await forget_stock(services, skus)
    failed = await refresh_stock(services, sorted(skus))
    if failed:
        raise UpstreamUnavailable(erp.name, f"could not re-read {len(failed)} SKUs")
    return undecided(services, skus)


# ERPs retry a failed delivery a few times within minutes; an hour is a wide margin.
WEBHOOK_RETRY_WINDOW = timedelta(hours=1)


async def sync_locations(services: Services) -> int:
    """Join the ERP's locations to ours: by the ERP id once known, else by name or code.
    Returns how many of our locations are joined."""
    if services.erp is None:
        return 0
    remote = await services.erp.locations()
    async with services.store.write() as uow:
        ours = await uow.catalog.locations()
        by_name = {loc.name.casefold(): loc for loc in ours} | {loc.code.casefold(): loc for loc in ours}
        joined = 0
        for erp_location in remote:
            match = next((loc for loc in ours if loc.erp_id == erp_location.erp_id), None) or by_name.get(
                erp_location.name.casefold()
            )
            if match is not None:
                match.erp_id = erp_location.erp_id
                uow.save(match)
                joined += 1
    return joined

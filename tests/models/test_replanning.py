"""Re-planning an order's work, decided over plain records: what is still to route, and how the
nodes' not-started work follows a new plan."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ordergate.models.allocation import Plan, PlanLine, Want
from ordergate.models.fulfillment import FulfillmentOrder, FulfillmentOrderLine, FulfillmentOrderStatus
from ordergate.models.order import DeliveryMethod, OrderStatus
from ordergate.models.replanning import (
    HeldWork,
    Stuck,
    WorkHere,
    amendment,
    free_for,
    held,
    movable_by_order,
    next_to_route,
    node_changes,
    skus_by_order,
    split_work,
    still_stuck,
    still_to_route,
    to_route_again,
    unheld,
    waiting_units,
    why_here,
)
from ordergate.models.supply import Backorder, BackorderStatus, SellingPolicy

NOW = datetime(2026, 12, 3, tzinfo=UTC)


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int
    quantity_fulfilled: int = 0
    quantity_cancelled: int = 0


def work_at(location: str, **units: int) -> tuple[FulfillmentOrder, list[PlanLine]]:
    fo = FulfillmentOrder(
        id=f"fo-{location}",
        order_id="order-1",
        location_id=location,
        status=FulfillmentOrderStatus.OPEN,
        delivery_method=DeliveryMethod.SHIP,
        created_at=NOW,
        updated_at=NOW,
    )
    return fo, [PlanLine(sku.replace("_", "-"), location, n) for sku, n in units.items()]


def test_what_is_gone_cancelled_started_or_waiting_for_supply_is_not_routed_again() -> None:
    lines = [
        Line("MUG", 5, quantity_fulfilled=1, quantity_cancelled=1),
        Line("KNIFE", 2),
        Line("PLATE", 1, quantity_cancelled=1),
    ]

    assert still_to_route(lines, started={"MUG": 2}) == [Want("MUG", 1), Want("KNIFE", 2)]
    # units waiting for supply keep their place in it: not routed again
    assert still_to_route(lines, started={"MUG": 2}, waiting={"KNIFE": 2}) == [Want("MUG", 1)]
    assert still_to_route(lines, started={}, waiting={"MUG": 1}) == [Want("MUG", 2), Want("KNIFE", 2)]


def test_a_node_the_plan_keeps_is_amended_one_it_drops_loses_its_work_a_new_one_gets_new_work() -> None:
    dallas, chicago = work_at("DFW", MUG=2), work_at("CHI", KNIFE=1)
    plan = Plan((PlanLine("MUG", "DFW", 3), PlanLine("KNIFE", "EWR", 1)))

    changes = node_changes(plan, [dallas, chicago])

    assert changes.kept == {"DFW": dallas}
    assert changes.dropped == [chicago]
    assert changes.fresh == Plan((PlanLine("KNIFE", "EWR", 1),))
    assert changes.planned["DFW"] == Counter({"MUG": 3})
    assert held([dallas, chicago]) == Counter({("MUG", "DFW"): 2, ("KNIFE", "CHI"): 1})


def test_a_node_with_two_pieces_of_work_keeps_the_first_and_loses_the_second() -> None:
    first, second = work_at("DFW", MUG=1), work_at("DFW", KNIFE=1)

    changes = node_changes(Plan((PlanLine("MUG", "DFW", 1),)), [first, second])

    assert changes.kept == {"DFW": first}
    assert changes.dropped == [second]


def test_an_amendment_releases_what_the_node_no_longer_needs_and_allocates_what_it_needs_more() -> None:
    have = [PlanLine("MUG", "DFW", 3), PlanLine("KNIFE", "DFW", 1)]

    less, more = amendment(have, {"MUG": 1, "PLATE": 2}, "DFW")

    assert sorted(less, key=lambda p: p.sku) == [PlanLine("KNIFE", "DFW", 1), PlanLine("MUG", "DFW", 2)]
    assert more == [PlanLine("PLATE", "DFW", 2)]
    assert amendment(have, {"MUG": 3, "KNIFE": 1}, "DFW") == ([], [])


def test_two_pieces_of_work_at_one_node_hold_the_units_of_both() -> None:
    """A node that accepted one unit and was then routed another after a rejection elsewhere
    holds two: an edit down to one must see that the work differs from its plan (seed 44 of
    the walk found an edit that released nothing)."""
    accepted, rerouted = work_at("ONT", KNIFE=1), work_at("ONT", KNIFE=1)

    assert held([accepted, rerouted]) == Counter({("KNIFE", "ONT"): 2})
    assert amendment([PlanLine("KNIFE", "ONT", 1), PlanLine("KNIFE", "ONT", 1)], {"KNIFE": 1}, "ONT") == (
        [PlanLine("KNIFE", "ONT", 1)],
        [],
    )


def work(
    fo_id: str, status: FulfillmentOrderStatus, **units: int
) -> tuple[FulfillmentOrder, list[FulfillmentOrderLine]]:
    fo = FulfillmentOrder(
        id=fo_id,
        order_id="o",
        location_id=f"at-{fo_id}",
        status=status,
        delivery_method=DeliveryMethod.PICKUP,
        created_at=NOW,
        updated_at=NOW,
    )
    lines = [
        FulfillmentOrderLine(fulfillment_order_id=fo_id, order_line_id=f"l-{sku}", sku=sku, quantity=n)
        for sku, n in units.items()
    ]
    return fo, lines


def backorder(sku: str, quantity: int, status: BackorderStatus) -> Backorder:
    return Backorder(
        order_id="o",
        order_line_id=f"l-{sku}",
        sku=sku,
        location_id="st",
        kind=SellingPolicy.BACKORDER,
        quantity=quantity,
        status=status,
        placed_at=NOW,
        updated_at=NOW,
    )


def test_every_unit_held_somewhere_leaves_nothing_unheld_and_a_refused_share_holds_none() -> None:
    shares = [
        work("picking", FulfillmentOrderStatus.PICKING, MUG=1),
        work("open", FulfillmentOrderStatus.OPEN, MUG=2, KETTLE=1),
        work("refused", FulfillmentOrderStatus.REJECTED, KETTLE=3),
        work("gone", FulfillmentOrderStatus.CANCELLED, MUG=4),
    ]
    fos = [fo for fo, _ in shares]
    fo_lines = {fo.id: lines for fo, lines in shares}
    lines = [Line("MUG", 6, quantity_fulfilled=1, quantity_cancelled=1), Line("KETTLE", 3)]
    waiting = waiting_units(
        [backorder("MUG", 1, BackorderStatus.WAITING), backorder("KETTLE", 2, BackorderStatus.CANCELLED)]
    )

    started, movable = split_work(fos, fo_lines)

    assert started == {"MUG": 1}
    assert [(fo.id, mine) for fo, mine in movable] == [
        ("open", [PlanLine("MUG", "at-open", 2), PlanLine("KETTLE", "at-open", 1)])
    ]
    assert waiting == {"MUG": 1}
    # MUG: 6 less 1 gone, 1 cancelled, 1 picking, 2 open, 1 waiting; KETTLE: 3 less 1 open
    assert unheld(lines, started, movable, waiting) == [Want("KETTLE", 2)]
    assert unheld([Line("MUG", 6, 1, 1)], started, movable, waiting) == []


def held_at(order_id: str, units: int, hours_ago: int, sku: str = "MUG", at: str = "DFW") -> HeldWork:
    return HeldWork(order_id, sku, at, units, NOW - timedelta(hours=hours_ago))


def test_the_newest_work_at_a_short_position_is_routed_again_until_the_missing_units_are_covered() -> None:
    held_there = [held_at("oldest", 2, 30), held_at("newest", 1, 1), held_at("middle", 2, 10)]

    assert to_route_again({("MUG", "DFW"): 1}, held_there) == ["newest"]
    assert to_route_again({("MUG", "DFW"): 2}, held_there) == ["newest", "middle"]
    assert to_route_again({("MUG", "DFW"): 3}, held_there) == ["newest", "middle"]
    assert to_route_again({("MUG", "DFW"): 9}, held_there) == ["newest", "middle", "oldest"]


def test_an_order_routed_again_gives_up_its_units_at_every_short_position() -> None:
    # "both" is the newest at the mugs' position; moving it covers the plates' short unit too,
    # so the older plate order keeps its units.
    held_there = [
        held_at("both", 1, 1),
        held_at("both", 1, 1, sku="PLATE"),
        held_at("plates", 3, 20, sku="PLATE"),
    ]

    assert to_route_again({("MUG", "DFW"): 1, ("PLATE", "DFW"): 1}, held_there) == ["both"]
    assert to_route_again({("MUG", "DFW"): 1, ("PLATE", "DFW"): 2}, held_there) == ["both", "plates"]


def test_work_elsewhere_and_positions_not_short_are_left_alone() -> None:
    held_there = [held_at("here", 2, 5), held_at("there", 2, 1, at="EWR")]

    assert to_route_again({("MUG", "DFW"): 1}, held_there) == ["here"]
    assert to_route_again({}, held_there) == []
    assert to_route_again({("MUG", "DFW"): 1}, []) == []


def test_an_order_that_stays_no_longer_covers_and_the_next_newest_is_tried() -> None:
    held_there = [held_at("oldest", 2, 30), held_at("middle", 2, 10), held_at("newest", 1, 1)]
    short = {("MUG", "DFW"): 1}

    assert next_to_route(short, held_there, tried=set(), staying=set()) == "newest"
    assert next_to_route(short, held_there, tried={"newest"}, staying=set()) is None  # it moved: covered
    assert next_to_route(short, held_there, tried={"newest"}, staying={"newest"}) == "middle"
    assert (
        next_to_route(short, held_there, tried={"newest", "middle"}, staying={"newest", "middle"}) == "oldest"
    )
    every = {"newest", "middle", "oldest"}
    assert next_to_route(short, held_there, tried=every, staying=every) is None  # the pick will be short


def test_an_order_that_could_not_move_is_left_until_more_units_of_its_skus_are_free() -> None:
    held_there = [held_at("ann", 2, 3), held_at("ann", 1, 3, sku="PLATE"), held_at("bob", 1, 1)]
    skus = skus_by_order(held_there)
    marks: dict[str, int | None] = {"ann": free_for(skus["ann"], {"MUG": 1, "PLATE": 2}), "bob": None}

    assert skus == {"ann": ["MUG", "PLATE"], "bob": ["MUG"]}
    assert marks["ann"] == 3
    assert still_stuck(["ann", "bob"], marks, skus, {"MUG": 1, "PLATE": 2}) == ["ann", "bob"]  # as noted
    assert still_stuck(["ann"], marks, skus, {"MUG": 0, "PLATE": 1}) == ["ann"]  # fewer: no use trying
    assert still_stuck(["ann"], marks, skus, {"MUG": 0, "PLATE": 4}) == []  # more, of either SKU
    assert still_stuck(["bob"], marks, skus, {"MUG": 99}) == ["bob"]  # no mark: left for the whole while


def test_orders_that_moved_still_count_as_covering_when_another_stays() -> None:
    # 3 missing: the newest (1) moved, the middle (2) stays; the oldest covers the rest.
    held_there = [held_at("oldest", 2, 30), held_at("middle", 2, 10), held_at("newest", 1, 1)]
    short = {("MUG", "DFW"): 3}

    assert next_to_route(short, held_there, tried={"newest", "middle"}, staying={"middle"}) == "oldest"
    assert (
        next_to_route({("MUG", "DFW"): 1}, held_there, tried={"newest", "middle"}, staying={"middle"}) is None
    )


def here(
    fo: str, order: str, units: int, status: FulfillmentOrderStatus, hours_ago: int, **more: Any
) -> WorkHere:
    return WorkHere(
        fo,
        order,
        more.get("sku", "MUG"),
        more.get("at", "DFW"),
        units,
        status,
        more.get("order_status", OrderStatus.CONFIRMED),
        NOW - timedelta(hours=hours_ago),
    )


def test_work_at_a_short_position_is_started_held_with_its_order_or_not_started() -> None:
    assert why_here(here("a", "o", 1, FulfillmentOrderStatus.PICKING, 1)) is Stuck.STARTED
    assert why_here(here("b", "o", 1, FulfillmentOrderStatus.PACKED, 1)) is Stuck.STARTED
    assert why_here(here("c", "o", 1, FulfillmentOrderStatus.READY_FOR_PICKUP, 1)) is Stuck.STARTED
    held = here("d", "o", 1, FulfillmentOrderStatus.OPEN, 1, order_status=OrderStatus.ON_HOLD)
    assert why_here(held) is Stuck.ORDER_ON_HOLD
    started_and_held = here("e", "o", 1, FulfillmentOrderStatus.PICKING, 1, order_status=OrderStatus.ON_HOLD)
    assert why_here(started_and_held) is Stuck.STARTED  # the node has the units in hand
    for status in (
        FulfillmentOrderStatus.OPEN,
        FulfillmentOrderStatus.ACCEPTED,
        FulfillmentOrderStatus.ON_HOLD,
    ):
        assert why_here(here("f", "o", 1, status, 1)) is Stuck.NOT_STARTED


def test_what_an_order_s_not_started_work_holds_is_summed_per_position_and_started_work_left_out() -> None:
    work = [
        here("fo1", "ann", 2, FulfillmentOrderStatus.OPEN, 5),
        here("fo2", "ann", 1, FulfillmentOrderStatus.ACCEPTED, 2),  # a second piece of work there
        here("fo3", "ann", 4, FulfillmentOrderStatus.OPEN, 2, sku="PLATE"),
        here("fo4", "bob", 3, FulfillmentOrderStatus.PICKING, 1),
    ]

    assert movable_by_order(work) == [
        HeldWork("ann", "MUG", "DFW", 3, NOW - timedelta(hours=2)),
        HeldWork("ann", "PLATE", "DFW", 4, NOW - timedelta(hours=2)),
    ]

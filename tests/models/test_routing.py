from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ordergate.models import routing
from ordergate.models.allocation import Want
from ordergate.models.location import LocationType
from ordergate.models.routing import Node, ScoredPlan, route

DC, STORE = LocationType.DISTRIBUTION_CENTER, LocationType.STORE


def a_node(
    code: str,
    km: float | None = 100,
    kind: LocationType = DC,
    capacity: int = 100,
    priority: int = 10,
    **stock: int,
) -> Node:
    return Node(
        location_id=code.lower(),
        code=code,
        type=kind,
        priority=priority,
        distance_km=km,
        available={sku.replace("_", "-"): units for sku, units in stock.items()},
        capacity_left=capacity,
    )


MUG, PAN = Want("MUG-BLUE", 2), Want("PAN-CAST-10", 1)


def test_prefers_one_node_over_a_split_even_when_the_split_is_nearer() -> None:
    near_mugs = a_node("NEAR-A", km=10, MUG_BLUE=5)
    near_pans = a_node("NEAR-B", km=10, PAN_CAST_10=5)
    far_both = a_node("FAR", km=1500, MUG_BLUE=5, PAN_CAST_10=5)

    decision = route([MUG, PAN], [near_mugs, near_pans, far_both])

    assert decision.chosen is not None
    assert decision.chosen.nodes == ("FAR",)


def test_splits_when_no_single_node_can_serve() -> None:
    decision = route([MUG, PAN], [a_node("A", MUG_BLUE=5), a_node("B", PAN_CAST_10=5)])

    assert decision.chosen is not None
    assert decision.chosen.split_count == 2
    assert sorted(decision.chosen.plan.locations) == ["a", "b"]


def test_never_splits_beyond_max_split() -> None:
    wants = [MUG, PAN, Want("KETTLE-STEEL", 1)]
    nodes = [a_node("A", MUG_BLUE=5), a_node("B", PAN_CAST_10=5), a_node("C", KETTLE_STEEL=5)]

    assert route(wants, nodes, max_split=2).chosen is None
    three = route(wants, nodes, max_split=3).chosen
    assert three is not None
    assert three.split_count == 3


def test_distance_decides_between_equal_nodes() -> None:
    decision = route([MUG], [a_node("FAR", km=2000, MUG_BLUE=5), a_node("NEAR", km=50, MUG_BLUE=5)])

    assert decision.chosen is not None
    assert decision.chosen.nodes == ("NEAR",)


def test_cost_decides_between_equally_near_nodes() -> None:
    store = a_node("STORE", km=200, kind=STORE, MUG_BLUE=5)
    warehouse = a_node("DC", km=200, kind=DC, MUG_BLUE=5)

    decision = route([MUG], [store, warehouse])

    assert decision.chosen is not None
    assert decision.chosen.nodes == ("DC",)
    assert decision.chosen.cost < store.shipping_cost


def test_a_node_with_no_capacity_left_today_is_excluded_with_its_reason() -> None:
    decision = route(
        [MUG], [a_node("FULL", km=10, capacity=0, MUG_BLUE=5), a_node("OPEN", km=900, MUG_BLUE=5)]
    )

    assert decision.chosen is not None
    assert decision.chosen.nodes == ("OPEN",)
    full = next(e for e in decision.evaluations if e.code == "FULL")
    assert full.excluded
    assert full.reasons == ("no capacity left today",)


def test_a_full_node_that_alone_holds_the_cart_takes_it_and_starts_on_its_next_day_with_room() -> None:
    decision = route(
        [MUG],
        [a_node("FULL", km=10, capacity=0, MUG_BLUE=5), a_node("OPEN", km=900, PAN_CAST_10=5)],
        capacity_of={"full": 50, "open": 50},
    )

    assert decision.chosen is not None
    assert decision.chosen.nodes == ("FULL",)
    assert decision.room == {"full": 1}
    full = next(e for e in decision.evaluations if e.code == "FULL")
    assert not full.excluded
    assert full.score is not None
    assert full.reasons[0].startswith("no capacity left today: no node with room can serve the order")
    assert "1 working day later" in full.reasons[0]


def test_a_node_with_room_is_split_with_before_a_full_node_is_used() -> None:
    mugs_open = a_node("OPEN-A", km=900, MUG_BLUE=5)
    pans_open = a_node("OPEN-B", km=900, PAN_CAST_10=5)
    both_full = a_node("FULL", km=10, capacity=-3, MUG_BLUE=5, PAN_CAST_10=5)

    decision = route([MUG, PAN], [mugs_open, pans_open, both_full], capacity_of={"full": 4})

    assert decision.chosen is not None
    assert decision.chosen.nodes == ("OPEN-A", "OPEN-B")
    assert decision.room == {}
    assert next(e for e in decision.evaluations if e.code == "FULL").reasons == ("no capacity left today",)


def test_a_cart_split_over_a_full_node_and_one_with_room_waits_only_at_the_full_one() -> None:
    decision = route(
        [MUG, PAN],
        [a_node("FULL", capacity=-120, MUG_BLUE=5), a_node("OPEN", PAN_CAST_10=5)],
        capacity_of={"full": 100, "open": 100},
    )

    assert decision.chosen is not None
    assert sorted(decision.chosen.nodes) == ["FULL", "OPEN"]
    assert decision.room == {"full": 2}  # 220 orders today at 100 a day: two days' work first


def test_no_node_at_all_is_still_a_refusal_with_the_full_nodes_reason() -> None:
    decision = route([MUG], [a_node("FULL", capacity=0, PAN_CAST_10=5), a_node("SHUT", MUG_BLUE=0)])

    assert decision.chosen is None
    assert decision.room == {}
    reasons = {e.code: e.reasons for e in decision.evaluations}
    assert reasons["FULL"] == ("no capacity left today", "no stock of MUG-BLUE")


@pytest.mark.parametrize(
    ("left", "capacity", "days"),
    [(5, 10, 0), (1, 10, 0), (0, 10, 1), (-9, 10, 1), (-10, 10, 2), (-25, 10, 3), (0, 0, 1), (-2, 0, 3)],
)
def test_days_until_room_counts_full_days_of_orders_already_taken(
    left: int, capacity: int, days: int
) -> None:
    assert routing.days_until_room(left, capacity) == days


def test_a_node_far_past_its_capacity_is_scored_not_divided_by_zero() -> None:
    decision = route([MUG], [a_node("FULL", capacity=-100, MUG_BLUE=5)], capacity_of={"full": 100})

    assert decision.chosen is not None
    assert decision.room == {"full": 2}


def test_among_full_nodes_the_one_that_starts_soonest_takes_the_order_though_farther() -> None:
    near_long_queue = a_node("NEAR", km=10, capacity=-2000, MUG_BLUE=5)  # 20 days' orders taken
    far_short_queue = a_node("FAR", km=2500, capacity=0, MUG_BLUE=5)

    decision = route([MUG], [near_long_queue, far_short_queue], capacity_of={"near": 100, "far": 100})

    assert decision.chosen is not None
    assert decision.chosen.nodes == ("FAR",)
    assert decision.room == {"near": 21, "far": 1}
    assert [p.nodes for p in decision.plans] == [("FAR",), ("NEAR",)]


def test_a_full_node_left_out_of_the_chosen_plan_says_only_when_it_would_start() -> None:
    decision = route(
        [MUG],
        [
            a_node("NEAR-FULL", km=10, capacity=0, MUG_BLUE=5),
            a_node("FAR-FULL", km=2000, capacity=-60, MUG_BLUE=5),
        ],
        capacity_of={"near-full": 50, "far-full": 50},
    )

    assert decision.chosen is not None
    assert decision.chosen.nodes == ("NEAR-FULL",)
    assert decision.room == {"near-full": 1, "far-full": 2}
    reasons = {e.code: e.reasons for e in decision.evaluations}
    assert "so it is taken here and started 1 working day later" in reasons["NEAR-FULL"][0]
    assert reasons["FAR-FULL"][0] == "no capacity left today: it would start 2 working days later"


def test_a_node_that_cannot_serve_the_delivery_method_is_excluded() -> None:
    no_pickup = Node(
        "x",
        "NO-PICKUP",
        STORE,
        5,
        1,
        {"MUG-BLUE": 5},
        10,
        eligible=False,
        ineligible_reason="does not offer pickup",
    )

    decision = route([MUG], [no_pickup])

    assert decision.chosen is None
    assert decision.evaluations[0].reasons == ("does not offer pickup",)


def test_every_excluded_candidate_says_why() -> None:
    nodes = [
        a_node("EMPTY"),
        a_node("PARTIAL", MUG_BLUE=5),
        a_node("BOTH", MUG_BLUE=5, PAN_CAST_10=5),
        a_node("BUSY", capacity=0, MUG_BLUE=5, PAN_CAST_10=5),
    ]

    decision = route([MUG, PAN], nodes)

    excluded = {e.code: e.reasons for e in decision.evaluations if e.excluded}
    assert set(excluded) == {"EMPTY", "PARTIAL", "BUSY"}
    assert all(reasons for reasons in excluded.values())
    assert next(e for e in decision.evaluations if e.code == "BOTH").score is not None


def test_ties_break_the_same_way_every_time() -> None:
    twins = [a_node("B-TWIN", MUG_BLUE=5), a_node("A-TWIN", MUG_BLUE=5)]

    first = route([MUG], twins).chosen
    again = route([MUG], list(reversed(twins))).chosen

    assert first is not None
    assert again is not None
    assert first.nodes == again.nodes == ("A-TWIN",)


def test_a_line_no_node_holds_whole_is_split_across_nodes() -> None:
    decision = route([Want("MUG-BLUE", 7)], [a_node("A", km=10, MUG_BLUE=4), a_node("B", km=20, MUG_BLUE=5)])

    assert decision.chosen is not None
    assert sorted((x.location_id, x.quantity) for x in decision.chosen.plan.lines) == [("a", 4), ("b", 3)]


def test_in_a_split_a_line_one_node_holds_whole_is_not_split() -> None:
    # A (nearer) has 1 mug and every pan; B has 5 mugs, no pans: the mugs come whole from B.
    decision = route(
        [MUG, PAN], [a_node("A", km=10, MUG_BLUE=1, PAN_CAST_10=5), a_node("B", km=20, MUG_BLUE=5)]
    )

    assert decision.chosen is not None
    assert sorted((x.sku, x.location_id, x.quantity) for x in decision.chosen.plan.lines) == [
        ("MUG-BLUE", "b", 2),
        ("PAN-CAST-10", "a", 1),
    ]


def test_beyond_the_split_limit_the_decision_says_which_nodes_would_serve() -> None:
    nodes = [
        a_node("A", MUG_BLUE=3),
        a_node("B", MUG_BLUE=3),
        a_node("C", MUG_BLUE=3),
        a_node("D", PAN_CAST_10=1),
    ]

    refused = route([Want("MUG-BLUE", 8)], nodes, max_split=2)
    allowed = route([Want("MUG-BLUE", 8)], nodes, max_split=3)

    assert refused.chosen is None
    assert refused.needs == ("A", "B", "C")
    assert allowed.chosen is not None
    assert sum(x.quantity for x in allowed.chosen.plan.lines) == 8
    assert allowed.needs == ()


def test_when_the_network_does_not_hold_the_cart_nothing_would_serve() -> None:
    decision = route([Want("MUG-BLUE", 10)], [a_node("A", MUG_BLUE=3), a_node("B", MUG_BLUE=3)], max_split=1)

    assert decision.chosen is None
    assert decision.needs == ()


def across_the_country() -> list[Node]:
    """Two nodes near the destination hold the cart between them; one across the country holds it whole."""
    return [
        a_node("NEAR-MUGS", km=10, MUG_BLUE=5),
        a_node("NEAR-PANS", km=20, PAN_CAST_10=5),
        a_node("FAR", km=3900, MUG_BLUE=5, PAN_CAST_10=5),
    ]


def test_two_near_nodes_beat_one_across_the_country_within_the_split_limit() -> None:
    two = route([MUG, PAN], across_the_country(), max_split=2)
    one = route([MUG, PAN], across_the_country(), max_split=1)

    assert two.chosen is not None
    assert sorted(two.chosen.nodes) == ["NEAR-MUGS", "NEAR-PANS"]
    assert [p.nodes for p in two.plans][1:] == [("FAR",)]  # the single node stays an option
    assert one.chosen is not None
    assert one.chosen.nodes == ("FAR",)
    assert one.chosen.cost > two.chosen.cost


def test_no_split_takes_a_node_that_ships_the_cart_alone() -> None:
    # NEAR-MUGS with FAR averages better than FAR alone, but ships more, and no nearer
    decision = route([MUG, PAN], [a_node("NEAR-MUGS", km=10, MUG_BLUE=5), across_the_country()[2]])

    assert [p.nodes for p in decision.plans] == [("FAR",)]


def test_a_near_node_that_holds_the_cart_beats_any_split() -> None:
    nodes = [*across_the_country(), a_node("NEAR-BOTH", km=30, MUG_BLUE=5, PAN_CAST_10=5)]

    decision = route([MUG, PAN], nodes, max_split=2)

    assert decision.chosen is not None
    assert decision.chosen.nodes == ("NEAR-BOTH",)
    assert all(p.split_count == 1 for p in decision.plans)


def test_no_split_is_tried_when_none_could_beat_the_best_single_node(monkeypatch: pytest.MonkeyPatch) -> None:
    nodes = [Node(f"n{i}", f"N{i}", DC, 10, 10 + i, {"MUG-BLUE": 5, "PAN-CAST-10": 5}, 100) for i in range(8)]
    assigned: list[tuple[str, ...]] = []  # the nodes of every plan tried
    assign = routing._assign

    def counted(wants: Sequence[Want], group: Sequence[Node]) -> Any:
        assigned.append(tuple(n.code for n in group))
        return assign(wants, group)

    monkeypatch.setattr(routing, "_assign", counted)
    decision = route([MUG, PAN], nodes, max_split=3)

    assert decision.chosen is not None
    assert decision.chosen.nodes == ("N0",)
    assert sorted(assigned) == [(n.code,) for n in nodes]  # each node's own plan, and nothing more


def exhaustive(wants: list[Want], nodes: list[Node], max_split: int) -> list[ScoredPlan]:
    """The rule without pruning: every group of every size within the limit (a node that ships
    the cart alone in no larger group), a larger group kept only when it beats the best plan
    with the fewest nodes."""
    by_size: dict[int, list[ScoredPlan]] = {}
    # scored against the whole network's top priority, as route scores them: a node with no stock
    anchor = a_node("ZZ-ANCHOR", priority=max(n.priority for n in nodes))
    alone = {n.code for n in nodes if route(wants, [n, anchor], max_split=1).chosen is not None}
    for size in range(1, max_split + 1):
        for group in itertools.combinations(nodes, size):
            if size > 1 and any(n.code in alone for n in group):
                continue
            plan = route(wants, [*group, anchor], max_split=size).chosen
            if plan is not None and plan.split_count == size:
                by_size.setdefault(size, []).append(plan)
    if not by_size:
        return []
    fewest = min(by_size)
    best = min(p.score for p in by_size[fewest])
    kept = [p for size, plans in by_size.items() for p in plans if size == fewest or p.score < best]
    return sorted(kept, key=lambda p: (p.score, p.split_count, p.nodes))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([5, 40, 300, 1500, 3000, 4000]),
            st.integers(0, 3),
            st.integers(0, 3),
            st.integers(1, 10),
        ),
        min_size=1,
        max_size=5,
    ),
    st.integers(1, 3),
)
# A plan taking the pan from N0 needlessly (N2 has one): N1 and N2 alone do better.
@example(specs=[(5, 0, 1, 1), (5, 1, 0, 1), (5, 1, 1, 1), (4000, 2, 1, 1)], max_split=3)
def test_pruning_finds_the_plan_an_exhaustive_search_finds(
    specs: list[tuple[int, int, int, int]], max_split: int
) -> None:
    nodes = [
        a_node(f"N{i}", km=km, priority=priority, MUG_BLUE=mugs, PAN_CAST_10=pans)
        for i, (km, mugs, pans, priority) in enumerate(specs)
    ]
    wants = [Want("MUG-BLUE", 2), Want("PAN-CAST-10", 1)]

    found = route(wants, nodes, max_split=max_split).plans
    expected = exhaustive(wants, nodes, max_split)

    assert [(p.nodes, p.score) for p in found] == [(p.nodes, p.score) for p in expected]


def test_insufficient_names_each_line_asking_for_more_than_is_held() -> None:
    wants = [Want("A", 2), Want("B", 5), Want("C", 1)]

    problems = routing.insufficient(wants, {"A": 2, "B": 4}, "sell")

    assert [(p.code, p.field, p.message) for p in problems] == [
        ("INSUFFICIENT_STOCK", ("lines", "1", "quantity"), "not enough B to sell 5"),
        ("INSUFFICIENT_STOCK", ("lines", "2", "quantity"), "not enough C to sell 1"),  # none held
    ]
    assert routing.insufficient(wants, {"A": 9, "B": 5, "C": 1}, "hold") == []


@given(
    st.lists(st.tuples(st.sampled_from("ABC"), st.integers(1, 5)), min_size=1, max_size=4),
    st.lists(st.tuples(st.sampled_from("ABC"), st.integers(0, 9), st.integers(0, 2)), min_size=1, max_size=6),
)
@settings(max_examples=200, deadline=None)
def test_a_cart_with_an_insufficient_line_has_no_plan(
    lines: list[tuple[str, int]], stock: list[tuple[str, int, int]]
) -> None:
    """What `insufficient` names is refused by routing whatever the split: the refusal that
    `placeOrder` gives before routing (usecases/orders._sold_out) is the one routing would give."""
    wants = [Want(sku, quantity) for sku, quantity in lines]
    nodes = [
        dataclasses.replace(a_node(f"N{i}", capacity=room), available={sku: units})
        for i, (sku, units, room) in enumerate(stock)
    ]
    held: dict[str, int] = {}
    for n in nodes:
        for sku, units in n.available.items():
            held[sku] = held.get(sku, 0) + units

    if routing.insufficient(wants, held, "sell"):
        assert routing.route(wants, nodes, max_split=len(nodes)).chosen is None

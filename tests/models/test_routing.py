from __future__ import annotations

from ordergate.models.allocation import Want
from ordergate.models.location import LocationType
from ordergate.models.routing import Node, route

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


def test_splits_only_when_no_single_node_can_serve() -> None:
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

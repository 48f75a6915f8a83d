from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

from ordergate.models.allocation import Plan, PlanLine, Want
from ordergate.models.location import LocationType
from ordergate.models.network_policy import RoutingPolicy
from ordergate.models.routing import Node, RoutingDecisionRecord, Weights, route
from ordergate.models.what_if import (
    INSUFFICIENT_STOCK,
    SNAPSHOT,
    SPLIT_LIMIT_EXCEEDED,
    Case,
    Simulation,
    Tally,
    case_of,
    replay,
    snapshot,
)

DC, STORE = LocationType.DISTRIBUTION_CENTER, LocationType.STORE
NOW = datetime(2026, 3, 2, 15, tzinfo=UTC)
MUG, PAN = Want("MUG-BLUE", 2), Want("PAN-CAST-10", 1)


def a_node(code: str, km: float | None, lead_days: int | None = 2, left: int = 100, **stock: int) -> Node:
    return Node(
        location_id=code.lower(),
        code=code,
        type=STORE if code.startswith("ST") else DC,
        priority=10,
        distance_km=km,
        available={sku.replace("_", "-"): units for sku, units in stock.items()},
        capacity_left=left,
        lead_days=lead_days,
    )


def a_policy(max_split: int, weights: Weights | None = None, **per_channel: int) -> RoutingPolicy:
    return RoutingPolicy(weights or Weights(), max_split, per_channel)


def recorded(
    wants: list[Want],
    nodes: list[Node],
    capacity_of: dict[str, int],
    *,
    channel: str | None = "web",
    max_split: int = 2,
    weights: Weights | None = None,
) -> RoutingDecisionRecord:
    """A decision as routing records it: with what it saw."""
    weights = weights or Weights()
    decision = route(wants, nodes, max_split=max_split, weights=weights, capacity_of=capacity_of)
    seen = snapshot(nodes, capacity_of, channel, weights)
    with_inputs = dataclasses.replace(decision, inputs={**decision.inputs, SNAPSHOT: seen})
    return RoutingDecisionRecord.of("order-1", with_inputs, NOW)


def across_the_country() -> list[Node]:
    return [
        a_node("NEAR-MUGS", 12, lead_days=1, MUG_BLUE=5),
        a_node("ST-PANS", 20, lead_days=1, PAN_CAST_10=5),
        a_node("FAR", 3900, lead_days=6, MUG_BLUE=5, PAN_CAST_10=5),
    ]


def test_a_recorded_decision_gives_back_the_nodes_it_was_made_on() -> None:
    nodes = [
        *across_the_country(),
        dataclasses.replace(a_node("OFF", None, None), eligible=False, ineligible_reason="rejected"),
    ]
    capacity_of = {"near-mugs": 200, "st-pans": 100, "far": 1000, "off": 1}

    case = case_of(recorded([MUG, PAN], nodes, capacity_of))

    assert case is not None
    assert case.nodes == tuple(nodes)
    assert case.capacity_of == capacity_of
    assert (case.wants, case.channel, case.recorded) == ((MUG, PAN), "web", ("NEAR-MUGS", "ST-PANS"))


def test_a_decision_recorded_without_what_it_saw_is_not_replayed() -> None:
    old = RoutingDecisionRecord.of("order-1", route([MUG], across_the_country()), NOW)
    held = RoutingDecisionRecord.from_hold(
        "order-2", Plan((PlanLine("MUG-BLUE", "far", 2),)), {"far": "FAR"}, "reservation-1", NOW
    )

    assert case_of(old) is None
    assert case_of(held) is None


def test_replaying_under_the_policy_it_was_decided_by_chooses_the_same_nodes() -> None:
    # BUSY is nearer but has used most of its day; the capacity it is scored against decides
    nodes = [a_node("BUSY", 100, left=10, MUG_BLUE=5), a_node("IDLE", 150, left=10, MUG_BLUE=5)]
    record = recorded([MUG], nodes, {"busy": 1000, "idle": 10})
    case = case_of(record)
    assert case is not None

    again = replay(case, a_policy(2))

    assert record.chosen == ["IDLE"]
    assert again.nodes == ("IDLE",)


def test_a_split_limit_of_one_ships_the_cart_whole_from_afar_and_two_splits_it_nearby() -> None:
    case = case_of(recorded([MUG, PAN], across_the_country(), {}))
    assert case is not None

    two, one = replay(case, a_policy(2)), replay(case, a_policy(1))

    assert (two.nodes, two.km, two.lead_days) == (("NEAR-MUGS", "ST-PANS"), (12, 20), 1)
    assert (one.nodes, one.km, one.lead_days) == (("FAR",), (3900,), 6)
    assert one.cost == Decimal("15.75")  # 6.00 + 3900 km at 0.0025
    assert two.cost == Decimal("6.03") + Decimal("8.55")  # 6.00 + 12 km, 8.50 + 20 km


def test_a_channel_limit_holds_over_the_policy_default() -> None:
    case = case_of(recorded([MUG, PAN], across_the_country(), {}, channel="pos"))
    assert case is not None

    assert replay(case, a_policy(2, pos=1)).nodes == ("FAR",)
    assert replay(case, a_policy(1, pos=2)).nodes == ("NEAR-MUGS", "ST-PANS")


def test_a_refused_replay_says_why() -> None:
    split_only = [a_node("NEAR-MUGS", 10, MUG_BLUE=5), a_node("ST-PANS", 20, PAN_CAST_10=5)]
    case = case_of(recorded([MUG, PAN], split_only, {}))
    short = case_of(recorded([Want("MUG-BLUE", 9)], split_only, {}))
    assert case is not None
    assert short is not None

    assert replay(case, a_policy(1)).refused == SPLIT_LIMIT_EXCEEDED
    assert replay(short, a_policy(3)).refused == INSUFFICIENT_STOCK


def test_a_replay_that_takes_from_a_full_node_counts_its_wait_for_room_in_the_promise() -> None:
    full = a_node("DC-FULL", 10, lead_days=2, left=-30, MUG_BLUE=5)
    case = case_of(recorded([MUG], [full, a_node("ST-EMPTY", 5, PAN_CAST_10=5)], {"dc-full": 20}))
    assert case is not None

    outcome = replay(case, a_policy(2))

    assert (outcome.nodes, outcome.refused) == (("DC-FULL",), None)
    assert outcome.lead_days == 2 + 2  # 50 orders today at 20 a day: two days before it starts


def test_other_weights_can_choose_other_nodes() -> None:
    # a store next door against a warehouse a little farther: cost alone picks the warehouse
    nodes = [a_node("ST-NEXT-DOOR", 1, MUG_BLUE=5), a_node("DC", 300, MUG_BLUE=5)]
    case = case_of(recorded([MUG], nodes, {}, weights=Weights(1, 0, 0, 0)))
    assert case is not None

    assert replay(case, a_policy(2, Weights(1, 0, 0, 0))).nodes == ("ST-NEXT-DOOR",)
    assert replay(case, a_policy(2, Weights(0, 1, 0, 0))).nodes == ("DC",)


def a_case(recorded_nodes: tuple[str, ...], nodes: list[Node], wants: tuple[Want, ...] = (MUG, PAN)) -> Case:
    return Case("order", wants, tuple(nodes), {}, "web", recorded_nodes)


def test_the_figures_of_a_policy_by_hand() -> None:
    split = a_case(("NEAR-MUGS", "ST-PANS"), across_the_country())
    unknown = a_case(("FAR",), [a_node("FAR", None, lead_days=None, MUG_BLUE=5, PAN_CAST_10=5)])
    refused = a_case((), [a_node("NEAR-MUGS", 10, MUG_BLUE=5)])
    tally = Tally()

    for case in (split, unknown, refused):
        tally.add(case, replay(case, a_policy(2)))
    kpis = tally.kpis()

    assert (kpis.orders, kpis.routed, dict(kpis.refused)) == (3, 2, {INSUFFICIENT_STOCK: 1})
    assert kpis.split_rate == 0.5
    assert kpis.shipments_per_order == 1.5
    # (6.03 + 8.55 for the split, 12.25 for 2500 km, an unknown distance) / 2 = 13.415
    assert kpis.shipping_cost_per_order == Decimal("13.42")
    assert kpis.distance_per_order_km == 32  # the order with an unknown distance does not count
    assert kpis.distance_per_shipment_km == 16
    assert kpis.promise_days == 1
    assert [(s.code, s.shipments, round(s.share, 3)) for s in kpis.shares] == [
        ("FAR", 1, 0.333),
        ("NEAR-MUGS", 1, 0.333),
        ("ST-PANS", 1, 0.333),
    ]
    assert kpis.different_from_recorded == 0


def test_a_simulation_counts_the_orders_the_proposal_routes_elsewhere() -> None:
    case = case_of(recorded([MUG, PAN], across_the_country(), {}))
    assert case is not None
    simulation = Simulation(a_policy(2), a_policy(1))

    simulation.add(case)
    simulation.add(case)
    simulation.skip("PICKUP")

    assert simulation.changed == 2
    assert simulation.current.kpis().different_from_recorded == 0
    assert simulation.proposed.kpis().different_from_recorded == 2
    assert simulation.proposed.kpis().distance_per_order_km == 3900
    assert dict(simulation.skipped) == {"PICKUP": 1}

"""Selling against incoming supply: the policy in force, supply not yet promised, where waiting
units are promised, and which waiting lines take units that arrive."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ordergate.models.availability import NodeStock, Supply, ats
from ordergate.models.supply import (
    Backorder,
    BackorderStatus,
    ProductPolicy,
    SellingPolicy,
    check_policy,
    effective_policy,
    free,
    promise,
    serve,
    set_aside,
)

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
TODAY = NOW.date()


def day(n: int) -> date:
    return TODAY + timedelta(days=n)


def a_backorder(
    quantity: int, *, at: str = "dfw", placed: int = 0, sku: str = "WOOL", release_on: date | None = None
) -> Backorder:
    return Backorder(
        order_id=f"order-{placed}",
        order_line_id=f"line-{placed}",
        sku=sku,
        location_id=at,
        kind=SellingPolicy.PRE_ORDER if release_on else SellingPolicy.BACKORDER,
        quantity=quantity,
        release_on=release_on,
        placed_at=NOW + timedelta(minutes=placed),
        updated_at=NOW,
    )


def test_a_policy_holds_in_its_channels_and_a_pre_order_becomes_a_backorder_on_release() -> None:
    web_only = ProductPolicy(SellingPolicy.BACKORDER, channels=("web",))
    pre = ProductPolicy(SellingPolicy.PRE_ORDER, release_on=day(5))

    assert effective_policy(web_only, "web", TODAY) is SellingPolicy.BACKORDER
    assert effective_policy(web_only, "pos", TODAY) is SellingPolicy.ON_HAND
    assert effective_policy(web_only, None, TODAY) is SellingPolicy.ON_HAND
    assert effective_policy(pre, "web", day(4)) is SellingPolicy.PRE_ORDER
    assert effective_policy(pre, "web", day(5)) is SellingPolicy.BACKORDER


def test_a_policy_must_hold_together() -> None:
    assert [p.code for p in check_policy(ProductPolicy(SellingPolicy.PRE_ORDER))] == ["RELEASE_DATE_REQUIRED"]
    assert [p.code for p in check_policy(ProductPolicy(SellingPolicy.ON_HAND, release_on=day(1)))] == [
        "INVALID_RELEASE_DATE"
    ]
    assert [p.code for p in check_policy(ProductPolicy(channels=("web", " pos")))] == ["INVALID_CHANNEL"]
    assert [p.code for p in check_policy(ProductPolicy(channels=tuple(f"c{i}" for i in range(21))))] == [
        "TOO_MANY_CHANNELS"
    ]
    assert check_policy(ProductPolicy(SellingPolicy.PRE_ORDER, release_on=day(3), channels=("web",))) == []


def test_waiting_units_take_the_earliest_supply_first() -> None:
    supply = [Supply(10, day(9)), Supply(5, day(3))]

    assert free(supply, 0) == (Supply(5, day(3)), Supply(10, day(9)))
    assert free(supply, 7) == (Supply(8, day(9)),)
    assert free(supply, 15) == ()
    assert free(supply, 99) == ()


@given(
    st.lists(st.tuples(st.integers(1, 50), st.integers(0, 30)), max_size=5),
    st.integers(0, 300),
)
def test_free_supply_is_what_is_left_after_the_waiting_units(
    rows: list[tuple[int, int]], waiting: int
) -> None:
    supply = [Supply(q, day(d)) for q, d in rows]

    left = free(supply, waiting)

    assert sum(s.quantity for s in left) == max(0, sum(q for q, _ in rows) - waiting)
    assert all(s.quantity > 0 for s in left)
    assert [s.expected_on for s in left] == sorted(s.expected_on for s in left)


def a_node(
    location_id: str, *, on_hand: int = 0, incoming: tuple[Supply, ...] = (), lead: int = 2
) -> NodeStock:
    return NodeStock(location_id=location_id, on_hand=on_hand, incoming=incoming, lead_days=lead)


def test_a_backorder_waits_where_the_supply_arrives_soonest_counting_only_supply() -> None:
    near_late = a_node("near", on_hand=50, incoming=(Supply(10, day(9)),), lead=1)
    far_soon = a_node("far", incoming=(Supply(4, day(2)), Supply(6, day(4))), lead=4)

    found = promise([near_late, far_soon], 8, NOW, kind=SellingPolicy.BACKORDER, release_on=None)

    assert found is not None
    # ready Tuesday the 8th; four business days on is Monday the 14th (not the Saturday)
    assert (found.location_id, found.ready_on, found.promised_on) == ("far", day(4), day(10))
    assert promise([near_late, far_soon], 11, NOW, kind=SellingPolicy.BACKORDER, release_on=None) is None


def test_a_pre_order_counts_the_units_on_hand_and_waits_for_its_release() -> None:
    stocked = a_node("dfw", on_hand=25, lead=2)

    found = promise([stocked], 2, NOW, kind=SellingPolicy.PRE_ORDER, release_on=day(5))

    assert found is not None
    assert (found.ready_on, found.promised_on) == (day(5), day(7))


def test_arriving_units_go_to_the_oldest_waiting_lines_first_and_no_line_jumps_the_queue() -> None:
    oldest, middle, newest = a_backorder(5, placed=0), a_backorder(10, placed=1), a_backorder(2, placed=2)

    taken = serve([newest, middle, oldest], {("WOOL", "dfw"): 12}, TODAY)

    assert [(b.order_id, units) for b, units in taken] == [("order-0", 5), ("order-1", 7)]


def test_lines_wait_per_node_and_sku_and_a_pre_order_for_its_release() -> None:
    elsewhere = a_backorder(3, at="ewr", placed=0)
    pre = a_backorder(2, placed=1, release_on=day(5))
    after = a_backorder(1, placed=2)
    done = a_backorder(4, placed=3)
    done.status = BackorderStatus.CANCELLED
    other_sku = a_backorder(1, placed=4, sku="MUG")
    available = {("WOOL", "dfw"): 10, ("WOOL", "ewr"): 1, ("MUG", "dfw"): 1}

    before_release = serve([elsewhere, pre, after, done, other_sku], available, day(4))
    released = serve([elsewhere, pre, after, done, other_sku], available, day(5))

    assert [(b.order_id, u) for b, u in before_release] == [("order-0", 1), ("order-4", 1)]
    assert [(b.order_id, u) for b, u in released] == [
        ("order-0", 1),
        ("order-1", 2),
        ("order-2", 1),
        ("order-4", 1),
    ]


@given(st.lists(st.integers(1, 20), max_size=8), st.integers(0, 100))
def test_serving_never_gives_more_than_arrived_or_than_a_line_waits_for(
    quantities: list[int], arrived: int
) -> None:
    waiting = [a_backorder(q, placed=i) for i, q in enumerate(quantities)]

    taken = serve(waiting, {("WOOL", "dfw"): arrived}, TODAY)

    assert sum(units for _, units in taken) == min(arrived, sum(quantities))
    assert all(0 < units <= b.quantity for b, units in taken)
    served = [b.order_id for b, _ in taken]
    assert served == [b.order_id for b in waiting[: len(served)]]  # a prefix: in order of placement


def test_units_on_hand_go_to_the_waiting_lines_before_any_new_sale() -> None:
    arrived = a_node("dfw", on_hand=30, incoming=(Supply(40, day(10)),))

    for_new_sales = set_aside(arrived, 35, NOW)
    nothing_waits = set_aside(arrived, 0, NOW)

    assert ats(for_new_sales, NOW) == 0  # all 30 are the waiting lines'
    assert for_new_sales.incoming == (Supply(35, day(10)),)  # 5 still wait on the 40 due
    assert nothing_waits == arrived

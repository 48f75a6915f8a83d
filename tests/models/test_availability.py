from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ordergate.models.availability import (
    NodeStock,
    Supply,
    atp,
    ats,
    earliest_date,
    network_ats,
    promise_date,
    start_date,
    still_held,
)

NOW = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
TODAY = NOW.date()


def a_node(**overrides: object) -> NodeStock:
    values: dict[str, object] = {"location_id": "loc", "on_hand": 10, "as_of": NOW}
    values.update(overrides)
    return NodeStock(**values)  # type: ignore[arg-type]


def test_ats_subtracts_allocated_held_and_unavailable() -> None:
    assert ats(a_node(on_hand=10, allocated=3, reserved=2, unavailable=1), NOW) == 4


def test_ats_never_goes_below_zero() -> None:
    assert ats(a_node(on_hand=2, allocated=5), NOW) == 0


def test_a_stale_vendor_feed_counts_as_zero() -> None:
    vendor = a_node(on_hand=50, as_of=NOW - timedelta(hours=25), max_age=timedelta(hours=24))
    fresh_vendor = a_node(on_hand=50, as_of=NOW - timedelta(hours=23), max_age=timedelta(hours=24))

    assert ats(vendor, NOW) == 0
    assert ats(fresh_vendor, NOW) == 50


def test_atp_adds_supply_arriving_by_the_date() -> None:
    node = a_node(
        on_hand=1, incoming=(Supply(5, TODAY + timedelta(days=3)), Supply(7, TODAY + timedelta(days=10)))
    )

    assert atp(node, TODAY, NOW) == 1
    assert atp(node, TODAY + timedelta(days=3), NOW) == 6
    assert atp(node, TODAY + timedelta(days=30), NOW) == 13


def test_the_earliest_date_is_today_when_stock_covers_it() -> None:
    assert earliest_date(a_node(on_hand=3), 3, NOW) == TODAY


def test_the_earliest_date_waits_for_the_supply_that_covers_it() -> None:
    node = a_node(
        on_hand=1, incoming=(Supply(2, TODAY + timedelta(days=10)), Supply(5, TODAY + timedelta(days=3)))
    )

    assert earliest_date(node, 4, NOW) == TODAY + timedelta(days=3)
    assert earliest_date(node, 8, NOW) == TODAY + timedelta(days=10)
    assert earliest_date(node, 9, NOW) is None


def test_the_promise_adds_the_lead_time_in_business_days() -> None:
    # ready on Saturday the 28th: it leaves on Monday, and three business days later is Thursday
    assert promise_date(a_node(on_hand=3, lead_days=3), 1, NOW) == date(2026, 12, 3)


def test_a_full_node_starts_on_units_it_has_today_only_after_its_wait() -> None:
    node = a_node(on_hand=3, lead_days=3)
    friday = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)

    assert start_date(node, 1, friday) == date(2026, 12, 4)
    assert start_date(node, 1, friday, wait_days=1) == date(2026, 12, 7)  # Monday: the next working day
    assert start_date(node, 1, friday, wait_days=2) == date(2026, 12, 8)
    assert promise_date(node, 1, friday, wait_days=1) == date(2026, 12, 10)
    assert promise_date(node, 1, friday) == date(2026, 12, 9)


def test_a_full_nodes_wait_does_not_move_units_that_arrive_later_anyway() -> None:
    node = a_node(on_hand=0, incoming=(Supply(5, TODAY + timedelta(days=10)),), lead_days=2)

    assert start_date(node, 2, NOW, wait_days=3) == TODAY + timedelta(days=10)
    assert start_date(node, 6, NOW, wait_days=3) is None


def test_the_network_sells_what_its_nodes_sell_now() -> None:
    near_empty = a_node(
        location_id="a", on_hand=0, incoming=(Supply(5, TODAY + timedelta(days=2)),), lead_days=1
    )
    far_full = a_node(location_id="b", on_hand=9, lead_days=4)

    assert network_ats([near_empty, far_full], NOW) == 9


quantities = st.integers(min_value=0, max_value=10_000)


def test_an_order_routed_again_keeps_its_units_where_they_still_are() -> None:
    # 10 on hand, 5 allocated (2 of them this order's): all 2 are on the shelf for it, whatever
    # safety stock or holds keep from new sales.
    assert still_held(a_node(on_hand=10, allocated=5, reserved=4, unavailable=6), 2) == 2


def test_units_a_count_found_gone_are_not_kept() -> None:
    # The ERP now counts none where this order holds 2: it keeps none there. One left beside
    # another order's 1 allocated: the other order keeps it.
    assert still_held(a_node(on_hand=0, allocated=2), 2) == 0
    assert still_held(a_node(on_hand=1, allocated=3), 2) == 0
    assert still_held(a_node(on_hand=2, allocated=3), 2) == 1


@given(on_hand=quantities, others=quantities, own=quantities, reserved=quantities, unavailable=quantities)
def test_an_order_keeps_no_more_than_it_holds_nor_than_the_shelf_has_beyond_the_others(
    on_hand: int, others: int, own: int, reserved: int, unavailable: int
) -> None:
    node = a_node(on_hand=on_hand, allocated=others + own, reserved=reserved, unavailable=unavailable)
    kept = still_held(node, own)
    assert 0 <= kept <= own
    assert kept + others <= on_hand or kept == 0
    assert kept in (own, max(0, on_hand - others))  # all it holds, or what the others left
    # what routing counts free for it there never exceeds the units not claimed by the others
    assert ats(node, NOW) + kept <= max(0, on_hand - others)


@given(on_hand=quantities, allocated=quantities, reserved=quantities, unavailable=quantities)
def test_ats_is_never_negative_and_never_exceeds_on_hand(
    on_hand: int, allocated: int, reserved: int, unavailable: int
) -> None:
    node = a_node(on_hand=on_hand, allocated=allocated, reserved=reserved, unavailable=unavailable)

    assert 0 <= ats(node, NOW) <= on_hand


@given(
    on_hand=quantities,
    supplies=st.lists(st.tuples(st.integers(1, 500), st.integers(0, 60)), max_size=6),
    days=st.integers(0, 90),
)
def test_atp_never_decreases_with_time(on_hand: int, supplies: list[tuple[int, int]], days: int) -> None:
    node = a_node(on_hand=on_hand, incoming=tuple(Supply(q, TODAY + timedelta(days=d)) for q, d in supplies))
    later: date = TODAY + timedelta(days=days)

    assert atp(node, later, NOW) <= atp(node, later + timedelta(days=1), NOW)
    assert atp(node, TODAY, NOW) >= ats(node, NOW)

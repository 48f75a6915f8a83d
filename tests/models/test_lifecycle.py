from __future__ import annotations

import itertools

import pytest

from ordergate.models.errors import InvalidTransition
from ordergate.models.lifecycle import (
    TRANSITIONS,
    LineQuantities,
    OrderAction,
    derive_status,
    fulfillment_status,
    next_status,
    release_to,
)
from ordergate.models.order import FulfillmentStatus, OrderStatus

EVERY_PAIR = list(itertools.product(OrderStatus, OrderAction))


@pytest.mark.parametrize(
    ("status", "action"), EVERY_PAIR, ids=[f"{s.value}-{a.value}" for s, a in EVERY_PAIR]
)
def test_every_status_and_action_follows_the_table(status: OrderStatus, action: OrderAction) -> None:
    if (status, action) in TRANSITIONS:
        assert next_status(status, action) is TRANSITIONS[(status, action)]
    else:
        with pytest.raises(InvalidTransition):
            next_status(status, action)


def test_terminal_statuses_have_no_way_out() -> None:
    for terminal in (OrderStatus.COMPLETED, OrderStatus.CANCELLED):
        assert not [pair for pair in TRANSITIONS if pair[0] is terminal]


def test_every_status_is_reachable_from_pending() -> None:
    reached = {OrderStatus.PENDING}
    frontier = [OrderStatus.PENDING]
    while frontier:
        status = frontier.pop()
        for (source, _), target in TRANSITIONS.items():
            if source is status and target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(OrderStatus)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([LineQuantities(3)], FulfillmentStatus.UNFULFILLED),
        ([LineQuantities(3, fulfilled=2)], FulfillmentStatus.PARTIALLY_FULFILLED),
        ([LineQuantities(3, fulfilled=2, cancelled=1)], FulfillmentStatus.FULFILLED),
        ([LineQuantities(2, fulfilled=2), LineQuantities(1)], FulfillmentStatus.PARTIALLY_FULFILLED),
        ([LineQuantities(2, fulfilled=2, returned=1)], FulfillmentStatus.PARTIALLY_RETURNED),
        ([LineQuantities(2, fulfilled=2, returned=2)], FulfillmentStatus.RETURNED),
        ([LineQuantities(2, cancelled=2)], FulfillmentStatus.UNFULFILLED),
    ],
)
def test_fulfillment_status_is_derived_from_line_quantities(
    lines: list[LineQuantities], expected: FulfillmentStatus
) -> None:
    assert fulfillment_status(lines) is expected


def test_two_of_three_units_shipped_is_in_progress_not_complete() -> None:
    assert derive_status(OrderStatus.CONFIRMED, [LineQuantities(3, fulfilled=2)]) is OrderStatus.IN_PROGRESS


def test_all_units_shipped_or_cancelled_completes_the_order() -> None:
    lines = [LineQuantities(3, fulfilled=2, cancelled=1)]
    assert derive_status(OrderStatus.IN_PROGRESS, lines) is OrderStatus.COMPLETED


def test_every_unit_cancelled_cancels_the_order() -> None:
    assert derive_status(OrderStatus.CONFIRMED, [LineQuantities(2, cancelled=2)]) is OrderStatus.CANCELLED


def test_lines_never_move_a_held_order_to_complete() -> None:
    assert derive_status(OrderStatus.ON_HOLD, [LineQuantities(1, fulfilled=1)]) is OrderStatus.ON_HOLD


@pytest.mark.parametrize("before", [OrderStatus.PENDING, OrderStatus.CONFIRMED, OrderStatus.IN_PROGRESS])
def test_releasing_a_hold_returns_the_order_to_where_it_was(before: OrderStatus) -> None:
    assert release_to(before) is before


def test_releasing_without_a_known_prior_status_uses_the_table() -> None:
    assert release_to(None) is TRANSITIONS[(OrderStatus.ON_HOLD, OrderAction.RELEASE)]


def test_an_order_whose_units_all_shipped_waits_for_delivery_before_it_completes() -> None:
    shipped = [LineQuantities(2, fulfilled=2)]
    assert derive_status(OrderStatus.CONFIRMED, shipped, in_transit=True) is OrderStatus.IN_PROGRESS
    assert derive_status(OrderStatus.IN_PROGRESS, shipped, in_transit=True) is OrderStatus.IN_PROGRESS
    assert derive_status(OrderStatus.IN_PROGRESS, shipped, in_transit=False) is OrderStatus.COMPLETED


def test_in_transit_does_not_keep_an_order_with_nothing_fulfilled_from_cancelling() -> None:
    cancelled = [LineQuantities(2, cancelled=2)]
    assert derive_status(OrderStatus.CONFIRMED, cancelled, in_transit=True) is OrderStatus.CANCELLED

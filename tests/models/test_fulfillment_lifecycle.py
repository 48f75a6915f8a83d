from __future__ import annotations

import itertools

import pytest

from ordergate.models.errors import InvalidTransition
from ordergate.models.fulfillment import (
    FULFILLMENT_TRANSITIONS,
    METHOD_OF_ACTION,
    FulfillmentAction,
    FulfillmentOrderLine,
    FulfillmentOrderStatus,
    next_fulfillment_status,
    short_pick_problems,
)
from ordergate.models.order import DeliveryMethod

EVERY_MOVE = list(itertools.product(FulfillmentOrderStatus, FulfillmentAction, DeliveryMethod))


@pytest.mark.parametrize(
    ("status", "action", "method"),
    EVERY_MOVE,
    ids=[f"{s.value}-{a.value}-{m.value}" for s, a, m in EVERY_MOVE],
)
def test_every_move_follows_the_table_and_the_delivery_method(
    status: FulfillmentOrderStatus, action: FulfillmentAction, method: DeliveryMethod
) -> None:
    allowed = (status, action) in FULFILLMENT_TRANSITIONS and METHOD_OF_ACTION.get(action, method) is method
    if allowed:
        assert next_fulfillment_status(status, action, method) is FULFILLMENT_TRANSITIONS[(status, action)]
    else:
        with pytest.raises(InvalidTransition):
            next_fulfillment_status(status, action, method)


def test_the_ship_path_and_the_pickup_path() -> None:
    ship = [
        FulfillmentAction.ACCEPT,
        FulfillmentAction.START_PICKING,
        FulfillmentAction.PACK,
        FulfillmentAction.SHIP,
    ]
    pickup = [*ship[:3], FulfillmentAction.MARK_READY_FOR_PICKUP, FulfillmentAction.CONFIRM_PICKUP]
    for path, method, end in (
        (ship, DeliveryMethod.SHIP, FulfillmentOrderStatus.SHIPPED),
        (pickup, DeliveryMethod.PICKUP, FulfillmentOrderStatus.PICKED_UP),
    ):
        status = FulfillmentOrderStatus.OPEN
        for action in path:
            status = next_fulfillment_status(status, action, method)
        assert status is end


@pytest.mark.parametrize(
    "final",
    [
        FulfillmentOrderStatus.SHIPPED,
        FulfillmentOrderStatus.PICKED_UP,
        FulfillmentOrderStatus.CANCELLED,
        FulfillmentOrderStatus.REJECTED,
    ],
)
def test_finished_work_cannot_be_cancelled_or_moved(final: FulfillmentOrderStatus) -> None:
    assert not [pair for pair in FULFILLMENT_TRANSITIONS if pair[0] is final]


def test_only_work_not_yet_packed_can_be_rejected() -> None:
    # while picking too: a node that finds none of the units has no short pick to report
    rejectable = {s for (s, a) in FULFILLMENT_TRANSITIONS if a is FulfillmentAction.REJECT}
    assert rejectable == {
        FulfillmentOrderStatus.OPEN,
        FulfillmentOrderStatus.ACCEPTED,
        FulfillmentOrderStatus.PICKING,
    }


def test_a_short_pick_must_fit_the_work_and_leave_something_to_pick() -> None:
    lines = [
        FulfillmentOrderLine(fulfillment_order_id="fo", order_line_id="a", sku="MUG-BLUE", quantity=3),
        FulfillmentOrderLine(fulfillment_order_id="fo", order_line_id="b", sku="PAN-CAST-10", quantity=1),
    ]

    def codes(*missing: tuple[str, int]) -> list[tuple[str, tuple[str, ...] | None]]:
        return [(p.code, p.field) for p in short_pick_problems(lines, missing)]

    assert codes(("MUG-BLUE", 2)) == []
    assert codes(("MUG-BLUE", 3)) == []  # the pan still goes
    assert codes(("MUG-BLUE", 2), ("MUG-BLUE", 2)) == [("INVALID_QUANTITY", ("lines", "1", "missing"))]
    assert codes(("KETTLE-STEEL", 1)) == [("NOT_FOUND", ("lines", "0", "sku"))]
    assert codes(("PAN-CAST-10", -1)) == [("INVALID_QUANTITY", ("lines", "0", "missing"))]
    assert codes(("MUG-BLUE", 3), ("PAN-CAST-10", 1)) == [("SHORT_PICK_COVERS_ALL", ("lines",))]

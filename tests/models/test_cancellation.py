"""The cancellation planner over plain records: who may cancel which units, of which orders,
and what a cancellation writes (units released per node, fulfilment lines cut or gone, emptied
fulfilment orders cancelled, the lines' cancelled units, and whether the order is cancelled
whole). No database."""

from __future__ import annotations

from typing import Any

import pytest

from ordergate.models.allocation import PlanLine
from ordergate.models.cancellation import (
    NOT_GONE,
    NOT_STARTED,
    OrderCancellation,
    Release,
    check_cancellable,
    plan_order_cancellation,
    touchable_by,
)
from ordergate.models.commands import CancelOrder, LineQuantity
from ordergate.models.errors import Forbidden, InvalidTransition, ValidationFailed
from ordergate.models.fulfillment import FulfillmentOrder, FulfillmentOrderLine
from ordergate.models.fulfillment import FulfillmentOrderStatus as F
from ordergate.models.identity import Principal, Role
from ordergate.models.order import CancelReason, OrderLine, OrderStatus
from tests.models.records import a_fulfillment_line, a_fulfillment_order, an_order, an_order_line

MUG = an_order_line("l-mug", "MUG-BLUE", 2)
SOAP = an_order_line("l-soap", "SOAP-OLIVE-3", 1, position=1)


def cancel(*lines: tuple[str, int]) -> CancelOrder:
    return CancelOrder(
        "order-1", CancelReason.CUSTOMER, tuple(LineQuantity(*line) for line in lines) if lines else None
    )


def plan(
    command: CancelOrder,
    shares: list[tuple[FulfillmentOrder, list[FulfillmentOrderLine]]],
    *,
    lines: list[OrderLine] | None = None,
    touchable: frozenset[F] = NOT_GONE,
    **order: Any,
) -> OrderCancellation:
    return plan_order_cancellation(
        an_order(**order),
        lines if lines is not None else [MUG, SOAP],
        [share for share, _ in shares],
        {share.id: rows for share, rows in shares},
        command,
        touchable=touchable,
    )


def open_at(fo_id: str, status: F = F.OPEN, location_id: str = "loc-dfw", **units: int) -> Any:
    """A fulfilment order holding `units` per order line id (l_mug=2 is line l-mug)."""
    rows = [a_fulfillment_line(fo_id, key.replace("_", "-"), quantity) for key, quantity in units.items()]
    return a_fulfillment_order(fo_id, status, location_id), rows


def test_staff_cancel_any_unit_not_gone_customers_only_unstarted_ones_others_none() -> None:
    def as_(role: Role) -> Principal:
        return Principal(f"{role.value}-test", role, email="ann@example.com")

    assert touchable_by(as_(Role.ADMIN)) == touchable_by(as_(Role.AGENT)) == NOT_GONE
    assert touchable_by(as_(Role.CUSTOMER)) == NOT_STARTED
    for role in (Role.STOREFRONT, Role.ASSOCIATE):
        with pytest.raises(Forbidden):
            touchable_by(as_(role))


@pytest.mark.parametrize("status", [OrderStatus.CANCELLED, OrderStatus.COMPLETED])
def test_a_finished_order_has_nothing_left_to_cancel(status: OrderStatus) -> None:
    with pytest.raises(InvalidTransition) as raised:
        check_cancellable(an_order(status=status))

    assert raised.value.field == ("order_id",)
    assert str(raised.value) == f"a {status.value} order has nothing left to cancel"


@pytest.mark.parametrize(
    "status", [OrderStatus.PENDING, OrderStatus.ON_HOLD, OrderStatus.CONFIRMED, OrderStatus.IN_PROGRESS]
)
def test_an_order_on_its_way_can_be_cancelled(status: OrderStatus) -> None:
    check_cancellable(an_order(status=status))  # raises for an order it refuses
    cancelled = plan(cancel(), [open_at("fo-1", l_mug=2, l_soap=1)], status=status)

    assert cancelled.whole is True


def test_a_whole_order_cancelled_releases_every_unit_and_cancels_its_fulfilment_order() -> None:
    cancelled = plan(cancel(), [open_at("fo-1", l_mug=2, l_soap=1)], touchable=NOT_STARTED)

    assert cancelled.releases == (
        Release("fo-1", "fo-1/l-mug", PlanLine("MUG-BLUE", "loc-dfw", 2), 0),
        Release("fo-1", "fo-1/l-soap", PlanLine("SOAP-OLIVE-3", "loc-dfw", 1), 0),
    )
    assert cancelled.cancelled == {"l-mug": 2, "l-soap": 1}
    assert cancelled.emptied == (("fo-1", F.CANCELLED),)
    assert cancelled.amended == ("loc-dfw",)
    assert cancelled.whole is True


def test_one_unit_of_a_line_leaves_the_rest_of_its_work_in_place() -> None:
    cancelled = plan(cancel(("l-mug", 1)), [open_at("fo-1", l_mug=2, l_soap=1)])

    assert cancelled.releases == (Release("fo-1", "fo-1/l-mug", PlanLine("MUG-BLUE", "loc-dfw", 1), 1),)
    assert cancelled.cancelled == {"l-mug": 1}
    assert cancelled.emptied == ()
    assert cancelled.whole is False


def test_units_allocated_nowhere_go_first_and_release_nothing() -> None:
    # two mugs: one waits for an agent after a rejection, one is open at Dallas
    cancelled = plan(cancel(("l-mug", 1)), [open_at("fo-1", l_mug=1, l_soap=1)])

    assert cancelled.cancelled == {"l-mug": 1}
    assert cancelled.releases == ()
    assert cancelled.amended == ()


def test_the_least_advanced_work_gives_up_its_units_first_across_nodes() -> None:
    mugs = an_order_line("l-mug", "MUG-BLUE", 4)
    shares = [
        open_at("fo-ewr", F.ACCEPTED, "loc-ewr", l_mug=2),
        open_at("fo-dfw", F.OPEN, "loc-dfw", l_mug=2),
    ]

    cancelled = plan(cancel(("l-mug", 3)), shares, lines=[mugs])

    assert [(r.fulfillment_order_id, r.units.quantity, r.left) for r in cancelled.releases] == [
        ("fo-dfw", 2, 0),
        ("fo-ewr", 1, 1),
    ]
    assert cancelled.emptied == (("fo-dfw", F.CANCELLED),)
    assert cancelled.amended == ("loc-dfw", "loc-ewr")


def test_a_customer_cancelling_everything_leaves_work_a_node_started_on() -> None:
    shares = [open_at("fo-picking", F.PICKING, l_mug=2), open_at("fo-open", F.OPEN, "loc-ewr", l_soap=1)]

    customer = plan(cancel(), shares, touchable=NOT_STARTED)
    staff = plan(cancel(), shares, touchable=NOT_GONE)

    assert (customer.cancelled, customer.emptied, customer.whole) == (
        {"l-soap": 1},
        (("fo-open", F.CANCELLED),),
        False,
    )
    assert (staff.cancelled, staff.whole) == ({"l-mug": 2, "l-soap": 1}, True)
    assert ("fo-picking", F.CANCELLED) in staff.emptied


def test_with_every_unit_being_worked_on_a_customer_has_nothing_to_cancel() -> None:
    with pytest.raises(ValidationFailed) as raised:
        plan(cancel(), [open_at("fo-1", F.PACKED, l_mug=2, l_soap=1)], touchable=NOT_STARTED)

    assert [(p.code, p.field) for p in raised.value.problems] == [("NOTHING_TO_CANCEL", ("order_id",))]


def test_cancelling_what_is_left_of_a_partly_shipped_order_does_not_cancel_the_order() -> None:
    mugs = an_order_line("l-mug", "MUG-BLUE", 2, quantity_fulfilled=1)
    shares = [open_at("fo-shipped", F.SHIPPED, l_mug=1), open_at("fo-open", F.OPEN, "loc-ewr", l_mug=1)]

    cancelled = plan(cancel(), shares, lines=[mugs], status=OrderStatus.IN_PROGRESS)

    assert cancelled.cancelled == {"l-mug": 1}
    assert [r.fulfillment_order_id for r in cancelled.releases] == ["fo-open"]
    assert cancelled.whole is False  # one mug left with the customer


def test_every_wrong_line_is_named_with_its_field() -> None:
    with pytest.raises(ValidationFailed) as raised:
        plan(
            cancel(("l-nope", 1), ("l-mug", 0), ("l-soap", 2)),
            [open_at("fo-1", l_mug=2, l_soap=1)],
        )

    assert [(p.code, p.field) for p in raised.value.problems] == [
        ("NOT_FOUND", ("lines", "0", "line_id")),
        ("INVALID_QUANTITY", ("lines", "1", "quantity")),
        ("NOT_CANCELLABLE", ("lines", "2", "quantity")),
    ]
    assert raised.value.problems[2].message == "only 1 of this line can still be cancelled"


def test_a_cut_spanning_two_lines_of_one_fulfilment_order_takes_from_each_in_turn() -> None:
    share = a_fulfillment_order("fo-1", F.OPEN)
    rows = [
        FulfillmentOrderLine(
            id="row-a", fulfillment_order_id="fo-1", order_line_id="l-mug", sku="MUG-BLUE", quantity=1
        ),
        FulfillmentOrderLine(
            id="row-b", fulfillment_order_id="fo-1", order_line_id="l-mug", sku="MUG-BLUE", quantity=1
        ),
    ]

    cancelled = plan(cancel(("l-mug", 2)), [(share, rows)], lines=[MUG])

    assert [(r.fulfillment_line_id, r.units.quantity, r.left) for r in cancelled.releases] == [
        ("row-a", 1, 0),
        ("row-b", 1, 0),
    ]
    assert cancelled.emptied == (("fo-1", F.CANCELLED),)


def test_the_planner_changes_nothing_it_is_given() -> None:
    share, rows = open_at("fo-1", l_mug=2, l_soap=1)
    mug = an_order_line("l-mug", "MUG-BLUE", 2)

    plan(cancel(), [(share, rows)], lines=[mug])

    assert (share.status, [row.quantity for row in rows], mug.quantity_cancelled) == (F.OPEN, [2, 1], 0)

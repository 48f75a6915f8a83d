"""The return planner over plain records: who may ask and until when, how many units of each
line can still come back, and every refusal with the field it names. No database."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from ordergate.models.commands import ReturnLineRequest
from ordergate.models.errors import Forbidden, InvalidTransition, ValidationFailed
from ordergate.models.events import EventType
from ordergate.models.identity import Principal, Role
from ordergate.models.returns import (
    LABEL_TRANSITIONS,
    MAX_REASON,
    OPEN_RETURNS,
    LabelAction,
    ReturnAction,
    ReturnLabelStatus,
    ReturnPlan,
    ReturnStatus,
    bound_by_window,
    check_return_window,
    expires,
    label_due,
    label_to_void,
    last_left,
    next_return_status,
    pending_units,
    plan_return,
    refunded_elsewhere,
    retried_label_status,
    send_by,
    track_return,
)
from ordergate.models.shipment import TrackingStatus, label_used
from tests.models.records import NOW, a_product, a_return, a_return_line, an_event, an_order_line

WINDOW = timedelta(days=30)
MUG = an_order_line("l-mug", "MUG-BLUE", 2, quantity_fulfilled=2)
SOAP = an_order_line("l-soap", "SOAP-OLIVE-3", 1, position=1, quantity_fulfilled=1)
PRODUCTS = {"MUG-BLUE": a_product("MUG-BLUE"), "SOAP-OLIVE-3": a_product("SOAP-OLIVE-3")}


def asking(*items: tuple[str, int] | tuple[str, int, str]) -> list[ReturnLineRequest]:
    return [ReturnLineRequest(item[0], item[1], item[2] if len(item) > 2 else "chipped") for item in items]


def plan(requested: list[ReturnLineRequest], **kw: Any) -> ReturnPlan:
    return plan_return(
        "order-1",
        kw.pop("lines", [MUG, SOAP]),
        kw.pop("pending", {}),
        kw.pop("products", PRODUCTS),
        requested,
        requested_by="customer-test",
        now=NOW,
    )


def refusals(requested: list[ReturnLineRequest], **kw: Any) -> list[tuple[str, tuple[str, ...] | None, str]]:
    with pytest.raises(ValidationFailed) as raised:
        plan(requested, **kw)
    return [(p.code, p.field, p.message) for p in raised.value.problems]


def test_customers_ask_within_the_window_agents_any_time_others_never() -> None:
    def as_(role: Role) -> Principal:
        return Principal(f"{role.value}-test", role, email="ann@example.com")

    assert bound_by_window(as_(Role.CUSTOMER)) is True
    assert bound_by_window(as_(Role.AGENT)) is bound_by_window(as_(Role.ADMIN)) is False
    for role in (Role.STOREFRONT, Role.ASSOCIATE):
        with pytest.raises(Forbidden):
            bound_by_window(as_(role))


def test_units_last_left_when_the_latest_shipment_or_pickup_did() -> None:
    events = [
        an_event(EventType.FULFILLMENT_SHIPPED.value, NOW - timedelta(days=9)),
        an_event(EventType.FULFILLMENT_PICKED_UP.value, NOW - timedelta(days=3)),
        an_event(EventType.ORDER_CONFIRMED.value, NOW - timedelta(days=1)),
    ]

    assert last_left(events) == NOW - timedelta(days=3)
    assert last_left(events[2:]) is None


def test_nothing_can_be_returned_before_a_unit_left_even_by_an_agent() -> None:
    with pytest.raises(ValidationFailed) as raised:
        check_return_window(None, now=NOW, window=WINDOW, bound=False)

    assert [(p.code, p.field) for p in raised.value.problems] == [("NOTHING_TO_RETURN", ("order_id",))]


def test_the_window_closes_just_after_its_last_instant_for_customers_only() -> None:
    left_at = NOW - WINDOW

    check_return_window(left_at, now=NOW, window=WINDOW, bound=True)  # the last instant: inside
    check_return_window(left_at - timedelta(days=300), now=NOW, window=WINDOW, bound=False)  # an agent
    with pytest.raises(ValidationFailed) as raised:
        check_return_window(left_at - timedelta(microseconds=1), now=NOW, window=WINDOW, bound=True)

    assert [(p.code, p.field, p.message) for p in raised.value.problems] == [
        ("RETURN_WINDOW_CLOSED", ("order_id",), "returns are accepted for 30 days")
    ]


def test_only_returns_still_open_hold_units_back() -> None:
    returns = [a_return(f"r-{status.value}", status) for status in ReturnStatus]
    lines = {order_return.id: [a_return_line(order_return.id, "l-mug", 1)] for order_return in returns}

    assert pending_units(returns, lines) == {"l-mug": 2}  # REQUESTED and APPROVED


def test_a_return_is_requested_for_the_lines_asked_with_their_reasons_trimmed() -> None:
    planned = plan(asking(("l-mug", 2, "  chipped  "), ("l-soap", 1, "smells odd")))

    order_return = planned.order_return
    assert (order_return.order_id, order_return.status) == ("order-1", ReturnStatus.REQUESTED)
    assert (order_return.requested_by, order_return.requested_at) == ("customer-test", NOW)
    assert [(x.return_id, x.order_line_id, x.sku, x.quantity, x.reason) for x in planned.lines] == [
        (order_return.id, "l-mug", "MUG-BLUE", 2, "chipped"),
        (order_return.id, "l-soap", "SOAP-OLIVE-3", 1, "smells odd"),
    ]
    assert planned.units == 3


def test_a_product_the_catalogue_no_longer_has_can_still_come_back() -> None:
    assert plan(asking(("l-mug", 1)), products={}).units == 1


@pytest.mark.parametrize(
    ("line", "pending", "left"),
    [
        (an_order_line("l-mug", "MUG-BLUE", 3, quantity_fulfilled=2), {}, 2),  # one never left
        (an_order_line("l-mug", "MUG-BLUE", 2, quantity_fulfilled=2, quantity_returned=1), {}, 1),
        (MUG, {"l-mug": 2}, 0),  # asked for in an open return already
        (an_order_line("l-mug", "MUG-BLUE", 2), {}, 0),  # nothing shipped yet
    ],
    ids=["unshipped-unit", "returned", "pending", "nothing-left"],
)
def test_only_units_that_left_and_are_not_back_or_asked_for_can_be_returned(
    line: Any, pending: dict[str, int], left: int
) -> None:
    if left:
        assert plan(asking(("l-mug", left)), lines=[line], pending=pending).units == left
    assert refusals(asking(("l-mug", left + 1)), lines=[line], pending=pending) == [
        (
            "NOT_RETURNABLE_QUANTITY",
            ("lines", "0", "quantity"),
            f"only {left} of this line can be returned",
        )
    ]


def test_one_line_asked_twice_in_a_request_counts_both_times() -> None:
    assert refusals(asking(("l-mug", 1), ("l-mug", 2))) == [
        (
            "NOT_RETURNABLE_QUANTITY",
            ("lines", "1", "quantity"),
            "only 1 of this line can be returned",
        )
    ]


def test_every_wrong_line_is_named_with_its_field() -> None:
    products = PRODUCTS | {"SOAP-OLIVE-3": a_product("SOAP-OLIVE-3", returnable=False)}

    found = refusals(
        asking(
            ("l-nope", 1),
            ("l-mug", 0),
            ("l-soap", 1),
            ("l-mug", 1, "   "),
            ("l-mug", 1, "x" * (MAX_REASON + 1)),
        ),
        products=products,
    )

    assert [(code, field) for code, field, _ in found] == [
        ("NOT_FOUND", ("lines", "0", "line_id")),
        ("INVALID_QUANTITY", ("lines", "1", "quantity")),
        ("NOT_RETURNABLE", ("lines", "2", "line_id")),
        ("INVALID_REASON", ("lines", "3", "reason")),
        ("INVALID_REASON", ("lines", "4", "reason")),
    ]


def test_a_line_wrong_twice_is_named_twice_and_a_reason_of_the_longest_length_passes() -> None:
    assert [code for code, _, _ in refusals(asking(("l-mug", 5, "")))] == [
        "NOT_RETURNABLE_QUANTITY",
        "INVALID_REASON",
    ]
    assert plan(asking(("l-mug", 1, "x" * MAX_REASON))).units == 1


def test_a_request_must_name_a_line() -> None:
    assert refusals([]) == [("REQUIRED", ("lines",), "name at least one line to return")]


def test_a_label_moves_on_by_the_carrier_s_answer_a_retry_of_a_failed_one_or_a_void_of_a_bought_one() -> None:
    label, act = ReturnLabelStatus, LabelAction
    assert LABEL_TRANSITIONS == {
        (label.PENDING, act.BUY): label.PURCHASED,
        (label.PENDING, act.REFUSE): label.FAILED,
        (label.PENDING, act.CANCEL): label.CANCELLED,
        (label.FAILED, act.RETRY): label.PENDING,
        (label.PURCHASED, act.VOID): label.VOIDED,
    }
    assert not any(status in (label.CANCELLED, label.VOIDED) for status, _ in LABEL_TRANSITIONS)  # final


@pytest.mark.parametrize(
    ("status", "label", "void"),
    [
        (ReturnStatus.APPROVED, ReturnLabelStatus.PURCHASED, False),  # the customer may still use it
        (ReturnStatus.RECEIVED, ReturnLabelStatus.PURCHASED, True),
        (ReturnStatus.REFUNDED, ReturnLabelStatus.PURCHASED, True),
        (ReturnStatus.CLOSED, ReturnLabelStatus.PURCHASED, True),
        (ReturnStatus.RECEIVED, ReturnLabelStatus.PENDING, False),  # the purchase is cancelled instead
        (ReturnStatus.RECEIVED, ReturnLabelStatus.FAILED, False),
        (ReturnStatus.RECEIVED, ReturnLabelStatus.VOIDED, False),
        (ReturnStatus.RECEIVED, None, False),  # handed over in store: no label
    ],
)
def test_a_bought_label_is_voided_once_its_return_no_longer_waits_for_the_parcel(
    status: ReturnStatus, label: ReturnLabelStatus | None, void: bool
) -> None:
    assert label_to_void(a_return("r-1", status, label_status=label)) is void


@pytest.mark.parametrize(
    ("tracking", "used"),
    [
        (None, False),  # the carrier knows nothing of it
        (TrackingStatus.UNKNOWN, False),
        (TrackingStatus.LABEL_CREATED, False),
        (TrackingStatus.ACCEPTED, True),
        (TrackingStatus.IN_TRANSIT, True),
        (TrackingStatus.DELIVERED, True),
        (TrackingStatus.EXCEPTION, True),
    ],
)
def test_a_label_is_used_once_the_carrier_has_scanned_a_parcel_on_it(
    tracking: TrackingStatus | None, used: bool
) -> None:
    assert label_used(tracking) is used


TTL = timedelta(days=14)


@pytest.mark.parametrize(
    ("status", "label", "bought", "due"),
    [
        (ReturnStatus.APPROVED, ReturnLabelStatus.PURCHASED, NOW, NOW + TTL),
        (ReturnStatus.APPROVED, ReturnLabelStatus.PENDING, None, None),  # nothing to send with yet
        (ReturnStatus.APPROVED, ReturnLabelStatus.FAILED, None, None),  # an agent's to fix first
        (ReturnStatus.APPROVED, None, None, None),  # handed over in store: it waits at the counter
        (ReturnStatus.RECEIVED, ReturnLabelStatus.PURCHASED, NOW, None),  # back already
        (ReturnStatus.EXPIRED, ReturnLabelStatus.PURCHASED, NOW, None),
        (ReturnStatus.EXPIRED, ReturnLabelStatus.VOIDED, NOW, None),
    ],
)
def test_a_parcel_is_due_within_the_label_s_time_while_the_return_waits_for_it(
    status: ReturnStatus, label: ReturnLabelStatus | None, bought: Any, due: Any
) -> None:
    order_return = a_return("r-1", status, label_status=label, label_created_at=bought)
    assert label_due(order_return, TTL) == due
    assert label_due(order_return, None) is None  # labels that never expire


def test_a_return_expires_just_after_its_label_s_last_instant_and_the_customer_is_told_the_day_before() -> (
    None
):
    order_return = a_return(
        "r-1", ReturnStatus.APPROVED, label_status=ReturnLabelStatus.PURCHASED, label_created_at=NOW
    )
    assert not expires(order_return, TTL, NOW + TTL)
    assert expires(order_return, TTL, NOW + TTL + timedelta(microseconds=1))
    assert not expires(order_return, None, NOW + timedelta(days=999))
    assert send_by(order_return, TTL) == (NOW + TTL).date() - timedelta(days=1)
    assert isinstance(send_by(order_return, TTL), date)
    assert send_by(order_return, None) is None


def test_a_return_is_received_once_approved_or_at_a_counter_before_any_decision() -> None:
    assert next_return_status(ReturnStatus.APPROVED, ReturnAction.RECEIVE) is ReturnStatus.RECEIVED
    assert next_return_status(ReturnStatus.REQUESTED, ReturnAction.RECEIVE) is ReturnStatus.RECEIVED
    for status in (ReturnStatus.DECLINED, ReturnStatus.EXPIRED, ReturnStatus.RECEIVED, ReturnStatus.CLOSED):
        with pytest.raises(InvalidTransition):
            next_return_status(status, ReturnAction.RECEIVE)


def test_only_an_approved_return_expires_and_an_expired_one_is_awaited_again_once_picked_up() -> None:
    assert next_return_status(ReturnStatus.APPROVED, ReturnAction.EXPIRE) is ReturnStatus.EXPIRED
    for status in set(ReturnStatus) - {ReturnStatus.APPROVED}:
        with pytest.raises(InvalidTransition):
            next_return_status(status, ReturnAction.EXPIRE)
    for action in set(ReturnAction) - {ReturnAction.PICK_UP}:
        with pytest.raises(InvalidTransition):
            next_return_status(ReturnStatus.EXPIRED, action)
    assert next_return_status(ReturnStatus.EXPIRED, ReturnAction.PICK_UP) is ReturnStatus.APPROVED
    for status in set(ReturnStatus) - {ReturnStatus.EXPIRED}:
        with pytest.raises(InvalidTransition):
            next_return_status(status, ReturnAction.PICK_UP)
    assert ReturnStatus.EXPIRED not in OPEN_RETURNS  # its units may be asked for again


def test_a_failed_label_of_an_approved_return_is_pending_again_when_retried() -> None:
    failed = a_return("r-1", ReturnStatus.APPROVED, label_status=ReturnLabelStatus.FAILED)

    assert retried_label_status(failed) is ReturnLabelStatus.PENDING


@pytest.mark.parametrize(
    ("status", "label"),
    [
        (ReturnStatus.APPROVED, ReturnLabelStatus.PENDING),
        (ReturnStatus.APPROVED, ReturnLabelStatus.PURCHASED),
        (ReturnStatus.APPROVED, ReturnLabelStatus.CANCELLED),
        (ReturnStatus.APPROVED, None),  # handed over in store: no label
        (ReturnStatus.RECEIVED, ReturnLabelStatus.FAILED),  # back already: no label needed
        (ReturnStatus.CLOSED, ReturnLabelStatus.FAILED),
    ],
)
def test_only_a_failed_label_of_a_return_waiting_for_its_parcel_can_be_retried(
    status: ReturnStatus, label: ReturnLabelStatus | None
) -> None:
    with pytest.raises(InvalidTransition):
        retried_label_status(a_return("r-1", status, label_status=label))


def back(return_id: str, status: ReturnStatus, hours: int) -> Any:
    return a_return(return_id, status, received_at=NOW + timedelta(hours=hours))


def test_a_received_return_is_settled_once_the_refunded_units_cover_it_past_the_cancelled_ones() -> None:
    mugs_back = back("r1", ReturnStatus.RECEIVED, 1)
    lines = {"r1": [a_return_line("r1", "l1", 2)]}

    # one mug cancelled here: its refund comes first, so two refunded do not cover two back
    assert refunded_elsewhere({"MUG-BLUE": 2}, {"MUG-BLUE": 1}, [mugs_back], lines) == []
    assert refunded_elsewhere({"MUG-BLUE": 3}, {"MUG-BLUE": 1}, [mugs_back], lines) == [mugs_back]
    assert refunded_elsewhere({}, {}, [mugs_back], lines) == []  # money alone (goodwill) closes nothing


def test_returns_are_covered_in_the_order_they_came_back_each_whole() -> None:
    earlier, later = back("r1", ReturnStatus.RECEIVED, 1), back("r2", ReturnStatus.RECEIVED, 2)
    lines = {
        "r1": [a_return_line("r1", "l1", 1), a_return_line("r1", "l2", 1, sku="PLATE-DINNER")],
        "r2": [a_return_line("r2", "l1", 1)],
    }

    assert refunded_elsewhere({"MUG-BLUE": 1}, {}, [later, earlier], lines) == []  # the mug was r1's
    assert refunded_elsewhere({"MUG-BLUE": 2}, {}, [later, earlier], lines) == [
        later
    ]  # r1 waits for its plate
    assert refunded_elsewhere({"MUG-BLUE": 2, "PLATE-DINNER": 1}, {}, [later, earlier], lines) == [
        earlier,
        later,
    ]


def test_returns_settled_already_count_and_returns_not_back_are_not_settled() -> None:
    closed = back("r1", ReturnStatus.CLOSED, 1)
    received = back("r2", ReturnStatus.RECEIVED, 2)
    approved = a_return("r3", ReturnStatus.APPROVED)
    lines = {r: [a_return_line(r, "l1", 1)] for r in ("r1", "r2", "r3")}

    assert refunded_elsewhere({"MUG-BLUE": 1}, {}, [closed, received, approved], lines) == []
    assert refunded_elsewhere({"MUG-BLUE": 3}, {}, [closed, received, approved], lines) == [received]


# -- the carrier's tracking of a return label ---------------------------------------------------

T = TrackingStatus
WAITING = {"label_status": ReturnLabelStatus.PURCHASED, "label_created_at": NOW}


def scans(*steps: tuple[int, TrackingStatus]) -> list[tuple[Any, TrackingStatus]]:
    return [(NOW + timedelta(hours=hours), status) for hours, status in steps]


def test_the_first_scan_tells_the_customer_the_return_is_on_its_way_and_it_no_longer_expires() -> None:
    order_return = a_return("r-1", ReturnStatus.APPROVED, **WAITING)
    before = label_due(order_return, TTL)

    tracked = track_return(order_return, T.IN_TRANSIT, scans((2, T.ACCEPTED), (5, T.IN_TRANSIT)), NOW)
    order_return.label_tracking, order_return.label_tracked_at = tracked.tracking, tracked.tracked_at
    order_return.label_picked_up_at = tracked.picked_up_at

    assert (tracked.tracking, tracked.tracked_at) == (T.IN_TRANSIT, NOW + timedelta(hours=5))
    assert tracked.picked_up_at == NOW + timedelta(hours=2)  # the carrier's first scan
    assert (tracked.events, tracked.reopened) == ((EventType.RETURN_IN_TRANSIT,), False)
    assert before is not None
    assert label_due(order_return, TTL) is None
    assert not expires(order_return, TTL, NOW + TTL * 2)
    assert send_by(order_return, TTL) is None


def test_a_label_the_carrier_only_knows_of_is_not_on_its_way() -> None:
    order_return = a_return("r-1", ReturnStatus.APPROVED, **WAITING)

    tracked = track_return(order_return, T.LABEL_CREATED, scans((1, T.LABEL_CREATED)), NOW)

    assert (tracked.tracking, tracked.picked_up_at, tracked.events) == (T.LABEL_CREATED, None, ())


def test_delivery_to_the_node_is_told_once_and_an_older_message_moves_nothing_back() -> None:
    on_its_way = {"label_tracking": T.IN_TRANSIT, "label_picked_up_at": NOW}
    order_return = a_return("r-1", ReturnStatus.APPROVED, **WAITING, **on_its_way, label_tracked_at=NOW)
    delivered = track_return(order_return, T.DELIVERED, scans((30, T.DELIVERED)), NOW)
    order_return.label_tracking, order_return.label_tracked_at = delivered.tracking, delivered.tracked_at

    again = track_return(order_return, T.DELIVERED, scans((30, T.DELIVERED)), NOW)
    older = track_return(order_return, T.IN_TRANSIT, scans((0, T.ACCEPTED), (20, T.IN_TRANSIT)), NOW)

    assert delivered.events == (EventType.RETURN_DELIVERED,)
    assert (again.tracking, again.events) == (T.DELIVERED, ())
    assert (older.tracking, older.tracked_at, older.events) == (T.DELIVERED, NOW + timedelta(hours=30), ())
    assert older.picked_up_at == NOW  # its first scan is no earlier than the one kept


def test_a_carrier_that_says_the_parcel_moves_without_a_scan_has_had_it_since_now() -> None:
    order_return = a_return("r-1", ReturnStatus.APPROVED, **WAITING)

    tracked = track_return(order_return, T.IN_TRANSIT, [], NOW + timedelta(days=2))

    assert (tracked.picked_up_at, tracked.tracked_at) == (NOW + timedelta(days=2), None)
    assert tracked.events == (EventType.RETURN_IN_TRANSIT,)


def test_a_parcel_picked_up_after_its_return_expired_is_awaited_again_unless_asked_for_again() -> None:
    expired = a_return("r-1", ReturnStatus.EXPIRED, **WAITING)

    late = track_return(expired, T.ACCEPTED, scans((400, T.ACCEPTED)), NOW)
    asked_again = track_return(expired, T.ACCEPTED, scans((400, T.ACCEPTED)), NOW, asked_again=True)

    assert (late.reopened, late.events) == (True, (EventType.RETURN_IN_TRANSIT,))
    assert (asked_again.reopened, asked_again.events) == (False, ())
    assert asked_again.picked_up_at == NOW + timedelta(hours=400)  # kept all the same


@pytest.mark.parametrize("status", [ReturnStatus.RECEIVED, ReturnStatus.CLOSED, ReturnStatus.DECLINED])
def test_a_parcel_scanned_after_its_return_moved_on_is_kept_and_tells_nobody(status: ReturnStatus) -> None:
    order_return = a_return("r-1", status, **WAITING)

    tracked = track_return(order_return, T.DELIVERED, scans((1, T.ACCEPTED), (9, T.DELIVERED)), NOW)

    assert (tracked.tracking, tracked.picked_up_at) == (T.DELIVERED, NOW + timedelta(hours=1))
    assert (tracked.reopened, tracked.events) == (False, ())

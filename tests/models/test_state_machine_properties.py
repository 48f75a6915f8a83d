"""Property tests over the pure rules: random walks through each state machine (order,
fulfilment order, return), the statuses derived from line quantities, the cancellation plan,
the fraud screen and the tax arithmetic. Each walk applies any action at all, so a move the
table does not allow must be refused, and one it allows must land where the table says."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordergate.models.cancellation import (
    LEAST_ADVANCED_FIRST,
    NOT_GONE,
    NOT_STARTED,
    Holding,
    plan_cancellation,
)
from ordergate.models.errors import InvalidTransition
from ordergate.models.fraud import Facts, FraudPolicy, screen
from ordergate.models.fulfillment import (
    FULFILLMENT_TRANSITIONS,
    METHOD_OF_ACTION,
    FulfillmentAction,
    FulfillmentOrderStatus,
    next_fulfillment_status,
)
from ordergate.models.lifecycle import (
    TRANSITIONS,
    LineQuantities,
    OrderAction,
    derive_status,
    fulfillment_status,
    next_status,
)
from ordergate.models.order import DeliveryMethod, FulfillmentStatus, OrderStatus
from ordergate.models.pricing import PricedLine, PricingRule, ShippingPolicy, TaxPlace, as_sold
from ordergate.models.returns import RETURN_TRANSITIONS, ReturnAction, ReturnStatus, next_return_status

TERMINAL_ORDER = {OrderStatus.COMPLETED, OrderStatus.CANCELLED}
TERMINAL_FULFILLMENT = {
    FulfillmentOrderStatus.SHIPPED,
    FulfillmentOrderStatus.PICKED_UP,
    FulfillmentOrderStatus.REJECTED,
    FulfillmentOrderStatus.CANCELLED,
}


@given(st.lists(st.sampled_from(list(OrderAction)), max_size=30))
def test_an_order_moves_only_as_its_table_says_and_never_leaves_an_end(actions: list[OrderAction]) -> None:
    status = OrderStatus.PENDING
    for action in actions:
        if (status, action) in TRANSITIONS:
            before, status = status, next_status(status, action)
            assert status is TRANSITIONS[(before, action)]
        else:
            with pytest.raises(InvalidTransition):
                next_status(status, action)
        if status in TERMINAL_ORDER:
            assert all((status, a) not in TRANSITIONS for a in OrderAction)


@given(
    st.sampled_from(list(DeliveryMethod)),
    st.lists(st.sampled_from(list(FulfillmentAction)), max_size=30),
)
def test_a_fulfilment_order_moves_only_as_its_table_and_method_allow(
    method: DeliveryMethod, actions: list[FulfillmentAction]
) -> None:
    status = FulfillmentOrderStatus.OPEN
    path = [status]
    for action in actions:
        fits = METHOD_OF_ACTION.get(action, method) is method
        if fits and (status, action) in FULFILLMENT_TRANSITIONS:
            status = next_fulfillment_status(status, action, method)
            path.append(status)
        else:
            with pytest.raises(InvalidTransition):
                next_fulfillment_status(status, action, method)
    if status is FulfillmentOrderStatus.SHIPPED:  # nothing ships unpicked or unpacked
        assert FulfillmentOrderStatus.PICKING in path
        assert FulfillmentOrderStatus.PACKED in path
        assert method is DeliveryMethod.SHIP
    if status in TERMINAL_FULFILLMENT:
        assert all((status, a) not in FULFILLMENT_TRANSITIONS for a in FulfillmentAction)


@given(st.lists(st.sampled_from(list(ReturnAction)), max_size=20))
def test_a_return_is_received_only_once_approved_and_closing_is_final(actions: list[ReturnAction]) -> None:
    """An expired return comes back only as the carrier picks its parcel up (awaited again)."""
    status = ReturnStatus.REQUESTED
    seen = [status]
    for action in actions:
        if (status, action) in RETURN_TRANSITIONS:
            status = next_return_status(status, action)
            seen.append(status)
        else:
            with pytest.raises(InvalidTransition):
                next_return_status(status, action)
    if ReturnStatus.RECEIVED in seen:  # once approved, or handed in at a counter before a decision
        assert seen[seen.index(ReturnStatus.RECEIVED) - 1] in (ReturnStatus.APPROVED, ReturnStatus.REQUESTED)
    assert ReturnStatus.DECLINED not in seen or ReturnStatus.RECEIVED not in seen
    for before, after in itertools.pairwise(seen):
        if before is ReturnStatus.EXPIRED:
            assert after is ReturnStatus.APPROVED  # its parcel picked up after all
    if status in (ReturnStatus.CLOSED, ReturnStatus.DECLINED):
        assert all((status, a) not in RETURN_TRANSITIONS for a in ReturnAction)
    if status is ReturnStatus.EXPIRED:
        assert [a for a in ReturnAction if (status, a) in RETURN_TRANSITIONS] == [ReturnAction.PICK_UP]


line_quantities = st.builds(
    lambda quantity, fulfilled_share, cancelled_share, returned_share: LineQuantities(
        quantity,
        fulfilled := quantity * fulfilled_share // 4,
        (quantity - fulfilled) * cancelled_share // 4,
        fulfilled * returned_share // 4,
    ),
    st.integers(1, 12),
    st.integers(0, 4),
    st.integers(0, 4),
    st.integers(0, 4),
)


@given(st.lists(line_quantities, min_size=1, max_size=6), st.sampled_from(list(OrderStatus)), st.booleans())
def test_statuses_follow_from_the_quantities(
    lines: list[LineQuantities], status: OrderStatus, in_transit: bool
) -> None:
    fulfilled = sum(line.fulfilled for line in lines)
    returned = sum(line.returned for line in lines)
    open_units = sum(line.open for line in lines)

    derived = fulfillment_status(lines)
    after = derive_status(status, lines, in_transit=in_transit)

    if fulfilled == 0:
        assert derived is FulfillmentStatus.UNFULFILLED
    elif returned == fulfilled:
        assert derived is FulfillmentStatus.RETURNED
    elif returned:
        assert derived is FulfillmentStatus.PARTIALLY_RETURNED
    else:
        assert derived is (
            FulfillmentStatus.PARTIALLY_FULFILLED if open_units else FulfillmentStatus.FULFILLED
        )
    if status in TERMINAL_ORDER:
        assert after is status  # an ended order stays ended
    if after is OrderStatus.COMPLETED and status is not OrderStatus.COMPLETED:
        assert open_units == 0
        assert not in_transit
    if after is OrderStatus.CANCELLED and status is not OrderStatus.CANCELLED:
        assert open_units == 0
        assert fulfilled == 0


holdings = st.lists(
    st.builds(
        Holding,
        fulfillment_order_id=st.sampled_from(["fo-1", "fo-2", "fo-3"]),
        status=st.sampled_from(LEAST_ADVANCED_FIRST),
        line_id=st.sampled_from(["a", "b"]),
        quantity=st.integers(1, 4),
    ),
    max_size=5,
    unique_by=lambda h: (h.fulfillment_order_id, h.line_id),
)


@given(
    holdings,
    st.integers(0, 3),
    st.one_of(st.none(), st.dictionaries(st.sampled_from(["a", "b", "x"]), st.integers(-1, 9), min_size=1)),
    st.booleans(),
)
def test_a_cancellation_takes_exactly_what_was_asked_from_work_it_may_touch(
    held: list[Holding], unallocated: int, requested: dict[str, int] | None, staff: bool
) -> None:
    open_units = {
        line: sum(h.quantity for h in held if h.line_id == line) + (unallocated if line == "a" else 0)
        for line in ("a", "b")
    }
    touchable = NOT_GONE if staff else NOT_STARTED

    plan = plan_cancellation(open_units, held, requested, touchable=touchable)

    if plan.problems:
        assert plan.cuts == ()
        return
    by_line = plan.by_line()
    if requested is not None:
        assert by_line == {line: units for line, units in requested.items() if units}
    for line, units in by_line.items():
        assert 0 < units <= open_units[line]
    taken: dict[str, int] = {}
    for cut in plan.cuts:
        assert cut.quantity > 0
        if cut.fulfillment_order_id is not None:
            holding = next(
                h
                for h in held
                if h.fulfillment_order_id == cut.fulfillment_order_id and h.line_id == cut.line_id
            )
            assert holding.status in touchable  # never work a customer may not touch
            key = f"{cut.fulfillment_order_id}:{cut.line_id}"
            taken[key] = taken.get(key, 0) + cut.quantity
            assert taken[key] <= holding.quantity


facts = st.builds(
    Facts,
    total=st.decimals(min_value=0, max_value=5000, places=2),
    email=st.sampled_from(["ann@example.com", "mallory@fraud.example"]),
    recent_orders=st.integers(0, 6),
    billing_to_shipping_km=st.one_of(st.none(), st.floats(0, 5000)),
    postal_codes=st.lists(st.sampled_from(["78701", "10001", "99999"]), max_size=2).map(tuple),
)
policy = FraudPolicy(blocklist=frozenset({"@fraud.example", "99999"}))


@given(facts, st.integers(1, 5))
def test_the_fraud_score_is_bounded_and_more_risk_never_lowers_it(found: Facts, more_orders: int) -> None:
    assessment = screen(found, policy)
    riskier = screen(
        Facts(
            found.total * 2,
            found.email,
            found.recent_orders + more_orders,
            (found.billing_to_shipping_km or 0) + 1000,
            found.postal_codes,
        ),
        policy,
    )

    assert 0 <= assessment.score <= 100
    assert assessment.held == (assessment.score >= policy.threshold)
    assert riskier.score >= assessment.score
    assert set(assessment.rules) <= set(riskier.rules)


priced_lines = st.lists(
    st.builds(PricedLine, st.decimals(min_value="0.01", max_value="999.99", places=2), st.integers(1, 20)),
    min_size=1,
    max_size=8,
)


@given(priced_lines, st.sampled_from([("US", "TX"), ("US", "CA"), ("CA", "ON"), ("DE", None), ("GB", None)]))
def test_our_tax_is_the_sum_of_the_lines_and_shipping_to_the_cent(
    lines: list[PricedLine], place: tuple[str, str | None]
) -> None:
    rule = PricingRule("USD", ShippingPolicy(Decimal("7.95"), Decimal("75.00")))
    totals = rule.price(lines, delivery_method=DeliveryMethod.SHIP, destination=TaxPlace(*place))

    assert totals.tax.amount == sum(totals.line_taxes, Decimal(0)) + totals.shipping_tax
    assert totals.total.amount == totals.subtotal.amount + totals.shipping.amount + totals.tax.amount
    assert all(tax >= 0 and tax == tax.quantize(Decimal("0.01")) for tax in totals.line_taxes)


@given(priced_lines, st.decimals(min_value=0, max_value="999.99", places=2))
def test_a_storefront_s_tax_is_spread_over_its_lines_exactly(lines: list[PricedLine], tax: Decimal) -> None:
    totals = as_sold(lines, currency="USD", shipping=Decimal("5.00"), tax=tax)

    assert sum(totals.line_taxes, Decimal(0)) + totals.shipping_tax == tax
    assert totals.shipping_tax == 0 or sum(line.unit_price * line.quantity for line in lines) == 0
    assert all(t >= 0 for t in totals.line_taxes)

"""The walk's money invariants (`tests/money.py`) catch what they are there to catch: each broken
case below is reported, and the settled case passes."""

from __future__ import annotations

from decimal import Decimal

from ordergate.models.order import PaymentStatus
from ordergate.models.payments import PaymentKind
from tests.models.records import a_payment, an_order, an_order_line
from tests.money import money_problems

entry = a_payment


AUTH = entry(PaymentKind.AUTHORIZATION, "40.00")
SHIPPED = [an_order_line("l1", "MUG-BLUE", 4, quantity_fulfilled=3, quantity_cancelled=1)]


def test_an_order_settled_for_its_new_total_is_right() -> None:
    order = an_order(subtotal=Decimal("30.00"), total=Decimal("30.00"), payment_status=PaymentStatus.PAID)
    ledger = [AUTH, entry(PaymentKind.CAPTURE, "30.00"), entry(PaymentKind.VOID, "10.00")]

    assert money_problems(order, SHIPPED, ledger, [], 0, None) == []


def test_each_broken_invariant_is_reported() -> None:
    priced_whole = an_order(payment_status=PaymentStatus.PARTIALLY_PAID)  # 40.00: the cancelled unit too
    stuck = an_order(
        subtotal=Decimal("30.00"), total=Decimal("30.00"), payment_status=PaymentStatus.PARTIALLY_PAID
    )
    held_back = an_order(subtotal=Decimal("30.00"), total=Decimal("30.00"), payment_status=PaymentStatus.PAID)
    over = an_order(subtotal=Decimal("30.00"), total=Decimal("30.00"), payment_status=PaymentStatus.REFUNDED)

    partly = [AUTH, entry(PaymentKind.CAPTURE, "20.00")]
    problems = {
        "priced": money_problems(priced_whole, SHIPPED, partly, [], 0, None),
        "stuck": money_problems(stuck, SHIPPED, partly, [], 0, None),
        "held back": money_problems(
            held_back, SHIPPED, [AUTH, entry(PaymentKind.CAPTURE, "30.00")], [], 0, None
        ),
        "over": money_problems(
            over,
            SHIPPED,
            [AUTH, entry(PaymentKind.CAPTURE, "30.00"), entry(PaymentKind.REFUND, "31.00")],
            [],
            0,
            None,
        ),
        "status": money_problems(
            an_order(subtotal=Decimal("30.00"), total=Decimal("30.00")), SHIPPED, partly, [], 0, None
        ),
    }

    assert any("subtotal 40.00" in p for p in problems["priced"])
    assert any("yet the payment is PARTIALLY_PAID" in p for p in problems["stuck"])
    assert any("10.00 still authorised" in p for p in problems["held back"])
    assert any("refunded 31.00 of 30.00" in p for p in problems["over"])
    assert any("payment status AUTHORIZED, the ledger says PARTIALLY_PAID" in p for p in problems["status"])

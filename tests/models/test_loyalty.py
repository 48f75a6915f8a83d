"""Loyalty points follow what an order has netted; appeasement amounts and limits by role."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordergate.models.appeasements import allowance, check_amount, check_limit
from ordergate.models.identity import Role
from ordergate.models.loyalty import LoyaltyReason, points_change, points_for

CAPTURED, REFUNDED = LoyaltyReason.CAPTURED, LoyaltyReason.REFUNDED
LIMITS = {Role.AGENT: Decimal("50.00"), Role.ADMIN: None}


@pytest.mark.parametrize(
    ("net", "rate", "points"),
    [
        (Decimal("0.99"), Decimal("1"), 0),
        (Decimal("1.00"), Decimal("1"), 1),
        (Decimal("129.99"), Decimal("1"), 129),
        (Decimal("129.99"), Decimal("2.5"), 324),
        (Decimal("10.00"), Decimal("0.1"), 1),
        (Decimal("0"), Decimal("1"), 0),
        (Decimal("-5"), Decimal("1"), 0),
        (Decimal("100"), Decimal("0"), 0),
    ],
)
def test_points_are_whole_and_rounded_down(net: Decimal, rate: Decimal, points: int) -> None:
    assert points_for(net, rate) == points


def test_a_capture_earns_up_to_what_the_order_netted() -> None:
    assert points_change(CAPTURED, 0, Decimal("117.50"), Decimal("1")) == 117
    assert points_change(CAPTURED, 117, Decimal("117.50"), Decimal("1")) == 0  # a retry earns nothing


def test_a_capture_never_takes_points_away_even_after_the_rate_fell() -> None:
    assert points_change(CAPTURED, 200, Decimal("117.50"), Decimal("1")) == 0


def test_a_refund_reverses_its_share_and_never_below_zero() -> None:
    assert points_change(REFUNDED, 117, Decimal("58.75"), Decimal("1")) == -59
    assert points_change(REFUNDED, 10, Decimal("0"), Decimal("5")) == -10
    assert points_change(REFUNDED, 0, Decimal("0"), Decimal("1")) == 0


def test_a_refund_never_adds_points_even_after_the_rate_rose() -> None:
    assert points_change(REFUNDED, 50, Decimal("60.00"), Decimal("2")) == 0


@given(
    st.lists(
        st.tuples(st.sampled_from([CAPTURED, REFUNDED]), st.integers(min_value=1, max_value=100_000)),
        max_size=30,
    ),
    st.sampled_from([Decimal("1"), Decimal("0.5"), Decimal("3"), Decimal("1.25")]),
)
def test_an_orders_points_are_what_it_netted_rounded_down_and_never_negative(
    steps: list[tuple[LoyaltyReason, int]], rate: Decimal
) -> None:
    captured = refunded = Decimal("0")
    held = 0
    for reason, cents in steps:
        amount = Decimal(cents) / 100
        if reason is CAPTURED:
            captured += amount
        else:
            amount = min(amount, captured - refunded)  # the provider refunds at most what it holds
            refunded += amount
        held += points_change(reason, held, captured - refunded, rate)

        assert held >= 0
        assert held == points_for(captured - refunded, rate)


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("0.01", None),
        ("50.00", None),
        ("12.3", None),
        ("0", "INVALID_AMOUNT"),
        ("-1.00", "INVALID_AMOUNT"),
        ("0.001", "INVALID_AMOUNT"),
        ("10.005", "INVALID_AMOUNT"),
        ("NaN", "INVALID_AMOUNT"),
        ("Infinity", "INVALID_AMOUNT"),
        ("1E+20", "INVALID_AMOUNT"),
    ],
)
def test_an_appeasement_is_a_positive_amount_in_whole_cents(amount: str, code: str | None) -> None:
    problems = check_amount(Decimal(amount), ("amount",))

    assert [p.code for p in problems] == ([code] if code else [])


@pytest.mark.parametrize(
    ("role", "amount", "given", "allowed"),
    [
        (Role.AGENT, "50.00", "0", True),
        (Role.AGENT, "50.01", "0", False),
        (Role.AGENT, "10.00", "40.00", True),
        (Role.AGENT, "10.01", "40.00", False),
        (Role.AGENT, "0.01", "190.00", False),  # an admin gave beyond it: nothing left for agents
        (Role.ADMIN, "100000.00", "999.00", True),
    ],
)
def test_each_role_gives_up_to_its_limit_per_order(
    role: Role, amount: str, given: str, allowed: bool
) -> None:
    problems = check_limit(role, Decimal(amount), Decimal(given), LIMITS, ("amount",))

    assert [p.code for p in problems] == ([] if allowed else ["APPEASEMENT_LIMIT_EXCEEDED"])


def test_the_allowance_is_the_limit_less_what_the_order_had() -> None:
    assert allowance(Role.AGENT, Decimal("40.00"), LIMITS) == Decimal("10.00")
    assert allowance(Role.AGENT, Decimal("75.00"), LIMITS) == Decimal("0.00")
    assert allowance(Role.ADMIN, Decimal("75.00"), LIMITS) is None

from __future__ import annotations

from decimal import Decimal

from ordergate.models.fraud import FraudPolicy, RiskRule, screen_again

POLICY = FraudPolicy(threshold=70)


def test_a_second_screen_weighs_the_new_facts_and_the_velocity_seen_at_placement() -> None:
    fast_buyer = screen_again(["VELOCITY"], Decimal("20.00"), "a@example.com", 900.0, (), POLICY)
    calm_buyer = screen_again(["HIGH_VALUE"], Decimal("20.00"), "a@example.com", 900.0, (), POLICY)
    blocked = screen_again(
        [], Decimal("20.00"), "a@example.com", None, ("10001",), FraudPolicy(blocklist=frozenset({"10001"}))
    )

    assert (fast_buyer.score, fast_buyer.rules, fast_buyer.held) == (
        70,
        (RiskRule.VELOCITY, RiskRule.ADDRESS_MISMATCH),
        True,
    )
    # the order is no longer high value: that rule does not stick
    assert (calm_buyer.score, calm_buyer.rules, calm_buyer.held) == (30, (RiskRule.ADDRESS_MISMATCH,), False)
    assert blocked.held

"""The fraud screen at placement: a few rules, each adding to a score from 0 to 100. At or
above the threshold an order is taken ON_HOLD (HIGH_RISK_OF_FRAUD) and nothing is routed
until an agent releases it. Pure: the caller gathers the facts (how many recent orders the
email placed, how far apart billing and shipping are)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum


class RiskRule(StrEnum):
    HIGH_VALUE = "HIGH_VALUE"  # the order is worth more than most
    VELOCITY = "VELOCITY"  # many orders from one email in a short time
    ADDRESS_MISMATCH = "ADDRESS_MISMATCH"  # billed far from where it ships
    BLOCKLISTED = "BLOCKLISTED"  # an email, domain or postal code on the block list


class RiskLevel(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


@dataclass(frozen=True)
class FraudPolicy:
    threshold: int = 70
    high_value: Decimal = Decimal("1000.00")
    high_value_points: int = 40
    velocity_count: int = 3  # this many earlier orders from the email in the window ...
    velocity_window: timedelta = timedelta(hours=1)
    velocity_points: int = 40
    mismatch_km: float = 500.0
    mismatch_points: int = 30
    blocklist: frozenset[str] = frozenset()  # emails, "@domain"s and postal codes, lower case


@dataclass(frozen=True)
class Facts:
    total: Decimal
    email: str
    recent_orders: int  # earlier orders from this email within the policy's window
    billing_to_shipping_km: float | None
    postal_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Assessment:
    score: int
    rules: tuple[RiskRule, ...]
    held: bool

    @property
    def level(self) -> RiskLevel:
        return level_of(self.score, self.held)


def level_of(score: int, held: bool) -> RiskLevel:
    if held:
        return RiskLevel.HIGH
    return RiskLevel.MEDIUM if score > 0 else RiskLevel.LOW


def blocked(facts: Facts, blocklist: Iterable[str]) -> bool:
    listed = set(blocklist)
    email = facts.email.strip().lower()
    domain = "@" + email.rsplit("@", 1)[-1]
    codes = {code.replace(" ", "").lower() for code in facts.postal_codes if code}
    return email in listed or domain in listed or bool(codes & {c.replace(" ", "") for c in listed})


def screen(facts: Facts, policy: FraudPolicy) -> Assessment:
    fired: list[tuple[RiskRule, int]] = []
    if blocked(facts, policy.blocklist):
        fired.append((RiskRule.BLOCKLISTED, 100))
    if facts.total >= policy.high_value:
        fired.append((RiskRule.HIGH_VALUE, policy.high_value_points))
    if facts.recent_orders >= policy.velocity_count:
        fired.append((RiskRule.VELOCITY, policy.velocity_points))
    if facts.billing_to_shipping_km is not None and facts.billing_to_shipping_km > policy.mismatch_km:
        fired.append((RiskRule.ADDRESS_MISMATCH, policy.mismatch_points))
    score = min(100, sum(points for _, points in fired))
    return Assessment(score, tuple(rule for rule, _ in fired), score >= policy.threshold)


def screen_again(
    placed_rules: Iterable[str],
    total: Decimal,
    email: str,
    billing_to_shipping_km: float | None,
    postal_codes: tuple[str, ...],
    policy: FraudPolicy,
) -> Assessment:
    """The screen over an order as it stands after a change (a new address or total): the same
    rules on the new facts. How many orders the email had placed is a fact of the moment of
    placement, so velocity counts as it did then."""
    velocity = policy.velocity_count if RiskRule.VELOCITY.value in set(placed_rules) else 0
    return screen(Facts(total, email, velocity, billing_to_shipping_km, postal_codes), policy)

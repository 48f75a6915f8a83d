"""The bundle of dependencies a use case may take, built once by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ordergate.broker.base import Broker
from ordergate.models.commands import Limits
from ordergate.models.pricing import ShippingPolicy
from ordergate.store.unit_of_work import Store


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Policy:
    currency: str
    shipping: ShippingPolicy
    limits: Limits
    page_size_cap: int = 250
    event_poll_seconds: float = 5.0


@dataclass
class Services:
    store: Store
    broker: Broker
    policy: Policy
    clock: Callable[[], datetime] = field(default=utc_now)

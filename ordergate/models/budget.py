"""Budgets of points per client, refilled over time: a leaky bucket, as Shopify's Admin API
meters GraphQL. Query cost (`schema.limits`) and the status page's lookups are metered so.

A client's bucket holds up to `capacity` points and refills at `restore_rate` points a
second. A request reserves its requested cost before it runs and is refused, with the
seconds until enough has refilled, when the bucket holds less; afterwards the part it did
not use (requested minus actual) is given back.

The buckets live in this process's memory, so each replica meters its own share: behind a
load balancer a client may spend up to `capacity` on every replica. A bucket shared in Redis
is future work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Full buckets are forgotten: they hold nothing a new bucket would not.
SWEEP_EVERY = 1024


@dataclass(frozen=True)
class ThrottleStatus:
    maximum_available: int
    currently_available: int
    restore_rate: int


@dataclass(frozen=True)
class Reservation:
    """The answer to a request for points: granted, or how long to wait for them."""

    granted: bool
    retry_after_seconds: int
    status: ThrottleStatus


@dataclass
class _Bucket:
    available: float
    updated_at: float


class Budget:
    """Buckets of points by client key; time is passed in, in seconds."""

    def __init__(self, capacity: int, restore_rate: int) -> None:
        if capacity <= 0 or restore_rate <= 0:
            raise ValueError("a budget needs a positive capacity and restore rate")
        self.capacity = capacity
        self.restore_rate = restore_rate
        self._buckets: dict[str, _Bucket] = {}
        self._since_sweep = 0

    def reserve(self, client: str, cost: int, now: float) -> Reservation:
        bucket = self._refilled(client, now)
        if cost <= bucket.available:
            bucket.available -= cost
            return Reservation(True, 0, self._status(bucket))
        wait = math.ceil((cost - bucket.available) / self.restore_rate)
        return Reservation(False, max(1, wait), self._status(bucket))

    def refund(self, client: str, points: int, now: float) -> ThrottleStatus:
        bucket = self._refilled(client, now)
        bucket.available = min(self.capacity, bucket.available + max(0, points))
        return self._status(bucket)

    def status(self, client: str, now: float) -> ThrottleStatus:
        return self._status(self._refilled(client, now))

    def _refilled(self, client: str, now: float) -> _Bucket:
        self._sweep(now)
        bucket = self._buckets.setdefault(client, _Bucket(float(self.capacity), now))
        elapsed = max(0.0, now - bucket.updated_at)  # a clock set back refills nothing
        bucket.available = min(float(self.capacity), bucket.available + elapsed * self.restore_rate)
        bucket.updated_at = max(bucket.updated_at, now)
        return bucket

    def _sweep(self, now: float) -> None:
        self._since_sweep += 1
        if self._since_sweep < SWEEP_EVERY:
            return
        self._since_sweep = 0
        full_after = self.capacity / self.restore_rate
        self._buckets = {
            client: bucket for client, bucket in self._buckets.items() if now - bucket.updated_at < full_after
        }

    def _status(self, bucket: _Bucket) -> ThrottleStatus:
        return ThrottleStatus(self.capacity, math.floor(bucket.available), self.restore_rate)

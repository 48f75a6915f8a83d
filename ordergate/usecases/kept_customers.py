"""What the storefront said about customers, kept per process for a bounded time.

Every page of orders that shows customers' names asks the storefront for their records, and
BigCommerce meters 150 requests per 30 s per token: asked on every view, a dashboard could show
about five boards a second. The storefront tells us nothing when a customer changes their name
(no customer webhooks are registered), so the bound is time alone: nothing is served from a
record (or a "not known there") read more than `max_age` seconds ago
(ORDERGATE_STOREFRONT_CUSTOMER_SECONDS, 60 by default; 0 asks the storefront for every answer).

An outage is not hidden: a customer whose record is not kept is asked for, and when the
storefront cannot answer, that customer's storefront fields carry the labelled error as before.
Records kept are never served past their bound, outage or not. At most `max_entries` customers
are kept, the oldest read dropped first.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from ordergate.connectors.storefront.base import StorefrontCustomer

Answer = StorefrontCustomer | None  # None: the storefront does not know them


@dataclass
class KeptCustomers:
    max_age: float = 60.0  # seconds; 0: none kept
    max_entries: int = 10_000
    timer: Callable[[], float] = time.monotonic
    _kept: dict[str, tuple[Answer, float]] = field(default_factory=dict)  # by email, casefolded
    hits: int = 0
    misses: int = 0

    def kept(self, emails: Iterable[str]) -> tuple[dict[str, Answer], list[str]]:
        """The kept answers for these emails (by casefolded email) and the emails to ask for."""
        found: dict[str, Answer] = {}
        missing: list[str] = []
        if self.max_age <= 0:
            missing = list(emails)
            self.misses += len(missing)
            return found, missing
        now, kept = self.timer(), self._kept
        for email in emails:
            key = email.casefold()
            entry = kept.get(key)
            if entry is not None and now - entry[1] < self.max_age:
                found[key] = entry[0]
            else:
                missing.append(email)
        self.hits += len(found)
        self.misses += len(missing)
        return found, missing

    def keep(self, answers: Mapping[str, Answer], read_at: float) -> None:
        """What the storefront answered for these emails (casefolded), asked at `read_at`."""
        if self.max_age <= 0:
            return
        kept = self._kept
        for key, answer in answers.items():
            kept.pop(key, None)  # re-inserted last: the dict's order is the order of reading
            while len(kept) >= self.max_entries:
                kept.pop(next(iter(kept)))
            kept[key] = (answer, read_at)

    def clear(self) -> None:
        self._kept.clear()

"""Idempotency keys: the first result of a keyed mutation is kept and replayed.

A key's record is pending (`result_id` None) while a request works under it, and done once that
request's result is written. A pending record is leased to one attempt of the request: when
its holder is gone (a crash) and the lease has run out, another attempt may take it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ordergate.models.ids import new_id

PROVIDER_KEY_LENGTH = 160  # what the ledger keeps of a key sent to a provider


def fingerprint(payload: Any) -> str:
    """A stable hash of a request's input, to tell a repeat from a reuse."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(kw_only=True, eq=False)
class IdempotencyRecord:
    scope: str
    key: str
    operation: str
    request_hash: str
    result_id: str | None = None
    created_at: datetime
    attempt: str = field(default_factory=new_id)
    leased_until: datetime | None = None

    def held(self, now: datetime) -> bool:
        """Pending, and its holder's lease still runs."""
        return self.result_id is None and self.leased_until is not None and self.leased_until > now

    def take(self, operation: str, request_hash: str, leased_until: datetime) -> None:
        """Another attempt holds the key from now: the last one's lease ran out."""
        self.operation, self.request_hash = operation, request_hash
        self.attempt, self.leased_until = new_id(), leased_until


def provider_key(purpose: str, record: IdempotencyRecord) -> str:
    """The idempotency key for a call the key's current attempt makes to a provider: the same
    for that attempt's own retries, different for every other attempt. At most
    PROVIDER_KEY_LENGTH characters, so a long one ends in a hash of the whole instead of being cut."""
    whole = f"{purpose}:{record.scope}:{record.key}:{record.attempt}"
    if len(whole) <= PROVIDER_KEY_LENGTH:
        return whole
    digest = hashlib.sha256(whole.encode()).hexdigest()
    return f"{whole[: PROVIDER_KEY_LENGTH - len(digest) - 1]}:{digest}"

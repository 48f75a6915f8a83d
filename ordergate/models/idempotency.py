"""Idempotency keys: the first result of a keyed mutation is kept and replayed."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from ordergate.models.columns import UTCDateTime


def fingerprint(payload: Any) -> str:
    """A stable hash of a request's input, to tell a repeat from a reuse."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_keys"

    scope: str = Field(primary_key=True, max_length=255)
    key: str = Field(primary_key=True, max_length=255)
    operation: str = Field(max_length=64)
    request_hash: str = Field(max_length=64)
    result_id: str | None = Field(default=None, max_length=36)
    created_at: datetime = Field(sa_type=UTCDateTime)

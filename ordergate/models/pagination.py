"""Opaque keyset cursors and the page request they belong to."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime
from json.encoder import encode_basestring_ascii
from typing import Any, Generic, TypeVar

from ordergate.models.errors import Problem, ValidationFailed
from ordergate.models.text import is_storable
from ordergate.untrusted import load_json

MAX_PART = 64  # an id or an ISO timestamp


def encode_cursor(*parts: Any) -> str:
    """The parts as a JSON list (times as ISO text), base64url without padding. Written out by
    hand for text, times and integers, the same bytes `json.dumps` gives (a page of 100 orders
    makes 100 cursors); anything else goes through `json.dumps`."""
    raw = "[" + ", ".join(_json(p) for p in parts) + "]"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _json(part: Any) -> str:
    kind = type(part)
    if kind is str:
        return encode_basestring_ascii(part)
    if kind is datetime:
        return encode_basestring_ascii(part.isoformat())
    if kind is int:
        return str(part)
    return json.dumps(part.isoformat() if isinstance(part, datetime) else part)


def _keyable(part: Any) -> bool:
    """A part the store can compare with: ours are short text and 64-bit integers."""
    if isinstance(part, str):
        return len(part) <= MAX_PART and is_storable(part)
    return isinstance(part, int) and not isinstance(part, bool) and abs(part) < 2**63


def decode_cursor(cursor: str, arity: int, field: str = "after") -> list[Any]:
    """The parts `encode_cursor` put in, or INVALID_CURSOR: a forged cursor's parts are held
    to what the store can take, since they end up in a query."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        parts = load_json(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        parts = None
    if not isinstance(parts, list) or len(parts) != arity or not all(_keyable(p) for p in parts):
        raise _invalid(field)
    return parts


@dataclass(frozen=True)
class PageRequest:
    first: int
    after: str | None = None


def check_page(first: int, cap: int) -> int:
    if first < 0:
        raise ValidationFailed([Problem("INVALID_PAGE_SIZE", "first must not be negative", ("first",))])
    if first > cap:
        raise ValidationFailed([Problem("PAGE_SIZE_TOO_LARGE", f"first may be at most {cap}", ("first",))])
    return first


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    has_next: bool
    total: int | None = None


def decode_time_cursor(cursor: str, field: str = "after") -> tuple[datetime, str]:
    """The (time, id) an `encode_cursor(at, id)` cursor carries, the time with its UTC offset;
    INVALID_CURSOR for anything else (a keyset on (created_at, id) compares times, so a naive
    one would compare wrong on PostgreSQL)."""
    at, record_id = decode_cursor(cursor, 2, field)
    return _time(at, field), str(record_id)


def decode_time_key_cursor(cursor: str, field: str = "after") -> tuple[datetime, str, str]:
    """The (time, text, text) an `encode_cursor(at, a, b)` cursor carries; INVALID_CURSOR for
    anything else."""
    at, first, second = decode_cursor(cursor, 3, field)
    return _time(at, field), str(first), str(second)


def decode_day_time_cursor(cursor: str, field: str = "after") -> tuple[date, datetime, str]:
    """The (day, time, id) an `encode_cursor(day.isoformat(), at, id)` cursor carries;
    INVALID_CURSOR for anything else."""
    day, at, record_id = decode_cursor(cursor, 3, field)
    try:
        on = date.fromisoformat(str(day))
    except ValueError:
        raise _invalid(field) from None
    return on, _time(at, field), str(record_id)


def _time(at: Any, field: str) -> datetime:
    try:
        when = datetime.fromisoformat(str(at))
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise _invalid(field)
    return when


def _invalid(field: str) -> ValidationFailed:
    return ValidationFailed([Problem("INVALID_CURSOR", "the cursor is not one this API gave out", (field,))])

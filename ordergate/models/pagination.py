"""Opaque keyset cursors and the page request they belong to."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from ordergate.models.errors import Problem, ValidationFailed
from ordergate.untrusted import load_json


def encode_cursor(*parts: Any) -> str:
    raw = json.dumps([p.isoformat() if isinstance(p, datetime) else p for p in parts])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int, field: str = "after") -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        parts = load_json(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        parts = None
    if not isinstance(parts, list) or len(parts) != arity:
        raise ValidationFailed(
            [Problem("INVALID_CURSOR", "the cursor is not one this API gave out", (field,))]
        )
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

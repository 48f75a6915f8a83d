"""Cursors are opaque to clients but must stay the same bytes across releases: a client keeps
one between requests, and a replica of another release must read it."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from ordergate.models.pagination import decode_cursor, encode_cursor


def as_json_dumps_wrote_it(*parts: Any) -> str:
    raw = json.dumps([p.isoformat() if isinstance(p, datetime) else p for p in parts])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "parts",
    [
        ("createdAt", datetime(2026, 12, 4, 18, 1, 47, 123456, tzinfo=UTC), "0f3c-order-id"),
        ("total", "1228.00", "id"),
        (datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=-5))), "id"),
        (41,),
        (-(2**62),),
        ("MUG-BLUE",),
        ('quote " backslash \\ newline \n tab \t é ☕ \u2028',),
        (True, None, 1.5),
    ],
)
def test_a_cursor_is_the_json_list_of_its_parts_in_base64url(parts: tuple[Any, ...]) -> None:
    assert encode_cursor(*parts) == as_json_dumps_wrote_it(*parts)


def test_a_cursor_reads_back_as_its_parts() -> None:
    at = datetime(2026, 12, 4, tzinfo=UTC)
    assert decode_cursor(encode_cursor("createdAt", at, "id-1"), 3) == ["createdAt", at.isoformat(), "id-1"]

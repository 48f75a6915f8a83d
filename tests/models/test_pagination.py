"""Cursors are opaque to clients but must stay the same bytes across releases: a client keeps
one between requests, and a replica of another release must read it."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from ordergate.models.errors import ValidationFailed
from ordergate.models.pagination import (
    decode_cursor,
    decode_day_time_cursor,
    decode_time_key_cursor,
    encode_cursor,
)


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


def test_a_queue_cursor_reads_back_as_its_day_time_and_id() -> None:
    at = datetime(2026, 12, 4, 18, 1, tzinfo=UTC)
    cursor = encode_cursor(date(2026, 12, 7).isoformat(), at, "fo-1")

    assert decode_day_time_cursor(cursor) == (date(2026, 12, 7), at, "fo-1")


@pytest.mark.parametrize(
    "parts",
    [
        ("2026-12-07", datetime(2026, 12, 4, tzinfo=UTC)),  # two parts: the queue's order before start days
        ("7 December", datetime(2026, 12, 4, tzinfo=UTC).isoformat(), "fo-1"),
        ("2026-12-07", "2026-12-04T18:01:00", "fo-1"),  # a time without its offset
        ("2026-12-07", "yesterday", "fo-1"),
    ],
)
def test_anything_else_is_not_a_queue_cursor(parts: tuple[Any, ...]) -> None:
    with pytest.raises(ValidationFailed) as refused:
        decode_day_time_cursor(encode_cursor(*parts))
    assert [p.code for p in refused.value.problems] == ["INVALID_CURSOR"]


def test_a_short_position_cursor_reads_back_as_its_time_sku_and_node() -> None:
    at = datetime(2026, 12, 7, 21, 1, tzinfo=UTC)

    assert decode_time_key_cursor(encode_cursor(at, "MUG-BLUE", "dfw")) == (at, "MUG-BLUE", "dfw")


@pytest.mark.parametrize(
    "parts",
    [
        ("MUG-BLUE", "dfw"),  # the SKU order's cursor
        ("2026-12-07T21:01:00", "MUG-BLUE", "dfw"),  # a time without its offset
        ("soon", "MUG-BLUE", "dfw"),
    ],
)
def test_anything_else_is_not_a_short_position_cursor(parts: tuple[Any, ...]) -> None:
    with pytest.raises(ValidationFailed) as refused:
        decode_time_key_cursor(encode_cursor(*parts))
    assert [p.code for p in refused.value.problems] == ["INVALID_CURSOR"]

"""Reading JSON that strangers send: request bodies, WebSocket frames, webhook deliveries and
cursors. Every failure is one `MalformedJson`, a `ValueError` that the caller turns into its 400
or its coded error; nesting is bounded (`MAX_JSON_DEPTH`), because every recursive walker after
the parser (coercion, hashing, logging) meets a thousand `[` as a RecursionError.

The parsers are C and linear; the depth is then read off the parsed value without recursion,
and only when the text has enough brackets to be that deep at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson

MAX_JSON_DEPTH = 64


class MalformedJson(ValueError):
    """Not JSON, or nested deeper than we read."""


def load_json(
    data: str | bytes, *, max_depth: int = MAX_JSON_DEPTH, parse_float: Callable[[str], Decimal] | None = None
) -> Any:
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    try:
        # orjson is strict where json is lenient: no NaN, no lone surrogates (`"\ud800"`, which
        # PostgreSQL cannot store), nothing nested past 1,024. json only to keep money Decimal.
        value = json.loads(raw, parse_float=parse_float) if parse_float is not None else orjson.loads(raw)
    except (ValueError, RecursionError) as error:
        raise MalformedJson("not valid JSON") from error
    if raw.count(b"[") + raw.count(b"{") > max_depth and depth(value, max_depth) > max_depth:
        raise MalformedJson(f"JSON nested deeper than {max_depth} levels is not accepted")
    return value


def depth(value: Any, stop_past: int | None = None) -> int:
    """How deeply arrays and objects nest in `value` (a scalar is 0, `{}` is 1), read a level
    at a time; the walk ends as soon as it passes `stop_past`."""
    deepest = 0
    level = [value]
    while level:
        containers = [item for item in level if isinstance(item, dict | list)]
        if not containers:
            break
        deepest += 1
        if stop_past is not None and deepest > stop_past:
            break
        level = []
        for container in containers:
            level.extend(container.values() if isinstance(container, dict) else container)
    return deepest

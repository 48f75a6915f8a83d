"""Checking a document before it runs costs work linear in its length, whatever its shape.

The attack: a 1 KB document whose fragments each spread the next one twice is 2^n copies of
the last fragment; a checker that walks copies never finishes. The work is counted, not
timed: Python function calls while the schema parses, validates and prices a document
(`threading.setprofile` reaches the worker thread that validates), for each family of
documents at size n and at size 2n. Linear work doubles; a walk of copies squares or worse.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest
from graphql import parse

from ordergate.schema.build import Schema, build_schema
from ordergate.schema.cost import QueryCost
from ordergate.schema.shape import Measure
from ordergate.settings import Settings

# Limits out of the way, so that every check runs to its end (and pricing and execution get
# their turn), except the one family that is refused, as the gateway's defaults refuse it.
OPEN = Settings(
    max_query_depth=10**6,
    max_query_aliases=10**18,
    max_query_fields=10**18,
    max_query_tokens=10**6,
    query_budget=0,
)


def fan_out(levels: int, leaf: str = "__typename", on: str = "Query", tag: str = "F") -> str:
    """Each fragment spreads the next one twice: 2^levels copies of the leaf."""
    fragments = "\n".join(
        f"fragment {tag}{i} on {on} {{ ...{tag}{i + 1} ...{tag}{i + 1} }}" for i in range(levels)
    )
    return f"{fragments}\nfragment {tag}{levels} on {on} {{ {leaf} }}"


FAMILIES: dict[str, Callable[[int, str], str]] = {
    # the reported attack: fragments that spread the next one twice, scalars at the bottom
    "fan-out of scalars": lambda n, t: f"query {{ ...{t}0 }}\n{fan_out(n, tag=t)}",
    # the same with an object list at the bottom, so pricing multiplies pages
    "fan-out of lists": lambda n, t: (
        f"query {{ ...{t}0 }}\n{fan_out(n, 'products(first: 5) { edges { node { sku } } }', tag=t)}"
    ),
    # aliases at the bottom, counted as often as they are spread
    "fan-out of aliases": lambda n, t: (
        f"query {{ ...{t}0 }}\n{fan_out(n, 'a: __typename b: __typename', tag=t)}"
    ),
    # inside introspection, where depth is not counted
    "fan-out in introspection": lambda n, t: (
        f"query {{ __schema {{ types {{ ...{t}0 }} }} }}\n{fan_out(n, 'name kind', on='__Type', tag=t)}"
    ),
    # fragments each spread once, in a chain that nests a level each
    "nested chain": lambda n, t: (
        f"query {{ orders(first: 1) {{ edges {{ node {{ ...{t}0 }} }} }} }}\n"
        + "\n".join(
            f"fragment {t}{i} on Order {{ number fulfillmentOrders {{ order {{ ...{t}{i + 1} }} }} }}"
            for i in range(n)
        )
        + f"\nfragment {t}{n} on Order {{ id }}"
    ),
    # many sibling fragments on one selection set
    "wide": lambda n, t: (
        "query { "
        + " ".join(f"...{t}{i}" for i in range(n))
        + " }\n"
        + "\n".join(
            f"fragment {t}{i} on Query {{ __typename products(first: 1) {{ totalCount }} }}" for i in range(n)
        )
    ),
}


class Calls:
    """Counts Python function calls in every thread while it is installed."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, _frame: FrameType, event: str, _arg: Any) -> None:
        if event == "call":
            with self._lock:
                self.count += 1


def calls_to_check(schema: Schema, document: str) -> int:
    """Function calls while the schema answers `document` (no context: nothing reads the store,
    a field that needs it fails, which is after the checks)."""
    calls = Calls()

    async def answer() -> None:
        await schema.execute(document)

    threading.setprofile(calls)  # the validation thread is started inside asyncio.run below
    sys.setprofile(calls)
    try:
        asyncio.run(answer())
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
    return calls.count


@pytest.fixture(scope="module")
def schemas() -> dict[str, Schema]:
    return {"open": build_schema(OPEN), "defaults": build_schema(Settings(query_budget=0))}


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("limits", ["open", "defaults"])
def test_checking_a_document_twice_the_size_costs_about_twice_the_work(
    schemas: dict[str, Schema], family: str, limits: str
) -> None:
    schema = schemas[limits]
    make = FAMILIES[family]
    calls_to_check(schema, make(4, "Warm"))  # caches of the schema's own, filled once
    small = calls_to_check(schema, make(8, "Small"))
    large = calls_to_check(schema, make(16, "Large"))

    # Linear work doubles (plus a fixed part, so a little under); one copy per spread would
    # be 256 times more here.
    assert small > 0
    assert large < 2.5 * small, f"{family}: {small} calls at 8 levels, {large} at 16"


def test_measure_visits_each_selection_once_however_often_its_fragment_is_spread() -> None:
    document = parse("query { ...F0 }\n" + fan_out(40, "a: __typename"))
    measure = Measure(document)

    [(_, shape)] = list(measure.all())

    assert shape.selections == 2**40
    assert shape.aliases == 2**40
    assert measure.steps == 1 + 2 * 40 + 1  # the spread in the query, two per fragment, the leaf


def test_pricing_visits_each_selection_once_however_often_its_fragment_is_spread() -> None:
    schema = build_schema(OPEN)
    document = parse("query { ...F0 }\n" + fan_out(40, "products(first: 5) { edges { node { sku } } }"))
    priced = QueryCost(schema._schema, page_cap=250).operation(document, None, {})
    assert priced is not None

    # 2^40 copies of a 5-item page of products: each product costs 1, the envelope nothing
    assert priced.requested() == 2**40 * 5
    assert priced.steps < 100

"""Kept answers for the storefront's hottest reads: the catalogue and availability.

A storefront sends the same `Catalog` and `ProductAvailability` bodies again and again, and
their answers come from the read views (`usecases.views`) alone. An answer to such a body is
kept, serialised, with what it was made from (a `views.Reading`); the same body from the same
caller is answered with those bytes, without GraphQL, for as long as the views say nothing it
read has changed (`ReadViews.current`), none of its SKUs is due for a re-read from the ERP,
and the clock has not moved past the views' bound. So a kept answer is never older, and never
more wrong, than one made from the views would be (README, "How current an availability
answer is").

What may be kept is decided per document, by its fields: a query whose every field is one the
views answer (`KEPT`), never one that reads anything else (a location's open work, an order,
an upstream). An answer with an error, a stale ERP fallback, or from a body larger than
`MAX_BODY` is not kept. The caller is part of the key, and a kept answer still pays its cost
from the caller's budget (or is answered by GraphQL, THROTTLED, when the budget cannot pay).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationType,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    parse,
    visit,
)
from graphql.language.visitor import BREAK
from graphql.utilities import get_operation_ast

from ordergate.models.identity import Principal
from ordergate.usecases.views import Reading, ReadViews

# The fields a kept answer may hold, by type: None for every field of the type, else the
# fields allowed. Every field here is read from the views (catalogue pages, locations, SKUs'
# stock) or from what an availability answer reads once with them (promise dates: products
# and capacity used today, as current as the views' bound); `tests/test_answers.py` fails when
# one of these types gains a resolver not vetted here.
KEPT: Mapping[str, frozenset[str] | None] = {
    "Query": frozenset({"products", "availability"}),
    "ProductConnection": None,
    "ProductEdge": None,
    "PageInfo": None,
    "Product": None,
    "Money": None,
    "SkuAvailability": None,
    "LocationAvailability": None,
    "IncomingStock": None,
    "Location": frozenset(
        {
            "id",
            "code",
            "name",
            "type",
            "address",
            "latitude",
            "longitude",
            "shipEnabled",
            "pickupEnabled",
            "channels",
            "capacityPerDay",
            "priority",
            "handlingDays",
            "safetyStock",
            "active",
            "erpId",
            "timeZone",
            "hours",
            "feedMaxAgeMinutes",
        }
    ),
    "Address": None,
    "OpeningPeriod": None,
}
MAX_BODY = 16_384  # bytes; larger bodies are answered, not kept
MAX_ENTRIES = 2_048
MAX_BYTES = 64 * 1024 * 1024  # every kept answer and its key together; one at most a 16th of it


def keepable(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None) -> bool:
    """Whether the operation is a query whose every field (in the whole document) is in KEPT."""
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        return False
    type_info = TypeInfo(schema)
    check = _FieldCheck(type_info)
    visit(document, TypeInfoVisitor(type_info, check))
    return check.ok


class _FieldCheck(Visitor):
    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.ok = True

    def enter_field(self, node: FieldNode, *_: Any) -> object:
        name = node.name.value
        if name == "__typename":
            return None
        parent = self.type_info.get_parent_type()
        allowed = KEPT.get(get_named_type(parent).name, frozenset()) if parent else frozenset()
        if allowed is None or name in allowed:
            return None
        self.ok = False
        return BREAK


@dataclass(frozen=True)
class Kept:
    """An answer's `data`, serialised, and what it was made from."""

    data: bytes
    reading: Reading
    answered_at: datetime  # the services' clock
    requested: int  # its cost, as priced when it was made
    actual: int
    name: str  # the operation's name, for spans
    operation: str  # its label for metrics
    body: bytes  # the whole answer when no budget is kept (the cost is then always the same)


Key = tuple[Principal | None, bytes]


class AnswerCache:
    """Kept answers, at most `max_entries` (least recently used dropped first), each valid while
    `views` say it is current and the clock is within the views' bound of when it was made."""

    def __init__(
        self,
        views: ReadViews,
        max_entries: int = MAX_ENTRIES,
        max_bytes: int = MAX_BYTES,
        refresh_due: Callable[[Iterable[str], datetime], bool] = lambda _skus, _now: False,
    ) -> None:
        self.views = views
        self.refresh_due = refresh_due  # whether an answer about these SKUs would read the ERP first
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.size = 0  # bytes kept: answers (twice: data and the whole body) and keys
        self._kept: OrderedDict[Key, Kept] = OrderedDict()
        self._documents: OrderedDict[tuple[str, str | None], bool] = OrderedDict()
        self.hits = 0  # answers served from what was kept
        self.kept = 0

    def get(self, key: Key, now: datetime) -> Kept | None:
        found = self._kept.get(key)
        if found is None:
            return None
        age = (now - found.answered_at).total_seconds()
        reading = found.reading
        if (
            not 0 <= age < self.views.max_age
            or not self.views.current(reading, now)
            or (reading.skus and self.refresh_due(reading.skus, now))
        ):
            self._drop(key)
            return None
        self._kept.move_to_end(key)
        return found

    def document_keepable(self, schema: GraphQLSchema, query: str, operation_name: str | None) -> bool:
        """`keepable`, remembered per document text (only documents that just ran get here)."""
        key = (query, operation_name)
        found = self._documents.get(key)
        if found is None:
            try:
                found = keepable(schema, parse(query), operation_name)
            except GraphQLError:
                found = False
            self._documents[key] = found
            while len(self._documents) > self.max_entries:
                self._documents.popitem(last=False)
        return found

    def put(self, key: Key, kept: Kept) -> bool:
        """Keep `kept` (False: too large to keep)."""
        size = _size(key, kept)
        if size > self.max_bytes // 16:
            return False
        self._drop(key)
        while self._kept and (len(self._kept) >= self.max_entries or self.size + size > self.max_bytes):
            self._drop(next(iter(self._kept)))
        self._kept[key] = kept
        self.size += size
        self.kept += 1
        return True

    def _drop(self, key: Key) -> None:
        found = self._kept.pop(key, None)
        if found is not None:
            self.size -= _size(key, found)


def _size(key: Key, kept: Kept) -> int:
    return len(key[1]) + len(kept.data) + len(kept.body)


def cost_bytes(cost: Mapping[str, Any]) -> bytes:
    return orjson.dumps(cost)


def answer_bytes(data: bytes, cost: bytes) -> bytes:
    """An answer as Strawberry writes it: `data`, then `extensions` with the cost."""
    return b'{"data":' + data + b',"extensions":{"cost":' + cost + b"}}"

"""Persisted queries: Apollo's automatic persisted queries (APQ), and an allow-list.

APQ (`ORDERGATE_PERSISTED_QUERIES=apq`, the default) is the `extensions.persistedQuery`
protocol that Apollo and urql clients speak: a client sends only the SHA-256 of its document;
if the gateway does not know it, the answer is `PERSISTED_QUERY_NOT_FOUND` and the client sends
the document with its hash once, which the gateway checks and remembers (a bounded LRU per
process). Registered operations are always known.

In `allowlist` mode only registered operations run, whether sent by hash or in full (a full
document is compared by its printed form, so whitespace and comments do not matter); anything
else is `OPERATION_NOT_ALLOWED`, and APQ does not register new documents. The registered
operations are every operation in the `.graphql` files of `ordergate/schema/operations/` (the
client contract) or of `ORDERGATE_OPERATIONS_PATH`, one document per operation with the
fragments it uses. `ordergate operations` prints them as an Apollo persisted-query manifest.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    OperationDefinitionNode,
    ValidationContext,
    Visitor,
    parse,
    print_ast,
    visit,
)
from graphql.validation import ASTValidationRule

from ordergate.settings import Settings

OPERATIONS_DIR = Path(__file__).parent / "operations"
MODES = ("apq", "allowlist", "off")
CACHE_SIZE = 10_000
MAX_DOCUMENT = 100_000

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
NOT_ALLOWED = "OPERATION_NOT_ALLOWED"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Registered:
    id: str
    name: str
    kind: str
    body: str


class _Spreads(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> None:
        self.names.add(node.name.value)


def _used_fragments(
    node: OperationDefinitionNode | FragmentDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> list[FragmentDefinitionNode]:
    seen: dict[str, FragmentDefinitionNode] = {}
    pending = [node]
    while pending:
        spreads = _Spreads()
        visit(pending.pop(), spreads)
        for name in sorted(spreads.names):
            if name not in seen and name in fragments:
                seen[name] = fragments[name]
                pending.append(fragments[name])
    return list(seen.values())


def split(document: DocumentNode) -> list[tuple[OperationDefinitionNode, str]]:
    """Each operation of a document as its own printed document, with the fragments it uses."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    return [
        (
            definition,
            print_ast(DocumentNode(definitions=(definition, *_used_fragments(definition, fragments)))),
        )
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
    ]


def load_operations(directories: Iterable[Path]) -> dict[str, Registered]:
    registered: dict[str, Registered] = {}
    for directory in directories:
        for path in sorted(directory.glob("*.graphql")):
            for definition, body in split(parse(path.read_text())):
                name = definition.name.value if definition.name else path.stem
                registered[sha256(body)] = Registered(sha256(body), name, definition.operation.value, body)
    return registered


def manifest(registered: Mapping[str, Registered]) -> str:
    """Apollo's persisted query manifest format."""
    operations = [
        {"id": op.id, "name": op.name, "type": op.kind, "body": op.body}
        for op in sorted(registered.values(), key=lambda op: op.name)
    ]
    return json.dumps(
        {"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}, indent=2
    )


class PersistedQueryError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class PersistedQueries:
    """Turns a request's `query` and `extensions.persistedQuery` into the document to run."""

    def __init__(self, mode: str, registered: Mapping[str, Registered], cache_size: int = CACHE_SIZE) -> None:
        if mode not in MODES:
            raise ValueError(f"ORDERGATE_PERSISTED_QUERIES must be one of {', '.join(MODES)}, not {mode!r}")
        self.mode = mode
        self.registered = dict(registered)
        self.cache_size = cache_size
        self._cache: OrderedDict[str, str] = OrderedDict()

    @property
    def allow_list(self) -> frozenset[str] | None:
        return frozenset(self.registered) if self.mode == "allowlist" else None

    def resolve(self, query: str | None, extensions: Mapping[str, Any] | None) -> str | None:
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            return query
        if self.mode == "off":
            raise PersistedQueryError(NOT_SUPPORTED, "PersistedQueryNotSupported")
        wanted = persisted.get("sha256Hash") if isinstance(persisted, Mapping) else None
        if not isinstance(wanted, str) or persisted.get("version", 1) != 1:
            raise PersistedQueryError(NOT_SUPPORTED, "persistedQuery needs version 1 and a sha256Hash")
        known = self.registered.get(wanted)
        if known is not None:
            if query is not None and sha256(query) != wanted:
                raise PersistedQueryError(HASH_MISMATCH, "the query does not match its sha256Hash")
            return query if query is not None else known.body
        if self.mode == "allowlist":
            if query is not None:
                raise PersistedQueryError(NOT_ALLOWED, "only the registered operations run here")
            raise PersistedQueryError(NOT_FOUND, "PersistedQueryNotFound")
        if query is None:
            cached = self._cache.get(wanted)
            if cached is None:
                raise PersistedQueryError(NOT_FOUND, "PersistedQueryNotFound")
            self._cache.move_to_end(wanted)
            return cached
        if len(query) > MAX_DOCUMENT:
            raise PersistedQueryError(NOT_SUPPORTED, "the document is too large to persist")
        if sha256(query) != wanted:
            raise PersistedQueryError(HASH_MISMATCH, "the query does not match its sha256Hash")
        self._cache[wanted] = query
        self._cache.move_to_end(wanted)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return query


def allow_list_rule(allowed: frozenset[str]) -> type[ASTValidationRule]:
    """A validation rule: every operation of the document must be a registered one (compared
    by its printed form); built once per schema, so the validation cache still hits."""

    class AllowList(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            for definition, body in split(context.document):
                if sha256(body) not in allowed:
                    name = definition.name.value if definition.name else "an anonymous operation"
                    self.report_error(
                        GraphQLError(
                            f"{name} is not on this gateway's allow-list of operations",
                            definition,
                            extensions={"code": NOT_ALLOWED},
                        )
                    )

    return AllowList


def for_settings(settings: Settings) -> PersistedQueries:
    directory = Path(settings.operations_path) if settings.operations_path else OPERATIONS_DIR
    return PersistedQueries(settings.persisted_queries, load_operations([directory]))

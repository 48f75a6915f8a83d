"""Persisted queries: Apollo's automatic persisted queries (APQ), and an allow-list.

APQ (`ORDERGATE_PERSISTED_QUERIES=apq`, the default) is the `extensions.persistedQuery`
protocol that Apollo and urql clients speak: a client sends only the SHA-256 of its document;
if the gateway does not know it, the answer is `PERSISTED_QUERY_NOT_FOUND` and the client sends
the document with its hash once, which the gateway checks and remembers (a bounded LRU per
process). Registered operations are always known.

In `allowlist` mode only registered operations run, whether sent by hash or in full (a full
document is compared by its printed form, so whitespace and comments do not matter); anything
else is `OPERATION_NOT_ALLOWED`, and APQ does not register new documents. Introspection,
`_service { sdl }` and `{ __typename }` are not the allow-list's business: they follow
`ORDERGATE_INTROSPECTION` (see `limits`). A router presenting `ORDERGATE_ROUTER_TOKEN` is served
by a schema without the allow-list (see `view`): it sends query-plan fragments, never a client's
registered text, and does its own safelisting at the edge.

The registered operations are every operation in the `.graphql` files of
`ordergate/schema/operations/` (the client contract) or of `ORDERGATE_OPERATIONS_PATH`, one
document per operation with the fragments it uses, plus the trusted documents of the manifests
named by `ORDERGATE_TRUSTED_DOCUMENTS`, in the formats clients' tools write:

    {"format": "apollo-persisted-query-manifest", "version": 1,
     "operations": [{"id": sha256(body), "name": ..., "type": "query", "body": ...}]}
    {"<md5, sha1 or sha256 of the text>": "<text>", ...}     Relay's persisted_queries.json,
                                                             codegen's persisted-documents.json

Apollo Client adds `__typename` to every selection set before it hashes and sends a document
(`with_typename` does the same), so the contract's own text is not what it sends: load the
manifest its tooling generates, or `ordergate operations --format apollo --typename`.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSyntaxError,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    Visitor,
    parse,
    print_ast,
    visit,
)
from graphql.validation import ASTValidationRule

from ordergate.schema.limits import root_fields
from ordergate.settings import Settings, SettingsError

OPERATIONS_DIR = Path(__file__).parent / "operations"
MODES = ("apq", "allowlist", "off")
FORMATS = ("apollo", "relay", "codegen")
APOLLO_FORMAT = "apollo-persisted-query-manifest"
# Root fields that only describe the schema: introspection and `_service` follow
# ORDERGATE_INTROSPECTION, not the allow-list; `__typename` alone is a liveness probe.
SCHEMA_FIELDS = frozenset({"__schema", "__type", "__typename", "_service"})
CACHE_SIZE = 10_000
MAX_DOCUMENT = 100_000

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
NOT_ALLOWED = "OPERATION_NOT_ALLOWED"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# The digests clients' tools key documents by: Apollo sha256; Relay md5 (its default), sha1 or
# sha256; GraphQL Code Generator `sha256:<hex>` (or `sha1:<hex>`), as trusted documents are named.
DIGESTS: dict[str, Callable[[bytes], Any]] = {
    "md5": hashlib.md5,
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
}
BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256"}


def is_digest_of(key: str, text: str) -> bool:
    """Whether `key` (bare hex, or `algorithm:hex`) is the md5, sha1 or sha256 of `text`."""
    algorithm, _, hexdigest = key.rpartition(":")
    digest = DIGESTS.get(algorithm.lower() or BY_LENGTH.get(len(hexdigest), ""))
    return digest is not None and digest(text.encode()).hexdigest() == hexdigest.lower()


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
            stat = path.stat()
            registered.update(_operations_in(str(path), stat.st_mtime_ns, stat.st_size))
    return registered


@functools.lru_cache(maxsize=256)
def _operations_in(path: str, _mtime_ns: int, _size: int) -> dict[str, Registered]:
    """One file's operations, parsed once per version of the file (every app this process
    builds reads the same files)."""
    found: dict[str, Registered] = {}
    for definition, body in split(parse(Path(path).read_text())):
        name = definition.name.value if definition.name else Path(path).stem
        found[sha256(body)] = Registered(sha256(body), name, definition.operation.value, body)
    return found


TYPENAME = FieldNode(name=NameNode(value="__typename"), arguments=(), directives=())


class _AddTypename(Visitor):
    """Apollo Client's `addTypenameToDocument` (@apollo/client/utilities), rule for rule."""

    def enter_selection_set(
        self, node: SelectionSetNode, _key: Any, parent: Any, *_: Any
    ) -> SelectionSetNode | None:
        if isinstance(parent, OperationDefinitionNode) or not node.selections:
            return None
        if any(isinstance(s, FieldNode) and s.name.value.startswith("__") for s in node.selections):
            return None  # has a __typename already, or is introspection
        if isinstance(parent, FieldNode) and any(d.name.value == "export" for d in parent.directives or ()):
            return None
        return SelectionSetNode(selections=(*node.selections, TYPENAME))


def with_typename(body: str) -> str:
    """The text Apollo Client sends (and hashes) for `body`: `print(addTypenameToDocument(doc))`."""
    return print_ast(visit(parse(body), _AddTypename()))


def _described(key: str, body: str, where: str) -> Registered:
    try:
        document = parse(body)
    except GraphQLSyntaxError as error:
        raise SettingsError(f"{where}: the document for {key!r} does not parse: {error.message}") from None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if not operations:
        raise SettingsError(f"{where}: the document for {key!r} has no operation")
    first = operations[0]
    return Registered(key, first.name.value if first.name else "anonymous", first.operation.value, body)


def _apollo(data: Mapping[str, Any], where: str) -> list[Registered]:
    operations = data.get("operations")
    if data.get("version") != 1 or not isinstance(operations, list):
        raise SettingsError(f'{where}: an Apollo manifest needs "version": 1 and a list of "operations"')
    found = []
    for index, entry in enumerate(operations):
        fields = ("id", "name", "type", "body")
        if not isinstance(entry, Mapping) or not all(isinstance(entry.get(f), str) for f in fields):
            raise SettingsError(f"{where}: operations[{index}] needs string {', '.join(fields)}")
        if entry["id"] != sha256(entry["body"]):
            name = entry["name"]
            raise SettingsError(f"{where}: operations[{index}] ({name}): id is not the sha256 of body")
        found.append(_described(entry["id"], entry["body"], where))
    return found


def _by_digest(data: Mapping[str, Any], where: str) -> list[Registered]:
    found = []
    for key, body in data.items():
        if not isinstance(body, str):
            raise SettingsError(f"{where}: the value of {key!r} is not a document's text")
        if not is_digest_of(key, body):
            raise SettingsError(f"{where}: {key!r} is not the md5, sha1 or sha256 of its document")
        found.append(_described(key, body, where))
    return found


def load_documents(path: Path) -> dict[str, Registered]:
    """The trusted documents of one manifest, by the id clients send and by the sha256 of the
    text (what APQ clients send); the format is told by the content. SettingsError when the
    file cannot be read, is of no known format, or an id is not the digest of its document."""
    where = f"ORDERGATE_TRUSTED_DOCUMENTS: {path}"
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise SettingsError(f"{where}: cannot be read ({error.strerror})") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise SettingsError(f"{where}: not JSON ({error})") from None
    if not isinstance(data, dict) or not data:
        raise SettingsError(f"{where}: expected an Apollo manifest or an object of id to document text")
    entries = _apollo(data, where) if data.get("format") == APOLLO_FORMAT else _by_digest(data, where)
    registered: dict[str, Registered] = {}
    for op in entries:
        registered[op.id] = op
        registered.setdefault(sha256(op.body), op)
    return registered


def manifest(registered: Mapping[str, Registered], fmt: str = "apollo", *, typename: bool = False) -> str:
    """The registered operations in the format a client's tooling reads: Apollo's persisted
    query manifest, or an object of sha256 to text (Relay's `persisted_queries.json` with its
    SHA256 algorithm, GraphQL Code Generator's `persisted-documents.json`). With `typename`,
    each text is what Apollo Client sends for it."""
    bodies: dict[str, Registered] = {}
    for op in sorted(registered.values(), key=lambda op: (op.name, op.body)):
        body = with_typename(op.body) if typename else op.body
        bodies.setdefault(body, op)
    if fmt != "apollo":
        return json.dumps({sha256(body): body for body in bodies}, indent=2)
    operations = [
        {"id": sha256(body), "name": op.name, "type": op.kind, "body": body} for body, op in bodies.items()
    ]
    return json.dumps({"format": APOLLO_FORMAT, "version": 1, "operations": operations}, indent=2)


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
        """The sha256 of each registered operation's printed form, in allow-list mode."""
        if self.mode != "allowlist":
            return None
        return frozenset(sha256(body) for op in self.registered.values() for _, body in split(parse(op.body)))

    def for_router(self) -> PersistedQueries:
        """What a trusted router may send: APQ instead of the allow-list (it safelists at the edge)."""
        return PersistedQueries("apq", self.registered, self.cache_size) if self.mode == "allowlist" else self

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
            if query is not None and query != known.body and sha256(query) != wanted:
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


def asks_about_schema(document: DocumentNode, operation: OperationDefinitionNode) -> bool:
    fields = root_fields(document, operation)
    return bool(fields) and fields <= SCHEMA_FIELDS


def allow_list_rule(allowed: frozenset[str]) -> type[ASTValidationRule]:
    """A validation rule: every operation of the document must be a registered one (compared
    by its printed form), unless it only asks about the schema (`SCHEMA_FIELDS`); built once
    per schema, so the validation cache still hits."""

    class AllowList(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            for definition, body in split(context.document):
                if sha256(body) not in allowed and not asks_about_schema(context.document, definition):
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
    registered = load_operations([directory])
    for path in settings.trusted_documents:
        registered.update(load_documents(Path(path)))
    return PersistedQueries(settings.persisted_queries, registered)

"""The schema: an Apollo Federation 2 subgraph with caches, limits and the error policy."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from functools import cached_property
from pathlib import Path

import strawberry
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules, SchemaExtension
from strawberry.extensions import ParserCache as StrawberryParserCache
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.federation.schema import FederationAny
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.name_converter import NameConverter
from strawberry.schema.schema import validate_document
from strawberry.types import ExecutionContext

from ordergate.models.budget import Budget
from ordergate.schema import entities, limits, persisted
from ordergate.schema.context import Info
from ordergate.schema.errors import ErrorPolicy
from ordergate.schema.execution import LeanExecutionContext, lean_resolvers
from ordergate.schema.hooks import KnownHooksRunner
from ordergate.schema.kept import KeptBy
from ordergate.schema.mutation import Mutation
from ordergate.schema.query import Query
from ordergate.schema.subscription import Subscription
from ordergate.schema.text import guard_text
from ordergate.settings import Settings

SDL_PATH = Path(__file__).parent / "schema.graphql"


class ParserCache(StrawberryParserCache):
    """A document that does not parse is left to Strawberry, which parses it again inside
    the operation and reports the syntax error there, where the error policy and the token
    limit see it; raised from this hook, it would skip them."""

    def on_parse(self) -> Iterator[None]:
        execution = self.execution_context
        with contextlib.suppress(GraphQLError):
            execution.graphql_document = self.cached_parse_document(
                execution.query, **execution.parse_options
            )
        yield


class ValidationCache(SchemaExtension):
    """Validation, remembered per document (the parser cache hands back the same document for
    the same text). A document not seen before is validated on a worker thread, so however
    long one client's document takes to check, the event loop goes on answering everyone else
    (`/healthz` included); the checks are linear in the document (see `shape` and `cost`), so
    that time is bounded by the token limit."""

    _results: KeptBy[list[GraphQLError]] = KeptBy(512)  # by the document and the rules

    async def on_validate(self) -> AsyncIterator[None]:
        execution = self.execution_context
        document = execution.graphql_document
        if document is not None:
            rules = tuple(execution.validation_rules)
            kept = self._results.get((document,), rules)
            if kept is None:
                errors = await asyncio.to_thread(validate_document, execution.schema._schema, document, rules)
                self._results.keep((document,), errors, rules)
            else:
                errors = kept[0]
            execution.pre_execution_errors = errors
        yield


class KeptNames(NameConverter):
    """Strawberry's names, each worked out once: it converts every input field's Python name to
    its GraphQL name again for every argument value of every request (`convert_argument`), which
    was about a twentieth of a `placeOrder`'s CPU. Names come from the schema's own Python code,
    so there are as many as it has; `KEPT` bounds them all the same."""

    KEPT = 10_000

    def __init__(self, auto_camel_case: bool = True) -> None:
        super().__init__(auto_camel_case)
        self._kept: dict[str, str] = {}

    def apply_naming_config(self, name: str) -> str:
        kept = self._kept.get(name)
        if kept is None:
            kept = super().apply_naming_config(name)
            if len(self._kept) < self.KEPT:
                self._kept[name] = kept
        return kept


class Schema(strawberry.federation.Schema):
    budget: Budget | None = None  # what every request it serves pays from (ORDERGATE_QUERY_BUDGET)

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        """Strawberry's runner, the hooks set up without being wrapped again per request."""
        return KnownHooksRunner(execution_context=execution_context, extensions=extensions)

    def process_errors(self, errors: list, execution_context: object = None) -> None:  # type: ignore[type-arg]
        """Logging happens in ErrorPolicy, once, with the request id; expected errors are not noise."""

    @staticmethod
    def remove_field_suggestion(error: GraphQLError) -> None:
        """Strawberry strips only "Cannot query field" suggestions; these are all of them
        (unknown arguments, types and enum values too)."""
        error.message = limits.strip_suggestions(error.message)

    @cached_property
    def entity_keys(self) -> dict[str, tuple[str, ...]]:
        return entities.entity_keys(self._schema)

    def entities_resolver(self, info: Info, representations: list[FederationAny]) -> list[FederationAny]:
        """Strawberry's, for the representations that `entities.resolve` finds valid."""
        base = super().entities_resolver
        return entities.resolve(representations, self.entity_keys, lambda valid: base(info, valid))  # type: ignore[arg-type]


_BUILT: dict[tuple[str, frozenset[str] | None, bool], Schema] = {}
_KEEP_AT_MOST = 8


def build_schema(
    settings: Settings | None = None, trusted: persisted.PersistedQueries | None = None, *, lean: bool = True
) -> Schema:
    """The schema for `settings`; with an allow-list when `trusted` (by default the settings'
    registered operations) is in allow-list mode. A router's schema is built with
    `trusted.for_router()`, which has none.

    Building one takes tens of milliseconds, so a process that builds several apps (tests, a
    router's second view) reuses the one built for the same settings, whatever the database,
    and the same allow-list. Never with a query budget: its buckets belong to one app.
    `lean=False` executes as graphql-core and Strawberry do (what tests compare the lean
    execution with)."""
    settings = settings or Settings()
    allowed = (trusted or persisted.for_settings(settings)).allow_list
    key = (repr(replace(settings, database_url="")), allowed, lean)
    if settings.query_budget <= 0 and key in _BUILT:
        return _BUILT[key]
    schema = _built(settings, allowed, lean)
    if settings.query_budget <= 0:
        if len(_BUILT) >= _KEEP_AT_MOST:
            _BUILT.clear()
        _BUILT[key] = schema
    return schema


def _built(settings: Settings, allowed: frozenset[str] | None, lean: bool) -> Schema:
    only_registered = (
        [] if allowed is None else [lambda: AddValidationRules([persisted.allow_list_rule(allowed)])]
    )
    budget = limits.budget_for(settings)
    schema = Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        federation_version="2.7",
        execution_context_class=LeanExecutionContext if lean else None,
        config=StrawberryConfig(
            disable_field_suggestions=not settings.field_suggestions, name_converter=KeptNames()
        ),
        extensions=[
            lambda: ParserCache(maxsize=512),
            ValidationCache,
            *only_registered,
            *limits.extensions(settings, budget),
            ErrorPolicy,
        ],
    )
    schema.budget = budget
    guard_text(schema._schema)
    if lean:
        lean_resolvers(schema)
    return schema


def print_sdl() -> str:
    return build_schema().as_str() + "\n"

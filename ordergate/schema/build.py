"""The schema: an Apollo Federation 2 subgraph with caches and the error policy."""

from __future__ import annotations

from pathlib import Path

import strawberry
from strawberry.extensions import ParserCache, ValidationCache

from ordergate.schema.errors import ErrorPolicy
from ordergate.schema.mutation import Mutation
from ordergate.schema.query import Query
from ordergate.schema.subscription import Subscription

SDL_PATH = Path(__file__).parent / "schema.graphql"


class Schema(strawberry.federation.Schema):
    def process_errors(self, errors: list, execution_context: object = None) -> None:  # type: ignore[type-arg]
        """Logging happens in ErrorPolicy, once, with the request id; expected errors are not noise."""


def build_schema() -> Schema:
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        federation_version="2.7",
        extensions=[lambda: ParserCache(maxsize=512), lambda: ValidationCache(maxsize=512), ErrorPolicy],
    )


def print_sdl() -> str:
    return build_schema().as_str() + "\n"

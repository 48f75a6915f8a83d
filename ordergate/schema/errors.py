"""Errors as clients see them: domain errors keep their code and message; anything
unexpected is logged with the request id and reaches the client as `INTERNAL`."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import MaskErrors

from ordergate.models.errors import DomainError

log = logging.getLogger("ordergate.errors")

INTERNAL = "INTERNAL"
INTERNAL_MESSAGE = "Internal error; quote the requestId when you report it."


def is_expected(error: GraphQLError) -> bool:
    """Parse, validation, permission and limit errors carry no foreign original error."""
    original = error.original_error
    return original is None or isinstance(original, (DomainError, GraphQLError))


class ErrorPolicy(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda e: not is_expected(e), error_message=INTERNAL_MESSAGE)

    def _spelled(self, path: Sequence[str]) -> list[str]:
        """A domain path (a field's own arguments, in Python's spelling) as the client wrote it."""
        spell = self.execution_context.schema.config.name_converter.apply_naming_config
        return [part if part.isdigit() else spell(part) for part in path]

    def _request_id(self) -> str | None:
        context = getattr(self.execution_context, "context", None)
        return getattr(context, "request_id", None)

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        shaped: list[GraphQLError] = []
        request_id = self._request_id()
        for error in errors:
            original = error.original_error
            if isinstance(original, DomainError):
                problems = original.problems
                first = problems[0]
                extensions: dict[str, object] = {"code": first.code}
                if first.field is not None:
                    extensions["field"] = self._spelled(first.field)
                extensions.update(original.extensions)
                if len(problems) > 1:
                    extensions["problems"] = [
                        {"code": p.code, "field": self._spelled(p.field or ()), "message": p.message}
                        for p in problems
                    ]
                shaped.append(self._with(error, error.message, extensions))
            elif is_expected(error):
                # A document that does not parse is not one that fails validation: clients (and
                # Apollo's conventions) tell the two apart.
                unparsed = isinstance(error, GraphQLSyntaxError) or isinstance(original, GraphQLSyntaxError)
                default = "GRAPHQL_PARSE_FAILED" if unparsed else "GRAPHQL_VALIDATION_FAILED"
                code = (error.extensions or {}).get("code", default)
                shaped.append(self._with(error, error.message, {**(error.extensions or {}), "code": code}))
            else:
                log.error(
                    "unexpected error in %s (request %s)",
                    ".".join(str(p) for p in error.path or ()),
                    request_id,
                    exc_info=original,
                )
                shaped.append(
                    self._with(error, INTERNAL_MESSAGE, {"code": INTERNAL, "requestId": request_id})
                )
        return shaped

    @staticmethod
    def _with(error: GraphQLError, message: str, extensions: dict[str, object]) -> GraphQLError:
        return GraphQLError(
            message=message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions=extensions,
        )

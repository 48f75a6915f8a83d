"""What an operation may ask for, checked before it runs: depth, aliases, tokens, static
cost and the client's budget; and the production switches for introspection and suggestions.

Each refusal carries a stable `extensions.code`: QUERY_TOO_DEEP, TOO_MANY_ALIASES,
TOO_MANY_TOKENS, QUERY_TOO_COSTLY, INPUT_TOO_LARGE (a list in the document or the variables
longer than the cap, said once), THROTTLED (with `retryAfter`, and HTTP 429 with
`Retry-After`), INTROSPECTION_DISABLED. Every operation that reaches execution reports
`extensions.cost` as Shopify does: requested and actual cost, and the throttle status.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    ValidationContext,
)
from graphql.utilities import get_operation_ast
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule, ValidationRule
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, SchemaExtension

from ordergate.models.budget import Budget, ThrottleStatus
from ordergate.models.identity import Principal, Role
from ordergate.schema.context import Context
from ordergate.schema.cost import priced
from ordergate.schema.shape import Measure
from ordergate.settings import Settings

QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
TOO_MANY_TOKENS = "TOO_MANY_TOKENS"
QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
THROTTLED = "THROTTLED"
INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
INPUT_TOO_LARGE = "INPUT_TOO_LARGE"

SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def strip_suggestions(message: str) -> str:
    return SUGGESTION.sub("", message)


def _with_code(error: GraphQLError, code: str) -> GraphQLError:
    error.extensions = {**(error.extensions or {}), "code": code}
    return error


def coded(rule: type[ASTValidationRule], code: str) -> type[ASTValidationRule]:
    """`rule`, with `code` on each error it reports."""

    class Coded(rule):  # type: ignore[valid-type,misc]
        def report_error(self, error: GraphQLError) -> None:
            super().report_error(_with_code(error, code))

    Coded.__name__ = Coded.__qualname__ = f"{rule.__name__}_{code}"
    return Coded


def shape_limit(max_depth: int, max_aliases: int, max_fields: int) -> type[ASTValidationRule]:
    """Depth, aliases and expanded size, from one measure of the document (each fragment once,
    spreads by arithmetic: see `shape`), so no document costs more to check than its length."""

    class ShapeLimit(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            aliases = 0
            for operation, shape in Measure(context.document).all():
                name = operation.name.value if operation.name else "anonymous"
                if shape.depth > max_depth:
                    context.report_error(
                        GraphQLError(
                            f"'{name}' exceeds maximum operation depth of {max_depth}",
                            operation,
                            extensions={"code": QUERY_TOO_DEEP},
                        )
                    )
                if shape.selections > max_fields:
                    context.report_error(
                        GraphQLError(
                            f"'{name}' expands to {shape.selections} field selections (fragments "
                            f"counted as often as they are spread); at most {max_fields} may run.",
                            operation,
                            extensions={"code": QUERY_TOO_COSTLY, "fields": shape.selections},
                        )
                    )
                aliases += shape.aliases
            if aliases > max_aliases:
                context.report_error(
                    GraphQLError(
                        f"{aliases} aliases found. Allowed: {max_aliases}",
                        extensions={"code": TOO_MANY_ALIASES},
                    )
                )

    return ShapeLimit


def list_limit(max_items: int) -> type[ASTValidationRule]:
    """A list written in the document longer than `max_items` is refused, once."""

    class ListLimit(ValidationRule):
        reported = False

        def enter_list_value(self, node: ListValueNode, *_: Any) -> None:
            if len(node.values) > max_items and not self.reported:
                self.reported = True
                self.report_error(
                    GraphQLError(
                        f"A list of {len(node.values)} items; at most {max_items} are accepted in one list.",
                        node,
                        extensions={"code": INPUT_TOO_LARGE, "maxItems": max_items},
                    )
                )

    return ListLimit


def oversized_list(value: Any, max_items: int, path: str = "variables") -> tuple[str, int] | None:
    """The first list in `value` (the request's variables) longer than `max_items`: where and
    how long. JSON reaches us nested no deeper than `untrusted.MAX_JSON_DEPTH`."""
    if isinstance(value, list):
        if len(value) > max_items:
            return path, len(value)
        items: Any = enumerate(value)
    elif isinstance(value, dict):
        items = value.items()
    else:
        return None
    for key, item in items:
        if isinstance(item, list | dict) and (found := oversized_list(item, max_items, f"{path}.{key}")):
            return found
    return None


def validation_rules(settings: Settings) -> list[type[ASTValidationRule]]:
    """Built once per schema: the validation cache is keyed by the rule classes."""
    rules = [
        shape_limit(settings.max_query_depth, settings.max_query_aliases, settings.max_query_fields),
        list_limit(settings.max_input_list),
    ]
    if not settings.introspection:
        rules.append(coded(NoSchemaIntrospectionCustomRule, INTROSPECTION_DISABLED))
    return rules


FEDERATION_SDL = "_service"


def root_fields(document: DocumentNode, operation: str | OperationDefinitionNode | None) -> set[str]:
    """The names of the fields an operation (by name, or itself) selects at its root, through
    its fragments (each once)."""
    if not isinstance(operation, OperationDefinitionNode):
        operation = get_operation_ast(document, operation)
    if operation is None:
        return set()
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    names: set[str] = set()
    seen: set[str] = set()
    pending = [operation.selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                seen.add(selection.name.value)
                if (fragment := fragments.get(selection.name.value)) is not None:
                    pending.append(fragment.selection_set)
    return names


class ServiceSdlGate(SchemaExtension):
    """With introspection off, the subgraph's SDL (`_service { sdl }`, Apollo Federation) is the
    schema by another door: only admins and the router (ORDERGATE_ROUTER_TOKEN) are answered
    (INTROSPECTION_DISABLED for others)."""

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        context = execution.context
        assert execution.graphql_document is not None
        trusted = isinstance(context, Context) and (
            context.router or (context.principal is not None and context.principal.role is Role.ADMIN)
        )
        asked = root_fields(execution.graphql_document, execution.operation_name)
        if not trusted and FEDERATION_SDL in asked:
            execution.result = ExecutionResult(
                data=None,
                errors=[
                    GraphQLError(
                        "The schema is not published here (introspection is off).",
                        extensions={"code": INTROSPECTION_DISABLED},
                    )
                ],
            )
        yield


class TokenLimit(MaxTokensLimiter):
    """The parser stops at `max_token_count` tokens; its syntax error gets our code."""

    def on_parse(self) -> Iterator[None]:
        yield
        too_many = f"more than {self.max_token_count} tokens"
        for error in self.execution_context.pre_execution_errors or ():
            if too_many in error.message:
                _with_code(error, TOO_MANY_TOKENS)


class CostLimit(SchemaExtension):
    """Prices the operation before it runs, refuses it over `max_cost`, reserves its cost
    from the client's budget (or refuses it, THROTTLED), and gives back what it did not use.

    A subscription is priced and charged once, when it starts; refused, it never starts."""

    def __init__(self, max_cost: int, page_cap: int, budget: Budget | None, max_list: int) -> None:
        self.max_cost = max_cost
        self.page_cap = page_cap
        self.budget = budget
        self.max_list = max_list
        self.cost: dict[str, Any] | None = None

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        context = execution.context
        assert execution.graphql_document is not None
        subscription = execution.operation_type.value == OperationType.SUBSCRIPTION.value
        requested, operation = 0, None
        # Lists first, before the variables are coerced: that is the work refused.
        refusal = self._oversized(execution.variables)
        if refusal is None:
            operation = priced(
                execution.schema._schema,
                self.page_cap,
                execution.graphql_document,
                execution.operation_name,
                execution.variables,
            )
            if operation is None:
                yield  # execution reports why it cannot run
                return
            if not isinstance(context, Context):
                context = None  # an in-process call: priced, but no client's budget pays
            requested = operation.requested()
            refusal = self._refusal(requested, context)
        if refusal is not None:
            if subscription:
                raise refusal
            execution.result = ExecutionResult(data=None, errors=[refusal])
            yield
            return
        yield
        if subscription:
            return  # charged in full; its events are not cluttered with the cost
        result = execution.result
        actual = requested
        if isinstance(result, ExecutionResult) and operation is not None:
            actual = min(requested, operation.actual(result.data))
        status = None
        if self.budget is not None and context is not None:
            status = self.budget.refund(_client(context), requested - actual, _now(context))
        self._report(requested, actual, status)

    def _oversized(self, variables: Any) -> GraphQLError | None:
        found = oversized_list(variables, self.max_list)
        if found is None:
            return None
        where, length = found
        return GraphQLError(
            f"`{where}` has {length} items; at most {self.max_list} are accepted in one list.",
            extensions={"code": INPUT_TOO_LARGE, "maxItems": self.max_list},
        )

    def _refusal(self, requested: int, context: Context | None) -> GraphQLError | None:
        budget = self.budget if context is not None else None
        if requested > self.max_cost:
            status = budget.status(_client(context), _now(context)) if budget and context else None
            self._report(requested, 0, status)
            return GraphQLError(
                f"This operation would cost {requested} points; at most {self.max_cost} may run at once. "
                "Ask for smaller pages (`first`) or fewer nested lists.",
                extensions={"code": QUERY_TOO_COSTLY, "cost": requested, "maxCost": self.max_cost},
            )
        if budget is None or context is None:
            return None
        reservation = budget.reserve(_client(context), requested, _now(context))
        if reservation.granted:
            return None
        self._report(requested, 0, reservation.status)
        return GraphQLError(
            f"Throttled: this operation costs {requested} points and "
            f"{reservation.status.currently_available} are available; "
            f"retry in {reservation.retry_after_seconds} s.",
            extensions={"code": THROTTLED, "retryAfter": reservation.retry_after_seconds},
        )

    def _report(self, requested: int, actual: int, status: ThrottleStatus | None) -> None:
        self.cost = cost_report(requested, actual, status)

    def get_results(self) -> dict[str, Any]:
        return {"cost": self.cost} if self.cost is not None else {}


def cost_report(requested: int, actual: int, status: ThrottleStatus | None) -> dict[str, Any]:
    """`extensions.cost` of an answer."""
    cost: dict[str, Any] = {"requestedQueryCost": requested, "actualQueryCost": actual}
    if status is not None:
        cost["throttleStatus"] = {
            "maximumAvailable": status.maximum_available,
            "currentlyAvailable": status.currently_available,
            "restoreRate": status.restore_rate,
        }
    return cost


def payer(principal: Principal | None, address: str | None) -> str:
    """Whose budget pays: the token's subject, else the caller's address."""
    if principal is not None:
        return f"subject:{principal.subject}"
    return f"address:{address or 'unknown'}"


def _client(context: Context) -> str:
    return payer(context.principal, context.client_address)


def _now(context: Context) -> float:
    return context.services.clock().timestamp()


def budget_for(settings: Settings) -> Budget | None:
    """The budget every request a schema serves pays from, when there is one."""
    if settings.query_budget <= 0:
        return None
    return Budget(settings.query_budget, settings.query_budget_restore_rate)


def extensions(settings: Settings, budget: Budget | None) -> list[Callable[[], SchemaExtension]]:
    """The limits as schema extensions, paying from `budget`."""
    rules = validation_rules(settings)
    max_cost = settings.max_query_cost
    if budget is not None:
        max_cost = min(max_cost, budget.capacity)  # dearer than a full bucket could never run
    return [
        lambda: AddValidationRules(rules),
        lambda: TokenLimit(settings.max_query_tokens),
        *([] if settings.introspection else [ServiceSdlGate]),
        lambda: CostLimit(max_cost, settings.page_size_cap, budget, settings.max_input_list),
    ]

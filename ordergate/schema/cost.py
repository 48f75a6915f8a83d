"""What an operation may cost, priced from its document before it runs, and what it did cost,
priced from its result after.

Every object the operation can return costs 1; scalars, enums and the envelope of a
connection (`...Connection`, `...Edge`, `PageInfo`) cost nothing. A list is priced at the
most items it can hold: `first` for a paged field and for the `edges`
of its connection, the length of the input list for a field sized by one
(`availability(skus:)`), and one item for any other list, whose length the domain bounds (an
order's lines), not the client. So a connection costs `first * (node cost + 1)`, as Shopify's
Admin API prices one. A mutation's root field costs `MUTATION_WEIGHT`; a subscription is
priced once, as a query, when it starts. A page outside 0..cap costs nothing: its resolver
refuses it (PAGE_SIZE_TOO_LARGE) before any work, and that is the error the client needs.

The actual cost walks the result with the same weights, counting the items each list did
return (never more than it was priced at), so it is never above the requested cost.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLAbstractType,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
)
from graphql.execution.values import (
    VariableValues,
    get_argument_values,
    get_directive_values,
    get_variable_values,
)
from graphql.utilities import get_operation_ast

MUTATION_WEIGHT = 10
PAGE_ARGUMENT = "first"
# Lists as long as an input list: one item per SKU asked about.
SIZED_BY: Mapping[tuple[str, str], str] = {("Query", "availability"): "skus"}
ENVELOPE_SUFFIXES = ("Connection", "Edge")
ENVELOPE_TYPES = frozenset({"PageInfo"})


def weight(named: GraphQLNamedType) -> int:
    if is_leaf_type(named) or named.name in ENVELOPE_TYPES or named.name.endswith(ENVELOPE_SUFFIXES):
        return 0
    return 1


class QueryCost:
    """Prices the operations run against one schema."""

    def __init__(self, schema: GraphQLSchema, page_cap: int) -> None:
        self.schema = schema
        self.page_cap = page_cap

    def operation(
        self, document: DocumentNode, operation_name: str | None, variables: Mapping[str, Any] | None
    ) -> PricedOperation | None:
        """The operation the request runs, or None when it cannot run (no such operation,
        variables that do not coerce): execution then says why, and no resolver runs."""
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            return None
        root = self.schema.get_root_type(operation.operation)
        coerced = get_variable_values(
            self.schema, operation.variable_definitions or (), dict(variables or {})
        )
        if root is None or not isinstance(coerced, VariableValues):
            return None
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        return PricedOperation(self.schema, self.page_cap, operation, root, fragments, coerced)


@dataclass(frozen=True)
class PricedOperation:
    schema: GraphQLSchema
    page_cap: int
    node: OperationDefinitionNode
    root: GraphQLObjectType
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: VariableValues
    # The fields each selection set selects on each type: the same for every item of a list,
    # so pricing a page of results collects each selection set once, not once per item.
    _collected: dict[tuple[int, str], tuple[FieldNode, ...]] = dataclasses.field(
        default_factory=dict, compare=False, repr=False
    )

    def requested(self) -> int:
        """The most this operation can cost, whatever the data."""
        return sum(self._field(field, parent, None, None, root=True) for field, parent in self._root_fields())

    def actual(self, data: Mapping[str, Any] | None) -> int:
        """What the data it returned cost."""
        if not data:
            return 0
        return sum(
            self._field(field, parent, data[key], None, root=True)
            for field, parent in self._root_fields()
            if (key := _key(field)) in data and data[key] is not None
        )

    def _root_fields(self) -> Iterator[tuple[FieldNode, GraphQLObjectType]]:
        for field in self._collect(self.node.selection_set, self.root, frozenset()):
            yield field, self.root

    def _selection(self, selection_set: SelectionSetNode, parent: GraphQLNamedType, value: Any) -> int:
        """An object's selection; for a union or interface, its costliest possible type."""
        if value is not None and not isinstance(value, Mapping):
            return 0
        if is_abstract_type(parent):
            possible = self.schema.get_possible_types(parent)
            return max((self._selection(selection_set, p, value) for p in possible), default=0)
        assert isinstance(parent, GraphQLObjectType)
        total = 0
        for field in self._collect(selection_set, parent, frozenset()):
            if value is None:
                total += self._field(field, parent, None, None)
            elif (child := value.get(_key(field))) is not None:
                total += self._field(field, parent, child, None)
        return total

    def _field(
        self, node: FieldNode, parent: GraphQLObjectType, value: Any, page: int | None, *, root: bool = False
    ) -> int:
        definition = parent.fields.get(node.name.value)
        if definition is None or node.selection_set is None:
            return 0  # scalars, enums, __typename and introspection
        named = get_named_type(definition.type)
        arguments = get_argument_values(definition, node, self.variables) if definition.args else {}
        own_page = self._page(definition, arguments)
        size = self._size(parent, node, definition, arguments, own_page, page)
        cost = MUTATION_WEIGHT if root and self.node.operation is OperationType.MUTATION else weight(named)
        if value is None:
            return size * (cost + self._children(node.selection_set, named, None, own_page))
        items = value[:size] if isinstance(value, list) else [value]
        return sum(
            cost + self._children(node.selection_set, named, item, own_page)
            for item in items
            if item is not None
        )

    def _children(
        self, selection_set: SelectionSetNode, named: GraphQLNamedType, value: Any, page: int | None
    ) -> int:
        """A paged connection's page reaches its `edges`, one level down, and no further."""
        if page is None or not isinstance(named, GraphQLObjectType):
            return self._selection(selection_set, named, value)
        if value is not None and not isinstance(value, Mapping):
            return 0
        total = 0
        for field in self._collect(selection_set, named, frozenset()):
            child = None if value is None else value.get(_key(field))
            if value is None or child is not None:
                total += self._field(field, named, child, page)
        return total

    def _page(self, definition: GraphQLField, arguments: Mapping[str, Any]) -> int | None:
        first = arguments.get(PAGE_ARGUMENT) if PAGE_ARGUMENT in definition.args else None
        if not isinstance(first, int):
            return None
        return first if 0 <= first <= self.page_cap else 0

    def _size(
        self,
        parent: GraphQLObjectType,
        node: FieldNode,
        definition: GraphQLField,
        arguments: Mapping[str, Any],
        own_page: int | None,
        page: int | None,
    ) -> int:
        if not _is_list(definition.type):
            return 1
        if own_page is not None:
            return own_page
        sized_by = SIZED_BY.get((parent.name, node.name.value))
        if sized_by is not None and isinstance(arguments.get(sized_by), list):
            return min(len(arguments[sized_by]), self.page_cap)
        if page is not None and node.name.value == "edges":
            return page
        return 1

    def _collect(
        self, selection_set: SelectionSetNode, parent: GraphQLObjectType, visited: frozenset[str]
    ) -> tuple[FieldNode, ...]:
        """The fields selected on `parent`, through fragments, honouring @skip and @include."""
        if visited:
            return tuple(self._walk(selection_set, parent, visited))
        key = (id(selection_set), parent.name)
        found = self._collected.get(key)
        if found is None:
            found = self._collected[key] = tuple(self._walk(selection_set, parent, visited))
        return found

    def _walk(
        self, selection_set: SelectionSetNode, parent: GraphQLObjectType, visited: frozenset[str]
    ) -> Iterator[FieldNode]:
        for selection in selection_set.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or self._applies(condition.name.value, parent):
                    yield from self._walk(selection.selection_set, parent, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if (
                    fragment is not None
                    and name not in visited
                    and self._applies(fragment.type_condition.name.value, parent)
                ):
                    yield from self._walk(fragment.selection_set, parent, visited | {name})

    def _applies(self, type_name: str, parent: GraphQLObjectType) -> bool:
        if type_name == parent.name:
            return True
        condition = self.schema.get_type(type_name)
        return isinstance(condition, GraphQLAbstractType) and self.schema.is_sub_type(condition, parent)

    def _included(self, node: FieldNode | InlineFragmentNode | FragmentSpreadNode | Any) -> bool:
        if not node.directives:
            return True
        skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
        include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        return not (skip and skip.get("if")) and not (include and not include.get("if"))


def _key(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value


def _is_list(field_type: GraphQLOutputType) -> bool:
    inner = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
    return isinstance(inner, GraphQLList)

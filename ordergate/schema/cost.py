"""What an operation may cost, priced from its document before it runs, and what it did cost,
priced from its result after.

Every object the operation can return costs 1; scalars, enums and the envelope of a
connection (`...Connection`, `...Edge`, `PageInfo`) cost nothing. A list is priced at the
most items it can hold: `first` for a paged field and for the `edges`
of its connection, the length of the input list for a field sized by one
(`availability(skus:)`), the bound the domain sets for a list that can be long (`BOUNDED`: the
work at a short position), and one item for any other list, whose length the domain bounds (an
order's lines), not the client. So a connection costs `first * (node cost + 1)`, as Shopify's
Admin API prices one. A mutation's root field costs `MUTATION_WEIGHT`, and a root field
that costs more than it returns its own (`ROOT_WEIGHT`: `simulateRouting`); a subscription is
priced once, as a query, when it starts. A page outside 0..cap costs nothing: its resolver
refuses it (PAGE_SIZE_TOO_LARGE) before any work, and that is the error the client needs.

The actual cost walks the result with the same weights, counting the items each list did
return (never more than it was priced at), so it is never above the requested cost.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
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

from ordergate.schema.kept import KeptBy
from ordergate.usecases.short_positions import HOLDERS_SHOWN

MUTATION_WEIGHT = 10
# Root fields that cost more than what they return: a routing what-if replays up to 10 000 orders.
ROOT_WEIGHT: Mapping[tuple[str, str], int] = {("Query", "simulateRouting"): 200}
PAGE_ARGUMENT = "first"
# Lists as long as an input list: one item per SKU asked about.
SIZED_BY: Mapping[tuple[str, str], str] = {("Query", "availability"): "skus"}
# Lists the domain bounds at more than a handful, priced at their bound: the work holding units
# at a short position can be every order there.
BOUNDED: Mapping[tuple[str, str], int] = {("ShortPosition", "holders"): HOLDERS_SHOWN}
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


_KEPT: KeptBy[PricedOperation | None] = KeptBy(256)


def priced(
    schema: GraphQLSchema,
    page_cap: int,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> PricedOperation | None:
    """`QueryCost.operation`, kept for the next request of the same document and variables (a
    dashboard sends the same board again and again): its price, and what it found out about
    each selection set on the way, which the actual cost walks with. Kept by the document's
    identity (the parser cache hands back the same document for the same text) and the
    variables as JSON, when they are short (`schema/kept.py`: 256 kept)."""
    try:
        text = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        text = None
    if text is None or len(text) > 1024:
        return QueryCost(schema, page_cap).operation(document, operation_name, variables)
    also = (page_cap, operation_name, text)
    kept = _KEPT.get((document, schema), also)
    if kept is not None:
        return kept[0]
    found = QueryCost(schema, page_cap).operation(document, operation_name, variables)
    _KEPT.keep((document, schema), found, also)
    return found


class PricedOperation:
    """One operation's prices. Every selection set is priced once per type and page it is
    priced under (memoised), so a fragment spread many times is priced once and its spreads
    add up by arithmetic: pricing is linear in the document, whatever its fan-out (`steps`
    counts the selections visited)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        page_cap: int,
        node: OperationDefinitionNode,
        root: GraphQLObjectType,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: VariableValues,
    ) -> None:
        self.schema = schema
        self.page_cap = page_cap
        self.node = node
        self.root = root
        self.fragments = fragments
        self.variables = variables
        self.steps = 0
        self._prices: dict[tuple[int, str, int | None, bool], int] = {}
        self._pricing: set[tuple[int, str, int | None, bool]] = set()
        self._groups: dict[tuple[tuple[int, ...], str], dict[str, list[FieldNode]]] = {}
        self._arguments: dict[int, dict[str, Any]] = {}
        self._composites: dict[tuple[tuple[int, ...], str], list[_Composite]] = {}
        self._spendings: dict[
            tuple[int, str, int | None, bool], tuple[list[SelectionSetNode], list[_Spending]]
        ] = {}
        self._root_sets = [node.selection_set]

    def requested(self) -> int:
        """The most this operation can cost, whatever the data: every field counted as often
        as the document selects it, fragments as often as they are spread."""
        return self._price(self.node.selection_set, self.root, None, root=True)

    def actual(self, data: Mapping[str, Any] | None) -> int:
        """What the data it returned cost: each response key once, as execution merged it."""
        if not data:
            return 0
        return self._spent(self._root_sets, self.root, data, None, root=True)

    # --- the most it can cost ------------------------------------------------------------

    def _price(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType, page: int | None, *, root: bool
    ) -> int:
        """A selection set on `parent`; on a union or interface, its costliest possible type. A
        paged connection's page reaches the fields of its own selection set (`edges`) only."""
        key = (id(selection_set), parent.name, page, root)
        found = self._prices.get(key)
        if found is not None:
            return found
        if key in self._pricing:
            return 0  # a fragment cycle: validation refuses the document
        self._pricing.add(key)
        try:
            if is_abstract_type(parent):
                possible = self.schema.get_possible_types(parent)
                total = max((self._price(selection_set, p, page, root=root) for p in possible), default=0)
            else:
                assert isinstance(parent, GraphQLObjectType)
                total = self._price_selections(selection_set, parent, page, root=root)
        finally:
            self._pricing.discard(key)
        self._prices[key] = total
        return total

    def _price_selections(
        self, selection_set: SelectionSetNode, parent: GraphQLObjectType, page: int | None, *, root: bool
    ) -> int:
        total = 0
        for selection in selection_set.selections:
            self.steps += 1
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                total += self._price_field(selection, parent, page, root=root)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or self._applies(condition.name.value, parent):
                    total += self._price(selection.selection_set, parent, page, root=root)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None and self._applies(fragment.type_condition.name.value, parent):
                    total += self._price(fragment.selection_set, parent, page, root=root)
        return total

    def _price_field(
        self, node: FieldNode, parent: GraphQLObjectType, page: int | None, *, root: bool
    ) -> int:
        definition = parent.fields.get(node.name.value)
        if definition is None or node.selection_set is None:
            return 0  # scalars, enums, __typename and introspection
        named, cost, size, own_page = self._measure(node, definition, parent, page, root=root)
        return size * (cost + self._price(node.selection_set, named, own_page, root=False))

    # --- what it did cost ----------------------------------------------------------------

    def _spent(
        self,
        selection_sets: list[SelectionSetNode],
        parent: GraphQLNamedType,
        value: Any,
        page: int | None,
        *,
        root: bool = False,
    ) -> int:
        if type(value) is not dict and not isinstance(value, Mapping):
            return 0
        if is_abstract_type(parent):
            possible = self.schema.get_possible_types(parent)
            return max((self._spent(selection_sets, p, value, page) for p in possible), default=0)
        assert isinstance(parent, GraphQLObjectType)
        return self._walk(self._spending(selection_sets, parent, page, root), value)

    def _walk(self, spending: list[_Spending], value: Any) -> int:
        """`_spent` for a value of an object type whose fields' measures are `spending`."""
        if type(value) is not dict and not isinstance(value, Mapping):
            return 0
        total = 0
        for key, named, cost, size, own_page, inner, deep, below in spending:
            child = value.get(key)
            if child is None:
                continue
            is_list = isinstance(child, list)
            if is_list and len(child) > size:
                child = child[:size]
            if not deep:  # what it holds costs nothing more: its items are counted, not walked
                total += cost * (len(child) - child.count(None)) if is_list else cost
                continue
            items: Sequence[Any] = child if is_list else (child,)
            if not isinstance(named, GraphQLObjectType):  # abstract: each item as its type
                total += sum(
                    cost + self._spent(inner, named, item, own_page) for item in items if item is not None
                )
                continue
            if not below:  # the same for every item, and every time this field is met
                below.append(self._spending(inner, named, own_page, False))
            walk, measures = self._walk, below[0]
            for item in items:
                if item is not None:
                    total += cost + walk(measures, item)
        return total

    def _spending(
        self, selection_sets: list[SelectionSetNode], parent: GraphQLObjectType, page: int | None, root: bool
    ) -> list[_Spending]:
        """`_composite`'s fields with their measures, and whether what they hold can cost anything
        (an object with such fields of its own, or an abstract type): the same for every item of a
        list, so found once. Keyed by the identity of `selection_sets`, which is kept alive here."""
        key = (id(selection_sets), parent.name, page, root)
        kept = self._spendings.get(key)
        if kept is not None and kept[0] is selection_sets:
            return kept[1]
        found: list[_Spending] = []
        for response_key, node, definition, inner in self._composite(selection_sets, parent):
            named, cost, size, own_page = self._measure(node, definition, parent, page, root=root)
            deep = is_abstract_type(named) or (
                isinstance(named, GraphQLObjectType) and bool(self._composite(inner, named))
            )
            found.append((response_key, named, cost, size, own_page, inner, deep, []))
        self._spendings[key] = (selection_sets, found)
        return found

    def _composite(
        self, selection_sets: list[SelectionSetNode], parent: GraphQLObjectType
    ) -> list[_Composite]:
        """The fields of `_group` that have a selection set of their own (the only ones that
        cost anything): the same for every item of a list, so found once."""
        key = (tuple(id(s) for s in selection_sets), parent.name)
        found = self._composites.get(key)
        if found is None:
            found = self._composites[key] = []
            for response_key, nodes in self._group(selection_sets, parent).items():
                node = nodes[0]
                definition = parent.fields.get(node.name.value)
                if definition is None or node.selection_set is None:
                    continue
                inner = [n.selection_set for n in nodes if n.selection_set is not None]
                found.append((response_key, node, definition, inner))
        return found

    def _group(
        self, selection_sets: list[SelectionSetNode], parent: GraphQLObjectType
    ) -> dict[str, list[FieldNode]]:
        """The fields selected on `parent` by response key, as execution collects them: each
        fragment once per collection, @skip and @include honoured. The same for every item of
        a list, so collected once."""
        key = (tuple(id(s) for s in selection_sets), parent.name)
        found = self._groups.get(key)
        if found is None:
            found = self._groups[key] = {}
            visited: set[str] = set()
            for selection_set in selection_sets:
                self._collect(selection_set, parent, found, visited)
        return found

    def _collect(
        self,
        selection_set: SelectionSetNode,
        parent: GraphQLObjectType,
        into: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        for selection in selection_set.selections:
            self.steps += 1
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                into.setdefault(_key(selection), []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or self._applies(condition.name.value, parent):
                    self._collect(selection.selection_set, parent, into, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if name in visited or fragment is None:
                    continue
                visited.add(name)
                if self._applies(fragment.type_condition.name.value, parent):
                    self._collect(fragment.selection_set, parent, into, visited)

    # --- shared --------------------------------------------------------------------------

    def _measure(
        self,
        node: FieldNode,
        definition: GraphQLField,
        parent: GraphQLObjectType,
        page: int | None,
        *,
        root: bool,
    ) -> tuple[GraphQLNamedType, int, int, int | None]:
        """A field's type, its own weight, how many items it is priced at, and its page."""
        named = get_named_type(definition.type)
        arguments = self._arguments.get(id(node))
        if arguments is None:
            arguments = get_argument_values(definition, node, self.variables) if definition.args else {}
            self._arguments[id(node)] = arguments
        own_page = self._page(definition, arguments)
        size = self._size(parent, node, definition, arguments, own_page, page)
        cost = weight(named)
        if root:
            fixed = MUTATION_WEIGHT if self.node.operation is OperationType.MUTATION else cost
            cost = ROOT_WEIGHT.get((parent.name, node.name.value), fixed)
        return named, cost, size, own_page

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
        return BOUNDED.get((parent.name, node.name.value), 1)

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


# (response key, its first field node, the field's definition, every selection set under the key)
_Composite = tuple[str, FieldNode, GraphQLField, list[SelectionSetNode]]
# a composite field's response key, type, weight, size, page, inner selection sets, and whether
# its values can cost anything themselves; then, once found, the measures of an object type's
# own fields (a one-item list, empty until then)
_Spending = tuple[str, GraphQLNamedType, int, int, int | None, list[SelectionSetNode], bool, list[list[Any]]]


def _key(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value


def _is_list(field_type: GraphQLOutputType) -> bool:
    inner = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
    return isinstance(inner, GraphQLList)

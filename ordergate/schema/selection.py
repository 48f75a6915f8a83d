"""What a field's selection asks for, as a tree of field names: `{"edges": {"node": {"lines":
{}}}}`. Fragments (spread or inline, whatever their type condition) are merged in, @skip and
@include honoured, aliases ignored; each fragment is walked once however often it is spread,
so the work stays linear in the document. A resolver reads it to fetch up front what its
subfields will show (`Query.orders`)."""

from __future__ import annotations

from typing import Any, TypeAlias

from graphql import (
    BooleanValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
    VariableNode,
)

from ordergate.schema.context import Info
from ordergate.schema.kept import KeptBy

Tree: TypeAlias = dict[str, "Tree"]


def selection_tree(info: Info) -> Tree:
    """The tree of the field's selection; not to be changed (one walked without @skip or
    @include is kept, by its nodes, for the next request of the same document)."""
    raw = info._raw_info
    nodes = tuple(raw.field_nodes)
    kept = _KEPT.get(nodes)
    if kept is not None:
        return kept[0]
    walker = _Walker(raw.fragments, raw.variable_values)
    tree: Tree = {}
    for node in nodes:
        _merge(tree, walker.walk(node.selection_set))
    if not walker.conditional:  # the same whatever the variables: kept with its nodes
        _KEPT.keep(nodes, tree)
    return tree


_KEPT: KeptBy[Tree] = KeptBy(256)


def subtree(tree: Tree, *path: str) -> Tree:
    """The selection under `path` (empty when it was not asked for)."""
    for name in path:
        tree = tree.get(name, {})
    return tree


def _merge(into: Tree, other: Tree) -> None:
    for name, below in other.items():
        _merge(into.setdefault(name, {}), below)


class _Walker:
    def __init__(self, fragments: dict[str, FragmentDefinitionNode], variables: Any) -> None:
        self.fragments = fragments
        # graphql-core's VariableValues, or Strawberry's plain dict of the coerced values
        self.variables: dict[str, Any] = getattr(variables, "coerced", variables) or {}
        self.walked: dict[str, Tree] = {}
        self.conditional = False  # met @skip or @include: the tree depends on the variables

    def walk(self, selection_set: SelectionSetNode | None) -> Tree:
        tree: Tree = {}
        for node in selection_set.selections if selection_set is not None else ():
            if not self._included(node):
                continue
            if isinstance(node, FieldNode):
                _merge(tree.setdefault(node.name.value, {}), self.walk(node.selection_set))
            elif isinstance(node, InlineFragmentNode):
                _merge(tree, self.walk(node.selection_set))
            elif isinstance(node, FragmentSpreadNode):
                _merge(tree, self._fragment(node.name.value))
        return tree

    def _fragment(self, name: str) -> Tree:
        if name not in self.walked:
            self.walked[name] = {}  # validation refuses cycles; this would end one anyway
            fragment = self.fragments.get(name)
            self.walked[name] = self.walk(fragment.selection_set) if fragment is not None else {}
        return self.walked[name]

    def _included(self, node: Any) -> bool:
        if not node.directives:
            return True
        self.conditional = True
        return self._flag(node, "skip") is not True and self._flag(node, "include") is not False

    def _flag(self, node: Any, directive_name: str) -> bool | None:
        """The `if` of the node's @skip or @include (validation made it a Boolean!), or None."""
        for directive in node.directives:
            if directive.name.value != directive_name:
                continue
            for argument in directive.arguments:
                if argument.name.value == "if":
                    value = argument.value
                    if isinstance(value, VariableNode):
                        return bool(self.variables.get(value.name.value))
                    return isinstance(value, BooleanValueNode) and value.value
        return None

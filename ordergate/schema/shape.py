"""What a document expands to, measured by arithmetic: each fragment once, however often it is
spread.

A fragment spread twice in a fragment that is itself spread twice is four copies of its
fields; twenty such levels are a million copies in a 1 KB document. Walking every copy is the
attack, so nothing here walks a copy: each fragment's `Shape` is computed once (memoised by
name) and a spread adds its numbers, so the work is one visit per selection in the document.

- `depth`: the nesting level of the deepest field, root fields being level 0, introspection
  (`__schema`, `__type`) not counted; as Strawberry's depth limiter counts it.
- `aliases`: aliased fields, each counted as often as its fragment is spread.
- `selections`: field selections after every fragment is expanded, introspection included,
  so a fan-out inside `__schema` is caught too.

`steps` counts the selections visited: a test holds it linear in the document's size.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

INTROSPECTION_PREFIX = "__"


@dataclass(frozen=True)
class Shape:
    depth: int = -1  # no field at all
    aliases: int = 0
    selections: int = 0

    def beside(self, other: Shape) -> Shape:
        """Two parts of one selection set."""
        return Shape(
            max(self.depth, other.depth),
            self.aliases + other.aliases,
            self.selections + other.selections,
        )


EMPTY = Shape()


class Measure:
    """The shapes of a document's operations, each fragment measured once."""

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        self.steps = 0
        self._shapes: dict[str, Shape] = {}
        self._open: set[str] = set()

    def operation(self, operation: OperationDefinitionNode) -> Shape:
        return self._selection_set(operation.selection_set)

    def all(self) -> Iterable[tuple[OperationDefinitionNode, Shape]]:
        for operation in self.operations:
            yield operation, self.operation(operation)

    def fragment(self, name: str) -> Shape:
        """A fragment's shape; an unknown one, or one spread inside itself (a cycle, which
        validation reports), adds nothing."""
        found = self._shapes.get(name)
        if found is not None:
            return found
        definition = self.fragments.get(name)
        if definition is None or name in self._open:
            return EMPTY
        self._open.add(name)
        try:
            shape = self._selection_set(definition.selection_set)
        finally:
            self._open.discard(name)
        self._shapes[name] = shape
        return shape

    def _selection_set(self, selection_set: SelectionSetNode) -> Shape:
        shape = EMPTY
        for selection in selection_set.selections:
            self.steps += 1
            if isinstance(selection, FieldNode):
                shape = shape.beside(self._field(selection))
            elif isinstance(selection, InlineFragmentNode):
                shape = shape.beside(self._selection_set(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                shape = shape.beside(self.fragment(selection.name.value))
        return shape

    def _field(self, field: FieldNode) -> Shape:
        alias = 1 if field.alias else 0
        if field.selection_set is None:
            return Shape(0, alias, 1)
        inner = self._selection_set(field.selection_set)
        introspection = field.name.value.startswith(INTROSPECTION_PREFIX)
        depth = 0 if introspection else 1 + max(inner.depth, 0)
        return Shape(depth, alias + inner.aliases, 1 + inner.selections)

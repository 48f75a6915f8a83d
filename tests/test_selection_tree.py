"""What a field's selection asks for: fragments merged, @skip/@include honoured, and a tree
that cannot depend on the variables kept for the next request of the same document."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from graphql import FieldNode, FragmentDefinitionNode, OperationDefinitionNode, parse

from ordergate.schema import selection

BOARD = """
query Board($lines: Boolean!) {
  orders { edges { node { id ...Work lines @include(if: $lines) { sku } } } }
}
fragment Work on Order { fulfillmentOrders { location { code } } }
"""
PLAIN = """
query Plain { orders { edges { node { id customer { email } ... on Order { shipments { carrier } } } } } }
"""


def info(document: Any, variables: dict[str, Any]) -> Any:
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    field = operation.selection_set.selections[0]
    assert isinstance(field, FieldNode)
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    raw = SimpleNamespace(field_nodes=[field], fragments=fragments, variable_values=variables)
    return SimpleNamespace(_raw_info=raw)


def test_a_tree_that_depends_on_the_variables_is_walked_each_time() -> None:
    document = parse(BOARD)
    with_lines = selection.selection_tree(info(document, {"lines": True}))
    without = selection.selection_tree(info(document, {"lines": False}))
    assert with_lines["edges"]["node"] == {
        "id": {},
        "fulfillmentOrders": {"location": {"code": {}}},
        "lines": {"sku": {}},
    }
    assert "lines" not in without["edges"]["node"]
    assert selection.selection_tree(info(document, {"lines": True})) == with_lines


def test_a_tree_without_conditions_is_kept_for_its_document() -> None:
    document = parse(PLAIN)
    first = selection.selection_tree(info(document, {}))
    assert first["edges"]["node"] == {"id": {}, "customer": {"email": {}}, "shipments": {"carrier": {}}}
    assert selection.selection_tree(info(document, {})) is first
    again = parse(PLAIN)  # another document of the same text: its own nodes, walked
    assert selection.selection_tree(info(again, {})) == first
    assert selection.selection_tree(info(again, {})) is not first

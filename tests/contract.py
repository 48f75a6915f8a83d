"""The client contract in ../shared/contract: each operation as the client sends it."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, parse, print_ast

CONTRACT = Path(__file__).resolve().parents[1].parent / "shared" / "contract"


@cache
def operations() -> dict[str, tuple[str, str]]:
    """Operation name -> (file name, the operation's document)."""
    found: dict[str, tuple[str, str]] = {}
    for path in sorted(CONTRACT.glob("*.graphql")):
        for definition in parse(path.read_text()).definitions:
            if isinstance(definition, OperationDefinitionNode) and definition.name is not None:
                found[definition.name.value] = (path.name, print_ast(definition))
    return found


def operation(name: str) -> str:
    if not CONTRACT.is_dir():
        pytest.skip(f"the client contract is not at {CONTRACT}", allow_module_level=True)
    return operations()[name][1]

"""The committed SDL is the schema, and the contract's operations validate against it."""

from __future__ import annotations

import pytest
from graphql import GraphQLSchema, build_ast_schema, parse, validate

from ordergate.schema.build import SDL_PATH, print_sdl
from tests.contract import CONTRACT, operations

# Contract operations whose root fields belong to later issues, each with its reason.
# This list only shrinks: an entry that starts to validate fails the test until removed.
PENDING: dict[str, str] = {}


def test_the_committed_sdl_matches_the_schema() -> None:
    assert SDL_PATH.read_text() == print_sdl(), "run `make schema` and commit ordergate/schema/schema.graphql"


def _committed_schema() -> GraphQLSchema:
    return build_ast_schema(parse(SDL_PATH.read_text()), assume_valid_sdl=True)


def _contract_names() -> list[str]:
    if not CONTRACT.is_dir():
        return []
    return sorted(operations())


@pytest.mark.skipif(not CONTRACT.is_dir(), reason="../shared/contract is not present")
@pytest.mark.parametrize("name", _contract_names())
def test_every_contract_operation_validates_unless_pending(name: str) -> None:
    errors = validate(_committed_schema(), parse(operations()[name][1]))

    if name in PENDING:
        assert errors, f"{name} validates now: remove it from PENDING"
    else:
        assert errors == [], f"{name}: {errors[0].message if errors else ''}"


def test_the_pending_list_names_only_contract_operations() -> None:
    if not CONTRACT.is_dir():
        pytest.skip("../shared/contract is not present")
    assert set(PENDING) <= set(operations())
    assert all(reason.strip() for reason in PENDING.values())

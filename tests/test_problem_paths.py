"""Domain problems name the command's own fields, in the domain's spelling; the GraphQL layer
alone knows that a client sent them under `input` and spells them in camelCase
(`schema.types.common.input_path`)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from ordergate.schema.types.common import input_path

ROOT = Path(__file__).resolve().parents[1] / "ordergate"
DOMAIN = (ROOT / "models", ROOT / "usecases")
CAMEL = re.compile(r"^[a-z]+(?:[A-Z][a-z0-9]*)+$")


def client_spellings(source: str, name: str = "<source>") -> list[str]:
    """String segments of tuple literals (the shape of a problem's path) that are spelled as a
    GraphQL client writes them: `input`, or camelCase."""
    found = []
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.Tuple):
            for element in node.elts:
                text = element.value if isinstance(element, ast.Constant) else None
                if isinstance(text, str) and (text == "input" or CAMEL.match(text)):
                    found.append(f"{name}:{element.lineno} {text!r}")
    return found


def test_the_domain_names_fields_in_its_own_spelling() -> None:
    found = [
        hit
        for folder in DOMAIN
        for path in sorted(folder.rglob("*.py"))
        for hit in client_spellings(path.read_text(), str(path.relative_to(ROOT.parent)))
    ]
    assert found == []


def test_the_check_sees_graphql_spellings_in_paths() -> None:
    source = (
        'Problem("X", "m", ("input", "lines", str(i), "lineId"))\nFIELD = ("orderId",)\nOK = ("order_id",)\n'
    )
    assert sorted(hit.split(" ", 1)[1] for hit in client_spellings(source)) == [
        "'input'",
        "'lineId'",
        "'orderId'",
    ]


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@pytest.mark.parametrize(
    ("path", "arguments", "expected"),
    [
        (("lines", "2", "sku"), {"input"}, ["input", "lines", "2", "sku"]),
        (("shipping_address", "postal_code"), {"input"}, ["input", "shippingAddress", "postalCode"]),
        ((), {"input"}, ["input"]),
        (("order_id",), {"order_id", "dry_run"}, ["orderId"]),
        (("reason",), {"id", "reason"}, ["reason"]),
        (("after",), {"first", "after"}, ["after"]),
        (("quantity",), set(), ["quantity"]),
        (None, {"input"}, None),
    ],
    ids=[
        "indexed",
        "nested",
        "the-input-itself",
        "top-level",
        "argument",
        "query",
        "no-arguments",
        "no-field",
    ],
)
def test_a_domain_path_becomes_the_clients(
    path: tuple[str, ...] | None, arguments: set[str], expected: list[str] | None
) -> None:
    assert input_path(path, camel, arguments.__contains__) == expected


def test_the_schema_s_own_spelling_is_used() -> None:
    def renamed(name: str) -> str:
        return {"postal_code": "zip"}.get(name, camel(name))

    assert input_path(("shipping_address", "postal_code"), renamed, {"input"}.__contains__) == [
        "input",
        "shippingAddress",
        "zip",
    ]

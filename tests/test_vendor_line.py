"""Vendor knowledge stays below the connector line: the use cases and the workers speak the
domain, and each vendor's ids, words, headers and names live in its connector (or in
bootstrap, which picks the vendors).

Checked over the syntax tree: every identifier and every string literal except docstrings
(which may say, in prose, what a vendor does). A vendor's name that must reach the domain (a
source label, an order's source reference) comes from the connector's `name`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "ordergate"
DOMAIN_SPEAKERS = (ROOT / "usecases", ROOT / "workers")
VENDOR = re.compile(
    r"bigcommerce|katana|shipengine|stripe|\bups\b|x-auth-token|x-sha2|status_id", re.IGNORECASE
)


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _words(tree: ast.AST) -> Iterator[tuple[int, str]]:
    docstrings = _docstrings(tree)
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield line, node.value
        elif isinstance(node, ast.Name):
            yield line, node.id
        elif isinstance(node, ast.Attribute):
            yield line, node.attr
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield line, node.name
        elif isinstance(node, ast.arg):
            yield line, node.arg
        elif isinstance(node, ast.keyword):
            yield line, node.arg or ""
        elif isinstance(node, ast.alias):
            yield line, node.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield line, node.module


def vendor_words(source: str, name: str = "<source>") -> list[str]:
    tree = ast.parse(source, name)
    return [f"{name}:{line} {word!r}" for line, word in _words(tree) if VENDOR.search(word)]


def test_use_cases_and_workers_name_no_vendor() -> None:
    found = [
        hit
        for folder in DOMAIN_SPEAKERS
        for path in sorted(folder.rglob("*.py"))
        for hit in vendor_words(path.read_text(), str(path.relative_to(ROOT.parent)))
    ]
    assert found == []


def test_the_check_sees_vendor_names_in_literals_and_identifiers_but_not_in_docstrings() -> None:
    source = '''
"""Orders from BigCommerce, in prose."""
SOURCE = "bigcommerce"
def katana_push(stripe_key): ...
retry = headers.get("X-Katana-Retry-Num")
payload = {"status_id": 5}
from ordergate.connectors.carriers.ups import UpsCarrier
'''
    words = sorted(hit.split(" ", 1)[1] for hit in vendor_words(source))

    assert words == sorted(
        [
            "'bigcommerce'",
            "'katana_push'",
            "'stripe_key'",
            "'X-Katana-Retry-Num'",
            "'status_id'",
            "'ordergate.connectors.carriers.ups'",
        ]
    )

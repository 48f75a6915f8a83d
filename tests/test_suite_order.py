"""The suite's own scheduling (tests/conftest.py): the heaviest files first, each file whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import HEAVIEST_FIRST, TESTS, heaviest_first


def test_every_file_named_heaviest_first_is_a_test_file() -> None:
    missing = [name for name in HEAVIEST_FIRST if not (TESTS / name).is_file()]

    assert missing == [], "rename or drop these in HEAVIEST_FIRST"
    assert len(set(HEAVIEST_FIRST)) == len(HEAVIEST_FIRST)


class Item:
    """Just what `heaviest_first` reads of a pytest item."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name

    def __repr__(self) -> str:
        return f"{self.path.relative_to(TESTS)}::{self.name}"


def test_named_files_come_first_in_their_order_then_the_fullest_and_each_file_stays_whole() -> None:
    light, full, heavy, heavier = (
        TESTS / "test_light.py",
        TESTS / "models" / "test_full.py",
        TESTS / HEAVIEST_FIRST[1],
        TESTS / HEAVIEST_FIRST[0],
    )
    items = [
        Item(light, "a"),
        Item(full, "a"),
        Item(heavy, "a"),
        Item(full, "b"),
        Item(heavier, "a"),
        Item(heavy, "b"),
        Item(full, "c"),
    ]

    ordered: list[pytest.Item] = heaviest_first(items)  # type: ignore[arg-type]

    assert [repr(item) for item in ordered] == [
        repr(Item(heavier, "a")),
        repr(Item(heavy, "a")),
        repr(Item(heavy, "b")),
        repr(Item(full, "a")),
        repr(Item(full, "b")),
        repr(Item(full, "c")),
        repr(Item(light, "a")),
    ]

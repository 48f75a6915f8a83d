"""Values kept by the identity of the objects they came from (`schema/kept.py`)."""

from __future__ import annotations

from graphql import parse

from ordergate.schema.kept import KeptBy


def test_a_value_is_served_to_the_very_same_objects_only() -> None:
    kept: KeptBy[str | None] = KeptBy(2)
    first, again = parse("{ a }"), parse("{ a }")  # equal documents, not the same one
    kept.keep((first,), "for first", also="rules")
    assert kept.get((first,), "rules") == ("for first",)
    assert kept.get((again,), "rules") is None
    assert kept.get((first,), "other rules") is None
    kept.keep((again,), None)  # a value of None is kept, and told apart from nothing kept
    assert kept.get((again,)) == (None,)


def test_the_least_recently_used_are_dropped_down_to_the_bound() -> None:
    kept: KeptBy[int] = KeptBy(2)
    documents = [parse("{ a }") for _ in range(3)]
    kept.keep((documents[0],), 0)
    kept.keep((documents[1],), 1)
    assert kept.get((documents[0],)) == (0,)  # used again: kept
    kept.keep((documents[2],), 2)
    assert (kept.get((documents[1],)), len(kept)) == (None, 2)
    kept.most = 1
    kept.keep((documents[1],), 1)
    assert len(kept) == 1
    assert kept.get((documents[1],)) == (1,)

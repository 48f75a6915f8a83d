"""Spells of short stock, decided over plain records: what a look at the short positions opens,
closes and deepens."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from ordergate.models.short_spells import ShortSpell, SpellChanges, spells_changed

T0 = datetime(2026, 12, 7, 9, tzinfo=UTC)
MUG, PLATE = ("MUG-BLUE", "dfw"), ("PLATE-DINNER", "chi")


def spell(key: tuple[str, str], missing: int, spell_id: str = "s1") -> ShortSpell:
    return ShortSpell(spell_id, key[0], key[1], T0, None, missing)


def test_a_position_short_without_a_spell_opens_one_with_the_units_missing() -> None:
    assert spells_changed({}, {MUG: 3}) == SpellChanges(opened={MUG: 3}, closed=[], deeper={})


def test_a_spell_whose_position_is_covered_closes() -> None:
    open_ = spell(MUG, 3)

    assert spells_changed({MUG: open_}, {}) == SpellChanges(opened={}, closed=[open_], deeper={})


def test_a_spell_still_short_stays_open_and_is_deepened_only_when_more_are_missing() -> None:
    open_ = spell(MUG, 3)

    assert not spells_changed({MUG: open_}, {MUG: 3})
    assert not spells_changed({MUG: open_}, {MUG: 1})  # fewer missing: the spell keeps its worst
    assert spells_changed({MUG: open_}, {MUG: 5}) == SpellChanges(opened={}, closed=[], deeper={"s1": 5})


def test_positions_are_told_apart() -> None:
    mugs = spell(MUG, 2)

    assert spells_changed({MUG: mugs}, {PLATE: 1}) == SpellChanges(
        opened={PLATE: 1}, closed=[mugs], deeper={}
    )


KEYS = st.tuples(st.sampled_from(["A", "B", "C"]), st.sampled_from(["n1", "n2"]))


@given(
    st.dictionaries(KEYS, st.integers(1, 9)),
    st.dictionaries(KEYS, st.integers(1, 9)),
)
def test_after_the_changes_exactly_the_short_positions_have_an_open_spell(
    recorded: dict[tuple[str, str], int], short: dict[tuple[str, str], int]
) -> None:
    open_spells = {key: spell(key, missing, f"{key}") for key, missing in recorded.items()}

    changes = spells_changed(open_spells, short)

    closed = {s.key for s in changes.closed}
    after = (set(open_spells) - closed) | set(changes.opened)
    assert after == set(short)
    assert set(changes.opened).isdisjoint(open_spells)
    worst = {key: max(recorded.get(key, 0), missing) for key, missing in short.items()}
    for key in set(short) & set(open_spells):
        assert changes.deeper.get(open_spells[key].id, open_spells[key].most_missing) == worst[key]

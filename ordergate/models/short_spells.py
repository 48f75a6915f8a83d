"""Spells of short stock: from when the gateway first finds a position with fewer units on hand
than its orders hold there (the ERP's count found units gone, and the shortfall pass could not move
all the work off it) to when it finds the position covered again (a recount, work moved, shipped or
cancelled). What a node's associates are told as it happens, and what operations measure: how often
positions go short, and how long they stay so. Pure: given the spells open and the positions short
now, what changes in the record (`usecases.short_spells` reads one, writes the other).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

Key = tuple[str, str]  # (sku, location_id)

NOT_NOTED = datetime(9999, 1, 1, tzinfo=UTC)
"""Where a short position's spell is ordered while no pass has noted it yet: after every spell."""


class ShortOrder(StrEnum):
    """How short positions are listed: by SKU and node, or the longest short first (the spell that
    started first; positions no pass has noted yet last), each tie by SKU and node."""

    SKU = "SKU"
    LONGEST_SHORT = "LONGEST_SHORT"


@dataclass(frozen=True)
class ShortSpell:
    """One position's spell of short stock: open (`ended_at` None) while it lasts; at most one
    open per position."""

    id: str
    sku: str
    location_id: str
    started_at: datetime
    ended_at: datetime | None
    most_missing: int  # the most units missing the gateway saw during the spell

    @property
    def key(self) -> Key:
        return (self.sku, self.location_id)


@dataclass(frozen=True)
class SpellChanges:
    """What a look at the short positions changes in the record of spells."""

    opened: dict[Key, int]  # positions short now with no spell open: units missing at each
    closed: list[ShortSpell]  # spells whose position is covered now
    deeper: dict[str, int]  # spells whose position misses more units than any look before saw

    def __bool__(self) -> bool:
        return bool(self.opened or self.closed or self.deeper)


def spells_changed(open_spells: Mapping[Key, ShortSpell], short: Mapping[Key, int]) -> SpellChanges:
    """Given the spells open and the units missing at each position short now (both over the
    same SKUs): a spell opens where a position is short without one, closes where its position is
    no longer short, and is deepened where more units are missing than it has recorded."""
    return SpellChanges(
        opened={key: missing for key, missing in sorted(short.items()) if key not in open_spells},
        closed=[spell for key, spell in sorted(open_spells.items()) if key not in short],
        deeper={
            spell.id: short[key]
            for key, spell in sorted(open_spells.items())
            if key in short and short[key] > spell.most_missing
        },
    )

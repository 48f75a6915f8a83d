"""The record of spells of short stock (`models.short_spells`)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.models.short_spells import Key, ShortSpell
from ordergate.store import tables
from ordergate.store.engine import insert_for

_SPELL = tables.short_spells.c
_OPEN = _SPELL.ended_at.is_(None)
_COLUMNS = (
    _SPELL.id,
    _SPELL.sku,
    _SPELL.location_id,
    _SPELL.started_at,
    _SPELL.ended_at,
    _SPELL.most_missing,
)


def _spell(row: Any) -> ShortSpell:
    spell_id, sku, location_id, started_at, ended_at, most_missing = row
    return ShortSpell(str(spell_id), str(sku), str(location_id), started_at, ended_at, int(most_missing))


class ShortSpellRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def open_spells(self, skus: Sequence[str] | None = None) -> dict[Key, ShortSpell]:
        """The spells still open (of these SKUs, or all), by position."""
        query = sa.select(*_COLUMNS).where(_OPEN)
        if skus is not None:
            if not skus:
                return {}
            query = query.where(_SPELL.sku.in_(sorted(set(skus))))
        return {spell.key: spell for spell in map(_spell, (await self.session.execute(query)).all())}

    async def start(self, opened: Mapping[Key, int], at: datetime) -> list[Key]:
        """Open a spell at each of these positions (units missing at each); returns those opened
        here: a position another replica opened one for meanwhile keeps that one."""
        if not opened:
            return []
        insert = insert_for(self.session)
        statement = (
            insert(tables.short_spells)
            .values(
                [
                    {
                        "id": str(uuid.uuid4()),
                        "sku": sku,
                        "location_id": location_id,
                        "started_at": at,
                        "ended_at": None,
                        "most_missing": missing,
                    }
                    for (sku, location_id), missing in sorted(opened.items())
                ]
            )
            .on_conflict_do_nothing(index_elements=["sku", "location_id"], index_where=_OPEN)
            .returning(_SPELL.sku, _SPELL.location_id)
        )
        return sorted(
            (str(sku), str(location_id)) for sku, location_id in await self.session.execute(statement)
        )

    async def end(self, spell_ids: Sequence[str], at: datetime) -> list[ShortSpell]:
        """Close these spells; returns those closed here (one another replica closed meanwhile is
        left as it closed it)."""
        if not spell_ids:
            return []
        statement = (
            sa.update(tables.short_spells)
            .where(_SPELL.id.in_(sorted(set(spell_ids))), _OPEN)
            .values(ended_at=at)
            .returning(*_COLUMNS)
        )
        return sorted(map(_spell, await self.session.execute(statement)), key=lambda spell: spell.key)

    async def deepen(self, deeper: Mapping[str, int]) -> None:
        """Record that more units are missing in these spells than any look before saw."""
        for spell_id, missing in sorted(deeper.items()):
            await self.session.execute(
                sa.update(tables.short_spells)
                .where(_SPELL.id == spell_id, _SPELL.most_missing < missing)
                .values(most_missing=missing)
            )

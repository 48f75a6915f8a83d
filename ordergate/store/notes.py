"""Staff notes and tags, by target."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from ordergate.models.notes import Note, Tag, TargetKind
from ordergate.store import tables
from ordergate.store.orders import group


class NoteRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_note(self, note: Note) -> None:
        self.session.add(note)
        await self.session.flush()

    async def notes_for(self, kind: TargetKind, ids: Sequence[str]) -> dict[str, list[Note]]:
        """Each target's notes, oldest first."""
        if not ids:
            return {}
        query = (
            select(Note)
            .where(tables.notes.c.target_kind == kind, tables.notes.c.target_id.in_(set(ids)))
            .order_by(tables.notes.c.created_at, tables.notes.c.id)
        )
        return group(list((await self.session.execute(query)).scalars()), lambda n: n.target_id)

    async def tags_for(self, kind: TargetKind, ids: Sequence[str]) -> dict[str, list[Tag]]:
        """Each target's tags, in the order they were added."""
        if not ids:
            return {}
        query = (
            select(Tag)
            .where(tables.tags.c.target_kind == kind, tables.tags.c.target_id.in_(set(ids)))
            .order_by(tables.tags.c.added_at, tables.tags.c.tag)
        )
        return group(list((await self.session.execute(query)).scalars()), lambda t: t.target_id)

    async def add_tags(self, tags: Sequence[Tag]) -> None:
        """Adds those the target does not have yet (a tag is on a target once)."""
        if not tags:
            return
        first = tags[0]
        have = {
            t.tag
            for t in (await self.tags_for(first.target_kind, [first.target_id])).get(first.target_id, [])
        }
        self.session.add_all([tag for tag in tags if tag.tag not in have])
        await self.session.flush()

    async def remove_tags(self, kind: TargetKind, target_id: str, tags: Sequence[str]) -> int:
        result = await self.session.execute(
            sa.delete(tables.tags).where(
                tables.tags.c.target_kind == kind,
                tables.tags.c.target_id == target_id,
                tables.tags.c.tag.in_(set(tags)),
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)

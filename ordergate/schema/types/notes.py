"""Staff notes and tags, as fields of what they annotate (empty for anyone else)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from ordergate.models.notes import Note as NoteRecord
from ordergate.models.notes import TargetKind
from ordergate.schema.context import Info, principal
from ordergate.usecases.notes import may_annotate
from ordergate.usecases.reads import target_key


@strawberry.type(description="A staff note: who wrote what, when. Customers never see notes.")
class Note:
    id: strawberry.ID
    body: str
    author: str
    created_at: datetime

    @classmethod
    def from_model(cls, record: NoteRecord) -> Note:
        return cls(
            id=strawberry.ID(record.id), body=record.body, author=record.author, created_at=record.created_at
        )


async def notes_of(info: Info, kind: TargetKind, target_id: str) -> list[Note]:
    if not may_annotate(principal(info)):
        return []
    rows = await info.context.loaders.notes_by_target.load(target_key(kind, target_id))
    return [Note.from_model(r) for r in rows]


async def tags_of(info: Info, kind: TargetKind, target_id: str) -> list[str]:
    if not may_annotate(principal(info)):
        return []
    return [t.tag for t in await info.context.loaders.tags_by_target.load(target_key(kind, target_id))]

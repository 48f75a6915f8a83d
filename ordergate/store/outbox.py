"""The outbox: tasks added with the change that promised them, claimed by one relay at a time."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from ordergate.models.outbox import OutboxTask
from ordergate.store import tables
from ordergate.store.engine import insert_for


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.queued: set[str] = set()  # kinds this transaction made due: their lanes wake at commit

    def add(self, task: OutboxTask) -> None:
        self.session.add(task)
        self.queued.add(task.kind)

    def requeue(self, task: OutboxTask, now: datetime) -> None:
        """Make a done or failing task due again, from scratch (a replay)."""
        task.done_at, task.result, task.last_error = None, None, None
        task.attempts, task.available_at = 0, now
        task.leases = max(task.leases, 1)  # done before: a replay is never a first try
        self.session.add(task)
        self.queued.add(task.kind)

    async def due(self, now: datetime, limit: int, kinds: Sequence[str]) -> list[OutboxTask]:
        """Tasks of these kinds whose time has come, oldest first, row-locked; on PostgreSQL
        another replica's relay skips the rows this one holds instead of waiting for them."""
        rows = await self.session.execute(_due(), {"now": now, "kinds": list(kinds), "most": limit})
        return list(rows.scalars())

    async def due_kinds(self, now: datetime, kinds: Sequence[str]) -> set[str]:
        """Of these kinds, those with a task whose time has come (a read: no row is locked)."""
        rows = await self.session.execute(_due_kinds(), {"now": now, "kinds": list(kinds)})
        return set(rows.scalars())

    async def backlog(self, now: datetime) -> dict[str, tuple[int, datetime | None, int]]:
        """Per kind: tasks not done, when the oldest of those already due was created, and how
        many of them failed their last attempt (retried with backoff)."""
        due = sa.case((tables.outbox.c.available_at <= now, tables.outbox.c.created_at))
        query = (
            select(
                tables.outbox.c.kind,
                sa.func.count(),
                sa.func.min(due),
                sa.func.count(tables.outbox.c.last_error),
            )
            .where(tables.outbox.c.done_at.is_(None))
            .group_by(tables.outbox.c.kind)
        )
        return {
            kind: (int(count), oldest, int(failing))
            for kind, count, oldest, failing in (await self.session.execute(query)).all()
        }

    async def with_key_prefixes(self, prefixes: Sequence[str], kind: str | None = None) -> list[OutboxTask]:
        if not prefixes:
            return []
        query = (
            select(OutboxTask)
            .where(sa.or_(*(tables.outbox.c.key.startswith(prefix, autoescape=True) for prefix in prefixes)))
            .order_by(tables.outbox.c.created_at, tables.outbox.c.id)
        )
        if kind is not None:
            query = query.where(tables.outbox.c.kind == kind)
        return list((await self.session.execute(query)).scalars())

    async def add_once(self, task: OutboxTask) -> bool:
        """Add the task unless one of its kind and key exists (a concurrent add included): one
        INSERT ... ON CONFLICT DO NOTHING; the task is not kept in the session."""
        values = {column.name: getattr(task, column.name) for column in tables.outbox.columns}
        result = await self.session.execute(_add_once(insert_for(self.session)), values)
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        self.queued.add(task.kind)
        return True

    async def join_pending(self, kind: str, key: str, field: str, items: Sequence[str]) -> bool:
        """Add `items` to the list `payload[field]` of the task of this kind and key, if no relay
        has taken it yet (its row locked meanwhile); False when there is no such task."""
        query = (
            select(OutboxTask)
            .where(tables.outbox.c.kind == kind, tables.outbox.c.key == key)
            .where(tables.outbox.c.done_at.is_(None), tables.outbox.c.leases == 0)
            .with_for_update()
        )
        task = (await self.session.execute(query)).scalars().first()
        if task is None:
            return False
        task.payload = {**task.payload, field: sorted(set(task.payload.get(field, [])) | set(items))}
        self.session.add(task)
        return True

    async def done(self, task_id: str, now: datetime, result: str) -> None:
        """Settle a task as done, in one statement (no read): one more attempt, `result` kept."""
        await self.session.execute(_DONE, {"task": task_id, "now": now, "outcome": result})

    async def by_id(self, task_id: str) -> OutboxTask | None:
        return await self.session.get(OutboxTask, task_id)

    async def by_key(self, kind: str, key: str) -> OutboxTask | None:
        query = select(OutboxTask).where(tables.outbox.c.kind == kind, tables.outbox.c.key == key)
        return (await self.session.execute(query)).scalars().first()

    async def by_kind(self, kind: str) -> list[OutboxTask]:
        query = select(OutboxTask).where(tables.outbox.c.kind == kind).order_by(tables.outbox.c.created_at)
        return list((await self.session.execute(query)).scalars())


# Built once per process (see `store.engine.by_keys`); values are given at execution.
_OUTBOX = tables.outbox.c
_DONE = (
    sa.update(tables.outbox)
    .where(_OUTBOX.id == sa.bindparam("task"))
    .values(
        attempts=_OUTBOX.attempts + 1,
        done_at=sa.bindparam("now", type_=_OUTBOX.done_at.type),
        result=sa.bindparam("outcome"),
        last_error=None,
    )
)


@functools.cache
def _due() -> Any:
    return (
        select(OutboxTask)
        .where(
            _OUTBOX.done_at.is_(None),
            _OUTBOX.available_at <= sa.bindparam("now", type_=_OUTBOX.available_at.type),
        )
        .where(_OUTBOX.kind.in_(sa.bindparam("kinds", expanding=True)))
        .order_by(_OUTBOX.available_at, _OUTBOX.id)
        .limit(sa.bindparam("most", type_=sa.Integer))
        .with_for_update(skip_locked=True)
    )


@functools.cache
def _due_kinds() -> Any:
    return (
        sa.select(_OUTBOX.kind)
        .where(
            _OUTBOX.done_at.is_(None),
            _OUTBOX.available_at <= sa.bindparam("now", type_=_OUTBOX.available_at.type),
        )
        .where(_OUTBOX.kind.in_(sa.bindparam("kinds", expanding=True)))
        .distinct()
    )


@functools.cache
def _add_once(insert: Any) -> Any:
    """INSERT ... ON CONFLICT (kind, key) DO NOTHING of one task, in the dialect `insert` speaks."""
    return insert(tables.outbox).on_conflict_do_nothing(index_elements=["kind", "key"])

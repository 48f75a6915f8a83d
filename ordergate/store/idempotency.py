"""Idempotency keys, claimed first in a transaction so concurrent repeats queue behind it."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from ordergate.models.idempotency import IdempotencyRecord
from ordergate.store import tables


class KeyTaken(Exception):
    """Another transaction holds or has committed this key."""


class IdempotencyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self, scope: str, key: str) -> IdempotencyRecord | None:
        """The key's record, read afresh and locked until the transaction ends (PostgreSQL;
        SQLite's write transactions are one at a time anyway)."""
        query = (
            select(IdempotencyRecord)
            .where(tables.idempotency_keys.c.scope == scope, tables.idempotency_keys.c.key == key)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(query)).scalars().first()

    async def claim(self, record: IdempotencyRecord) -> None:
        """Insert the key. On PostgreSQL a concurrent claimant blocks here until the first
        commits, then gets KeyTaken; the caller reads the stored record."""
        try:
            async with self.session.begin_nested():
                self.session.add(record)
        except IntegrityError as exc:
            raise KeyTaken(record.key) from exc

    async def release(self, record: IdempotencyRecord) -> None:
        await self.session.delete(record)

"""Idempotency keys, claimed first in a transaction so concurrent repeats queue behind it."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from ordergate.models.idempotency import IdempotencyRecord
from ordergate.store import tables
from ordergate.store.engine import insert_for


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
        """Insert the key, or KeyTaken when it is there (the caller then reads the stored
        record). On PostgreSQL a concurrent claimant waits here until the first commits (or
        gives up). One statement, no savepoint: the record is not kept in the session."""
        table = tables.idempotency_keys
        values = {column.name: getattr(record, column.name) for column in table.columns}
        statement = insert_for(self.session)(table).values(values).on_conflict_do_nothing()
        result = await self.session.execute(statement)
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise KeyTaken(record.key)

    async def complete(self, record: IdempotencyRecord, result_id: str) -> bool:
        """Keep `result_id` as the key's result, if the key is still this attempt's and has no
        result yet (a conditional update: it locks the row as a locking read would)."""
        table = tables.idempotency_keys
        statement = (
            update(table)
            .where(
                table.c.scope == record.scope,
                table.c.key == record.key,
                table.c.attempt == record.attempt,
                table.c.result_id.is_(None),
            )
            .values(result_id=result_id)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(statement)
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def release(self, record: IdempotencyRecord) -> None:
        await self.session.delete(record)

"""Idempotency keys, claimed first in a transaction so concurrent repeats queue behind it."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import bindparam, delete, update
from sqlalchemy import select as sa_select
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

    async def known(self, scope: str, key: str) -> bool:
        """Whether the key is claimed or kept (as committed: a claim not yet committed is not
        seen). One read of its primary key, no lock."""
        return (await self.session.execute(_KNOWN, {"of_scope": scope, "of_key": key})).first() is not None

    async def claim(self, record: IdempotencyRecord) -> None:
        """Insert the key, or KeyTaken when it is there (the caller then reads the stored
        record). On PostgreSQL a concurrent claimant waits here until the first commits (or
        gives up). One statement, no savepoint: the record is not kept in the session."""
        table = tables.idempotency_keys
        values = {column.name: getattr(record, column.name) for column in table.columns}
        result = await self.session.execute(_claim(insert_for(self.session)), values)
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise KeyTaken(record.key)

    async def complete(self, record: IdempotencyRecord, result_id: str) -> bool:
        """Keep `result_id` as the key's result, if the key is still this attempt's and has no
        result yet (a conditional update: it locks the row as a locking read would)."""
        params = {
            "of_scope": record.scope,
            "of_key": record.key,
            "of_attempt": record.attempt,
            "result": result_id,
        }
        result = await self.session.execute(_COMPLETE, params)
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def release_if_pending(self, record: IdempotencyRecord) -> None:
        """Give the key up when it is still this attempt's and has no result: one conditional
        DELETE (which waits for, and then reads again, a row another transaction holds)."""
        await self.session.execute(
            _RELEASE, {"of_scope": record.scope, "of_key": record.key, "of_attempt": record.attempt}
        )


_KEYS = tables.idempotency_keys

_KNOWN = sa_select(_KEYS.c.key).where(
    _KEYS.c.scope == bindparam("of_scope"), _KEYS.c.key == bindparam("of_key")
)

_RELEASE = delete(_KEYS).where(
    _KEYS.c.scope == bindparam("of_scope"),
    _KEYS.c.key == bindparam("of_key"),
    _KEYS.c.attempt == bindparam("of_attempt", type_=_KEYS.c.attempt.type),
    _KEYS.c.result_id.is_(None),
)

# Built once per process (see `store.engine.by_keys`); values are given at execution.
_COMPLETE = (
    update(_KEYS)
    .where(
        _KEYS.c.scope == bindparam("of_scope"),
        _KEYS.c.key == bindparam("of_key"),
        _KEYS.c.attempt == bindparam("of_attempt", type_=_KEYS.c.attempt.type),
        _KEYS.c.result_id.is_(None),
    )
    .values(result_id=bindparam("result"))
)


@functools.cache
def _claim(insert: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING of one key, in the dialect `insert` speaks."""
    return insert(_KEYS).on_conflict_do_nothing()

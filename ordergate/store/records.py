"""Records built straight from rows in read units of work, without the ORM's loading.

A read unit of work only shows what it reads: nothing it returns is changed and flushed in the
same session. There the ORM's per-row work (the identity map, loader states, load events, a
result processed through the ORM's entity machinery) is a quarter of a page of orders' CPU, so
`fetch` runs the statement on the session's connection (Core) and builds each record by filling
its attributes in place. Each record carries its identity key, as a record the ORM loaded does
once its session has closed: reading it, handing it to a write session (`session.add`, which then
sees a known row, not a new one) and lazy composites (an order's `shipping_address`, built from
its columns on first use) behave as before. Write units of work keep the ORM's loading.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

R = TypeVar("R")

READ_ONLY = "ordergate.read_only"
"""Set in the `info` of the read sessions (`Store.read`)."""


async def fetch(
    session: AsyncSession, record: type[R], statement: Any, params: Mapping[str, Any] | None = None
) -> list[R]:
    """The records `statement` (a `select(record)`) finds, in its order."""
    if not session.info.get(READ_ONLY):
        return list((await session.execute(statement, params)).scalars())
    return await session.run_sync(_read, cast(Any, record), statement, params)


async def scalar(session: AsyncSession, statement: Any) -> Any:
    """The one value `statement` selects (a count): on the connection in a read unit of work."""
    if not session.info.get(READ_ONLY):
        return (await session.execute(statement)).scalar_one()
    return await session.run_sync(_scalar, statement)


def _scalar(session: Session, statement: Any) -> Any:
    return session.connection().execute(statement).scalar_one()


def _read(session: Session, record: Any, statement: Any, params: Mapping[str, Any] | None) -> list[Any]:
    """On the session's connection, in one hop to SQLAlchemy's greenlet."""
    result = session.connection().execute(statement, params)
    return _builder(record, tuple(result.keys()))(result.all())


@functools.cache
def _builder(record: Any, columns: tuple[str, ...]) -> Callable[[Sequence[Any]], list[Any]]:
    mapper = sa.inspect(record)
    by_name = {column.name: column for column in mapper.local_table.columns}
    keys = tuple(mapper.get_property_by_column(by_name[name]).key for name in columns)
    primary = tuple(columns.index(column.name) for column in mapper.primary_key)
    identity_class = mapper._identity_class
    new_instance = mapper.class_manager.new_instance

    def build(rows: Sequence[Any]) -> list[Any]:
        built = []
        for row in rows:
            instance = new_instance()
            instance.__dict__.update(zip(keys, row, strict=True))
            instance._sa_instance_state.key = (identity_class, tuple(row[i] for i in primary), None)
            built.append(instance)
        return built

    def build_one_key(rows: Sequence[Any]) -> list[Any]:
        built = []
        for row in rows:
            instance = new_instance()
            instance.__dict__.update(zip(keys, row, strict=True))
            instance._sa_instance_state.key = (identity_class, (row[only],), None)
            built.append(instance)
        return built

    if len(primary) == 1:
        [only] = primary
        return build_one_key
    return build

    return build

"""Migrations build exactly the schema the records describe, on both backends."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from ordergate.store import migrate
from ordergate.store.columns import EnumText, UTCDateTime
from ordergate.store.tables import metadata
from ordergate.usecases.services import Services

# Every test here starts from an empty database: the migrations run for real, not from a copy.
pytestmark = pytest.mark.migrated_from_empty


def _same_type(
    _context: Any, _inspected: Any, _metadata: Any, inspected_type: Any, metadata_type: Any
) -> bool | None:
    # Our TypeDecorators store as their impl: compare those.
    if isinstance(metadata_type, (EnumText, UTCDateTime)):
        return None if type(inspected_type) is type(metadata_type.impl) else False
    return None


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": _same_type})
    return [
        d
        for d in compare_metadata(context, metadata)
        if d[0] != "remove_table" or d[1].name != "alembic_version"
    ]


async def test_migrated_schema_matches_the_records(services: Services) -> None:
    async with services.store.read_engine.connect() as connection:
        differences = await connection.run_sync(_differences)

    assert differences == []


async def test_migrating_again_is_a_no_op_at_head(services: Services) -> None:
    before = await migrate.current_revision(services.store)

    await migrate.upgrade(services.store)

    assert before == migrate.head_revision()
    assert await migrate.current_revision(services.store) == before


@pytest.mark.parametrize("table", ["orders", "order_lines", "order_events", "idempotency_keys", "counters"])
async def test_core_tables_exist(services: Services, table: str) -> None:
    async with services.store.read_engine.connect() as connection:
        names = await connection.run_sync(lambda c: c.dialect.get_table_names(c))
    assert table in names

"""Migrations build exactly the schema the records describe, on both backends."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from ordergate.store import migrate, tables
from ordergate.store.columns import EnumText, UTCDateTime
from ordergate.store.tables import metadata
from ordergate.usecases.services import Services
from tests.builders import a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import execute

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
    with _expression_indexes_unread():
        found = compare_metadata(context, metadata)
    return [d for d in found if d[0] != "remove_table" or d[1].name != "alembic_version"]


@contextmanager
def _expression_indexes_unread() -> Iterator[None]:
    """SQLite's reflection cannot read an index on an expression (lower(first_name)), and
    alembic then leaves it out of the comparison; such indexes are checked by name below."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
        yield


async def test_migrated_schema_matches_the_records(services: Services) -> None:
    async with services.store.read_engine.connect() as connection:
        differences = await connection.run_sync(_differences)

    assert differences == []


def test_the_head_read_from_the_files_is_alembic_s() -> None:
    assert migrate.shipped_head() == migrate.head_revision()
    assert migrate.shipped_head() is not None


def test_the_head_is_read_from_files_as_alembic_writes_them_merges_included(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Alembic's template writes `repr()`s (single quotes) until ruff formats them; a newer one
    annotates them; a merge revises a tuple. A fork with no merge has two heads: refused."""
    versions = tmp_path / "versions"
    versions.mkdir()
    files = {
        "0001_a.py": "revision = '1'\ndown_revision = None\n",
        "0002_b.py": 'revision: str = "2"\ndown_revision: str | None = "1"\n',
        "0003_c.py": "revision = '3'\ndown_revision = '1'\nbranch_labels = None\n",
    }
    for name, text in files.items():
        (versions / name).write_text('"""a migration"""\n' + text, encoding="utf-8")
    monkeypatch.setattr(migrate, "MIGRATIONS", tmp_path)

    with pytest.raises(RuntimeError, match="several heads \\(2, 3\\)"):
        migrate.shipped_head()
    (versions / "0004_merge.py").write_text("revision = '4'\ndown_revision = ('2', '3')\n", encoding="utf-8")
    assert migrate.shipped_head() == "4"


async def test_a_start_at_head_imports_no_alembic(
    services: Services, database: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    """What a served process, a CLI command or a test's gateway does at every start but the
    first (`services` migrated this database): it finds the database at head without Alembic
    (or Mako) in the process."""
    url, connect_args = database
    probe = (
        "import asyncio, sys\n"
        "from ordergate.store import migrate\n"
        "from ordergate.store.unit_of_work import Store\n"
        "async def main():\n"
        f"    store = Store({url!r}, connect_args={connect_args!r})\n"
        "    await migrate.upgrade(store)\n"
        "    print(await migrate.current_revision(store))\n"
        "    await store.dispose()\n"
        "asyncio.run(main())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))\n"
    )
    argv = [sys.executable, "-c", probe]
    done = await asyncio.to_thread(
        subprocess.run, argv, capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == [migrate.shipped_head(), "[]"]


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


def _index_names(connection: Connection) -> set[str]:
    with _expression_indexes_unread():
        return {str(index["name"]) for index in sa.inspect(connection).get_indexes("customers")}


async def test_the_name_search_indexes_exist(services: Services) -> None:
    """What the comparison above cannot see on SQLite: the indexes on lowercased names."""
    async with services.store.read_engine.connect() as connection:
        names = await connection.run_sync(_index_names)
        if connection.dialect.name == "sqlite":
            rows = await connection.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'customers'"
            )
            names |= {row[0] for row in rows}
    assert {"ix_customers_first_name_lower", "ix_customers_last_name_lower"} <= names


def _to(revision: str) -> Any:
    def move(connection: Connection) -> None:
        config = migrate.alembic_config(connection)
        with _expression_indexes_unread():  # the downgrade's batch on SQLite reflects the schema
            _move(config, revision)

    return move


def _move(config: Any, revision: str) -> None:
    if revision == "head":
        command.upgrade(config, "head")
    else:
        command.downgrade(config, revision)


async def test_work_opened_before_its_start_day_was_kept_starts_on_the_day_it_was_opened(
    services: Services, client: httpx.AsyncClient
) -> None:
    """0028 keeps each fulfilment order's start day; the ones already there get the (UTC) day
    they were opened, the day capacity was counted by before."""
    placed = await execute(
        client, operation("PlaceOrder"), {"input": an_order_input()}, token=a_token("agent")
    )
    assert placed["data"]["placeOrder"]["userErrors"] == []
    async with services.store.write_engine.begin() as connection:
        await connection.run_sync(_to("0027"))
        before = (
            (await connection.execute(sa.text("SELECT created_at FROM fulfillment_orders"))).scalars().all()
        )
        await connection.run_sync(_to("head"))
        after = (await connection.execute(sa.select(tables.fulfillment_orders.c.starts_on))).scalars().all()

    assert len(before) == 1
    opened = before[0] if isinstance(before[0], datetime) else datetime.fromisoformat(before[0])
    assert after == [opened.astimezone(UTC).date() if opened.tzinfo else opened.date()]

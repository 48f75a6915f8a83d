"""Alembic migrations, applied programmatically (`ordergate migrate` and on start)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from ordergate.store.unit_of_work import Store

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant will do: it only has to be the same in every replica.
MIGRATION_LOCK_KEY = 7_340_112


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Replicas starting together take turns; the later ones find nothing to do.
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    if _current(connection) == _head():
        return  # at head already (every start but the first): no need to load the migrations
    command.upgrade(alembic_config(connection), "head")


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


@cache
def _head() -> str | None:
    """The head of the migrations this process ships (they do not change while it runs)."""
    return head_revision()


async def upgrade(store: Store) -> None:
    """Bring the schema to head in one transaction (the write engine serialises it on SQLite)."""
    async with store.write_engine.begin() as connection:
        await connection.run_sync(_upgrade)


async def current_revision(store: Store) -> str | None:
    async with store.read_engine.connect() as connection:
        return await connection.run_sync(_current)

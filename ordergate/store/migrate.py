"""Alembic migrations, applied programmatically (`ordergate migrate` and on start).

A start at head (every start but the first) needs no Alembic: the database's revision is read
with one SELECT and the shipped head from the migrations' own files (`shipped_head`). Alembic
(~90 ms of imports, with Mako) is imported only to migrate, or to ask it about history.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ordergate.store.unit_of_work import Store

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps
# Any constant will do: it only has to be the same in every replica.
MIGRATION_LOCK_KEY = 7_340_112


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

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
    from alembic import command

    command.upgrade(alembic_config(connection), "head")


def _current(connection: Connection) -> str | None:
    """The database's revision: None before the first migration made the version table."""
    if not sa.inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()  # noqa: S608 - a constant
    if len(rows) > 1:
        raise RuntimeError(f"the database is at several revisions ({', '.join(sorted(rows))}): merge them")
    return rows[0] if rows else None


def head_revision() -> str | None:
    """The head as Alembic finds it (which `shipped_head` must agree with)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def shipped_head() -> str | None:
    """The revision no other migration revises, read from the files' `revision` and
    `down_revision` assignments (a merge's is a tuple; annotated or not, either quotes, as
    Alembic's template or ruff leaves them); a history that forks (two heads) is refused as
    Alembic would."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = _assigned(path)
        revision = found.get("revision")
        if not isinstance(revision, str):
            raise RuntimeError(f"{path.name} names no revision")
        revisions.add(revision)
        down = found.get("down_revision")
        revised.update((down,) if isinstance(down, str) else down or ())
    heads = revisions - revised
    if len(heads) > 1:
        raise RuntimeError(f"the migrations have several heads ({', '.join(sorted(heads))}): merge them")
    return next(iter(heads), None)


def _assigned(path: Path) -> dict[str, Any]:
    """The module-level `revision` and `down_revision` of a migration file, as literals."""
    found: dict[str, Any] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        target, value = None, None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision") and value is not None:
            found[target.id] = ast.literal_eval(value)
    return found


@cache
def _head() -> str | None:
    """The head of the migrations this process ships (they do not change while it runs)."""
    return shipped_head()


async def upgrade(store: Store) -> None:
    """Bring the schema to head in one transaction (the write engine serialises it on SQLite)."""
    async with store.write_engine.begin() as connection:
        await connection.run_sync(_upgrade)


async def current_revision(store: Store) -> str | None:
    async with store.read_engine.connect() as connection:
        return await connection.run_sync(_current)

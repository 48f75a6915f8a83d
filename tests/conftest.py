from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette

from ordergate import bootstrap
from ordergate.app import create_app
from ordergate.bootstrap import Sandboxes
from ordergate.settings import Settings
from ordergate.store.unit_of_work import Store
from ordergate.usecases.services import Services
from tests.services import POSTGRES_URL, require_postgres

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


async def _pg_execute(sql: str) -> None:
    connection = await asyncpg.connect(POSTGRES_URL.replace("postgresql+asyncpg", "postgresql"))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(params=BACKENDS)
async def database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """(url, connect_args) of an empty database: an SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'ordergate.db'}", {}
        return
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    await _pg_execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield POSTGRES_URL, {"server_settings": {"search_path": schema}}
    finally:
        await _pg_execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def settings(request: pytest.FixtureRequest, database: tuple[str, dict[str, Any]]) -> Settings:
    """Tests marked `no_relay` drive the outbox themselves, or count statements without it."""
    return Settings(
        database_url=database[0],
        outbox_relay=request.node.get_closest_marker("no_relay") is None,
        storefront_sync_seconds=0,  # tests import storefront orders when they mean to
        storefront_availability_seconds=0,
        query_budget=0,  # budgets throttle only where tests/test_limits.py turns them on
    )


@pytest.fixture
def sandboxes() -> Sandboxes:
    return Sandboxes()


@pytest.fixture
async def services(
    settings: Settings, database: tuple[str, dict[str, Any]], sandboxes: Sandboxes
) -> AsyncIterator[Services]:
    async with bootstrap.opened(
        settings, Store(database[0], connect_args=database[1]), sandboxes
    ) as services:
        yield services


@pytest.fixture
async def app(settings: Settings, services: Services, sandboxes: Sandboxes) -> AsyncIterator[Starlette]:
    app = create_app(settings, services, sandboxes)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://ordergate.test"
    ) as c:
        yield c

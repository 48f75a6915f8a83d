"""PostgreSQL's pool pings a connection only when it sat idle (not at every transaction), and a
connection the server dropped while idle is replaced, not handed to a transaction."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa

from ordergate.store import engine as engines
from tests.services import POSTGRES_URL, require_postgres


@pytest.fixture
def pings() -> list[object]:
    require_postgres()
    return []


async def test_an_idle_connection_dropped_by_the_server_is_replaced_and_a_busy_one_is_not_pinged(
    pings: list[object],
) -> None:
    engine = engines.create_engine(POSTGRES_URL)
    dialect = engine.sync_engine.dialect
    ping = dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(dbapi_connection)
        return ping(dbapi_connection)

    dialect.do_ping = counted  # type: ignore[method-assign]
    try:
        async with engine.connect() as connection:
            pid = (await connection.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
        async with engine.connect() as connection:
            assert (await connection.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one() == pid
            record = (await connection.get_raw_connection())._connection_record
        assert pings == []  # in use a moment ago: no round trip to ask

        admin = await asyncpg.connect(POSTGRES_URL.replace("postgresql+asyncpg", "postgresql"))
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        assert record is not None
        record.info["idle_since"] -= engines.IDLE_PING_SECONDS + 1  # as if idle since

        async with engine.connect() as connection:
            assert (await connection.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one() != pid
        assert len(pings) == 1
    finally:
        await engine.dispose()

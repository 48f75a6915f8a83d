"""Client CPU of one SQL statement on PostgreSQL, by the layer it is sent through, against the
driver alone, in one run.

    .venv/bin/python bench/statement_cost.py [--statements 3000] [--rounds 5]

The statement is the store's smallest: one row read by its key from a two-column table (made in
the database `test` if it is not there). Each round sends it `--statements` times through each
layer, one after another on one connection, and takes the process's CPU time (`time.process_time`)
per statement: the driver (asyncpg, a prepared statement), SQLAlchemy's Core on a connection (a
statement built once, as the store builds its hot ones), the same as driver SQL, the ORM
session (`AsyncSession.execute`, as every repository sends), and a whole short transaction
through a new session (BEGIN, the statement, COMMIT), as each unit of work is. Medians over
rounds, each with its ratio to the driver's. What it answers: how much of an order's CPU the
SQL layer can account for (placeOrder sends 27 statements in three transactions:
`bench/order_cpu.py --statements`).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

URL = "postgresql://postgres@127.0.0.1:5432/test"
TABLE = sa.table("bench_statement_cost", sa.column("name"), sa.column("value"))
BY_KEY = sa.select(TABLE.c.value).where(TABLE.c.name == sa.bindparam("name"))
SQL = "SELECT value FROM bench_statement_cost WHERE name = $1"


async def per_call(call: Callable[[], Awaitable[object]], times: int) -> float:
    """Microseconds of this process's CPU per call, after a warm-up."""
    for _ in range(min(200, times)):
        await call()
    started = time.process_time()
    for _ in range(times):
        await call()
    return (time.process_time() - started) / times * 1e6


async def one_round(times: int) -> dict[str, float]:
    engine = create_async_engine(URL.replace("postgresql://", "postgresql+asyncpg://"))
    driver = await asyncpg.connect(URL)
    try:
        prepared = await driver.prepare(SQL)
        found: dict[str, float] = {"asyncpg, prepared": await per_call(lambda: prepared.fetch("a"), times)}
        async with engine.connect() as connection:
            found["SQLAlchemy Core, AsyncConnection"] = await per_call(
                lambda: connection.execute(BY_KEY, {"name": "a"}), times
            )
            found["SQLAlchemy exec_driver_sql"] = await per_call(
                lambda: connection.exec_driver_sql(SQL, ("a",)), times
            )
        async with AsyncSession(engine) as session:
            found["SQLAlchemy ORM session"] = await per_call(
                lambda: session.execute(BY_KEY, {"name": "a"}), times
            )

        async def transaction() -> None:
            async with AsyncSession(engine) as fresh, fresh.begin():
                await fresh.execute(BY_KEY, {"name": "a"})

        found["new session: BEGIN, statement, COMMIT"] = await per_call(transaction, max(1, times // 10))
        return found
    finally:
        await driver.close()
        await engine.dispose()


async def run(statements: int, rounds: int) -> None:
    setup = await asyncpg.connect(URL)
    try:
        await setup.execute(
            "CREATE TABLE IF NOT EXISTS bench_statement_cost (name varchar PRIMARY KEY, value integer)"
        )
        await setup.execute("INSERT INTO bench_statement_cost VALUES ('a', 1) ON CONFLICT DO NOTHING")
    finally:
        await setup.close()
    results = [await one_round(statements) for _ in range(rounds)]
    for number, found in enumerate(results, 1):
        print(
            f"round {number}: " + ", ".join(f"{name} {us:.0f} us" for name, us in found.items()), flush=True
        )
    base = statistics.median(r["asyncpg, prepared"] for r in results)
    print(f"\nmedians of {rounds} rounds, {statements} statements each, CPU of this process per statement:")
    print("| layer | us | x the driver |\n|---|---:|---:|")
    for name in results[0]:
        us = statistics.median(r[name] for r in results)
        print(f"| {name} | {us:.0f} | {us / base:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--statements", type=int, default=3000, help="statements per layer per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.statements, args.rounds))


if __name__ == "__main__":
    main()

"""What the audit trail costs a write: placeOrder in-process, with an actor (audited, as every
mutation is) against the same call without one (not audited), interleaved in one run.

    .venv/bin/python bench/audit_overhead.py --rounds 5 --orders 60 [--backend postgres]

Each round places `--orders` orders of two lines each way on a fresh SQLite file (or the
PostgreSQL database `ordergate_bench_audit`, recreated), one after another, and takes the median
wall time per order; the ratio audited/unaudited is printed per round and as the median of the
rounds. CPU per order is what it measures: one process, no network, the sandbox ERP in-process.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ordergate import bootstrap  # noqa: E402
from ordergate.models.address import Address  # noqa: E402
from ordergate.models.commands import CustomerDetails, LineRequest, PlaceOrder  # noqa: E402
from ordergate.models.identity import Principal, Role  # noqa: E402
from ordergate.models.order import DeliveryMethod  # noqa: E402
from ordergate.settings import Settings  # noqa: E402
from ordergate.usecases import audit, orders  # noqa: E402
from ordergate.usecases.services import Services  # noqa: E402

AGENT = Principal(subject="bench-agent", role=Role.AGENT)
AUSTIN = Address(
    name="Ann Lee",
    line1="500 Congress Ave",
    city="Austin",
    region="TX",
    postal_code="78701",
    country_code="US",
)


def command() -> PlaceOrder:
    return PlaceOrder(
        idempotency_key=f"bench-{uuid.uuid4()}",
        channel="web",
        customer=CustomerDetails(email="ann@example.com", first_name="Ann", last_name="Lee"),
        lines=(LineRequest(sku="SOAP-OLIVE-3", quantity=1), LineRequest(sku="CANDLE-CEDAR", quantity=1)),
        delivery_method=DeliveryMethod.SHIP,
        shipping_address=AUSTIN,
    )


async def per_order(services: Services, count: int, audited: bool) -> float:
    times = []
    for _ in range(count):
        actor = audit.acting(AGENT.subject, AGENT.role.value, "placeOrder") if audited else nullcontext()
        started = time.perf_counter()
        with actor:
            await orders.place_order(services, AGENT, command())
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def round_(url: str, count: int) -> tuple[float, float]:
    settings = Settings(database_url=url, outbox_relay=False, storefront_sync_seconds=0)
    async with bootstrap.opened(settings) as services:
        await per_order(services, 5, True)  # warm
        plain = await per_order(services, count, False)
        audited = await per_order(services, count, True)
    return plain, audited


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--orders", type=int, default=60)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    ratios = []
    for number in range(args.rounds):
        with tempfile.TemporaryDirectory() as directory:
            url = f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
            if args.backend == "postgres":
                url = await fresh_postgres()
            plain, audited = await round_(url, args.orders)
        ratios.append(audited / plain)
        print(
            f"round {number + 1}: unaudited {plain * 1000:.2f} ms/order, "
            f"audited {audited * 1000:.2f} ms/order, ratio {audited / plain:.3f}"
        )
    print(f"median ratio audited/unaudited over {args.rounds} rounds: {statistics.median(ratios):.3f}")


async def fresh_postgres() -> str:
    import asyncpg

    connection = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        await connection.execute("DROP DATABASE IF EXISTS ordergate_bench_audit WITH (FORCE)")
        await connection.execute("CREATE DATABASE ordergate_bench_audit")
    finally:
        await connection.close()
    return "postgresql+asyncpg://postgres@127.0.0.1:5432/ordergate_bench_audit"


if __name__ == "__main__":
    asyncio.run(main())

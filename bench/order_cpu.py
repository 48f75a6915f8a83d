"""Gateway CPU per placed order, in-process, through /graphql, on PostgreSQL.

    .venv/bin/python bench/order_cpu.py --batches 5 --orders 30 [--relay] [--profile out.prof]

One gateway in this process (the app served by `httpx.ASGITransport`, Redis broker, logs at
WARNING, the collector tuned as `ordergate serve` tunes it), the Katana ERP stand-in of
`bench/place_order.py` as its own process (its CPU is not counted), a fresh database
`ordergate_bench_cpu`. The order is the one `bench/place_order.py`
sends (its `PlaceOrder` document, a storefront token), with one or two plentiful lines. With
`--refused`, every timed order also asks for a unit of a SKU the warm-up sold out (`SOLD_OUT`:
the stand-in's 100 units at DC-DFW, bought by one order): the CPU of a placement refused
INSUFFICIENT_STOCK, as most of a flash sale's are once its stock is gone.

Each batch places `--orders` orders one after another and prints the process's CPU time (user
and system, `os.times`) per order; the median of the batches is the figure. Without `--relay`
the outbox relay is off (an API-only replica): what placeOrder itself costs. With `--relay` the
relay and the event-log dispatchers run in this process as `ordergate serve` runs them, and
each batch's time runs until the outbox is empty again: placeOrder plus its relay work (ERP
sales order, the confirmation email into the sandbox's SMTP sink, which runs in this process
too).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.in_process import served_in_process  # noqa: E402
from bench.place_order import (  # noqa: E402
    ADDRESS,
    PLACE_ORDER,
    PLENTIFUL,
    SCARCE,
    SCARCE_UNITS,
    recreate_database,
    wait_ready,
)
from ordergate import bootstrap  # noqa: E402
from ordergate.app import create_app  # noqa: E402
from ordergate.auth import mint_token  # noqa: E402
from ordergate.models.identity import Role  # noqa: E402
from ordergate.settings import Settings  # noqa: E402
from ordergate.usecases.services import Services  # noqa: E402

DATABASE = "ordergate_bench_cpu"
SOLD_OUT = SCARCE[0][0]


def variables(number: int, sold_out: bool = False) -> dict[str, Any]:
    lines = [{"sku": PLENTIFUL[number % 4], "quantity": 1}]
    if sold_out:
        lines.append({"sku": SOLD_OUT, "quantity": 1})
    elif number % 2:
        lines.append({"sku": PLENTIFUL[(number + 1) % 4], "quantity": 1})
    return {
        "input": {
            "idempotencyKey": f"cpu-{uuid.uuid4()}",
            "channel": "web",
            "customer": {"email": f"cpu-{number % 50}@example.com", "firstName": "Bench"},
            "lines": lines,
            "deliveryMethod": "SHIP",
            "shippingAddress": ADDRESS,
        }
    }


async def place(http: httpx.AsyncClient, number: int, refused: bool = False) -> None:
    response = await http.post(
        "/graphql", json={"query": PLACE_ORDER, "variables": variables(number, refused)}
    )
    payload = response.json()["data"]["placeOrder"]
    if refused:
        assert [e["code"] for e in payload["userErrors"]] == ["INSUFFICIENT_STOCK"], payload
    else:
        assert payload["order"] is not None, payload


async def sell_out(http: httpx.AsyncClient) -> None:
    """Every unit of SOLD_OUT bought by one order."""
    body = variables(0)
    body["input"]["lines"] = [{"sku": SOLD_OUT, "quantity": SCARCE_UNITS}]
    response = await http.post("/graphql", json={"query": PLACE_ORDER, "variables": body})
    assert response.json()["data"]["placeOrder"]["order"] is not None, response.text


async def drained(services: Services) -> None:
    """Until no outbox task is left to do and the dispatchers have read the log to its head."""
    query = sa.text(
        "SELECT (SELECT count(*) FROM outbox WHERE done_at IS NULL)"
        " + (SELECT count(*) FROM counters c WHERE c.name IN ('email_dispatch', 'webhook_dispatch')"
        "    AND c.value < (SELECT coalesce(max(cursor), 0) FROM order_events))"
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        async with services.store.write_engine.connect() as connection:
            if (await connection.execute(query)).scalar_one() == 0:
                return
        await asyncio.sleep(0.05)
    raise SystemExit("the outbox did not drain within 120 s")


async def batch(
    http: httpx.AsyncClient, services: Services, start: int, count: int, relay: bool, refused: bool = False
) -> tuple[float, float]:
    """(CPU, of which system) per order."""
    began = os.times()
    for number in range(start, start + count):
        await place(http, number, refused)
    if relay:
        await drained(services)
    ended = os.times()
    system = ended.system - began.system
    return (ended.user - began.user + system) / count, system / count


async def show_statements(http: httpx.AsyncClient, services: Services, relay: bool) -> None:
    """Print the SQL statements one order sends (with `relay`, and then its relay work, until
    the outbox is empty again; the bench's own polling statements included)."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(" ".join(statement.split())[:150])

    engines = {services.store.read_engine.sync_engine, services.store.write_engine.sync_engine}
    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", record)
    await place(http, 999_999)
    if relay:
        await drained(services)
    for engine in engines:
        sa.event.remove(engine, "before_cursor_execute", record)
    print(f"{len(sent)} statements for one order:\n  " + "\n  ".join(sent), flush=True)


async def run(args: argparse.Namespace) -> None:
    await recreate_database(DATABASE)
    env = {
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{DATABASE}",
        "REDIS_URL": "redis://127.0.0.1:6379/14",
        "ORDERGATE_KATANA_URL": f"http://127.0.0.1:{args.katana_port}",
        "ORDERGATE_KATANA_TOKEN": "bench-katana-token",
        "ORDERGATE_QUERY_BUDGET": "0",
        "ORDERGATE_LOG_LEVEL": "WARNING",
        "ORDERGATE_OUTBOX_RELAY": "on" if args.relay else "off",
        "ORDERGATE_STOREFRONT_SYNC_SECONDS": "0",
        **dict(pair.split("=", 1) for pair in args.env),
    }
    settings = Settings.from_env(env)
    token = mint_token(settings, role=Role.STOREFRONT, subject="bench-storefront", now=datetime.now(UTC))
    sandboxes = bootstrap.Sandboxes()  # the app starts the mail sink the mailer sends to
    services = bootstrap.build_services(settings, sandboxes=sandboxes)
    app = create_app(settings, services, sandboxes)
    async with services.closing, served_in_process(app, token) as http:
        await batch(http, services, 0, args.warmup, args.relay)
        if args.refused:
            await sell_out(http)
            await batch(http, services, 500, args.warmup, args.relay, refused=True)
        if args.statements:
            await show_statements(http, services, args.relay)
        profiler = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not waits
        per_order = []
        for number in range(args.batches):
            if profiler:
                profiler.enable()
            cpu, system = await batch(
                http, services, (number + 1) * 1000, args.orders, args.relay, args.refused
            )
            per_order.append(cpu)
            if profiler:
                profiler.disable()
            print(
                f"batch {number + 1}: {cpu * 1000:.1f} ms CPU per order ({system * 1000:.1f} system)",
                flush=True,
            )
        if profiler:
            profiler.dump_stats(args.profile)
    what = "placeOrder + relay work" if args.relay else "placeOrder (relay off)"
    what += ", refused for stock" if args.refused else ""
    print(
        f"{what}: median {statistics.median(per_order) * 1000:.1f} ms CPU per order "
        f"over {args.batches} batches of {args.orders}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--orders", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--relay", action="store_true")
    parser.add_argument("--refused", action="store_true", help="orders refused for a SKU sold out")
    parser.add_argument("--statements", action="store_true", help="print one order's SQL statements")
    parser.add_argument("--profile", help="write a cProfile of the timed batches here")
    parser.add_argument("--env", action="append", default=[], help="NAME=value, another setting")
    parser.add_argument("--katana-port", type=int, default=8742)
    args = parser.parse_args()
    katana = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench" / "place_order.py"),
            "katana",
            "--katana-port",
            str(args.katana_port),
        ]
    )
    try:
        asyncio.run(wait_ready(f"http://127.0.0.1:{args.katana_port}/locations", katana))
        asyncio.run(run(args))
    finally:
        katana.terminate()
        katana.wait(timeout=30)


if __name__ == "__main__":
    main()

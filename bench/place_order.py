"""placeOrder under 200 concurrent clients on PostgreSQL, two gateway workers, against a baseline.

    .venv/bin/python bench/place_order.py --rounds 3 --seconds 15 --clients 200

What it does, in one run:

1. Recreates the database `ordergate_bench` on 127.0.0.1:5432 (trust auth).
2. Starts a Katana ERP sandbox as its own process (the wire format the gateway reads), with
   plentiful stock of a few SKUs at the distribution centres and, per round, two scarce SKUs
   (`--scarce-units` each, at DC-DFW only), so buyers really compete for the last units. Its
   60-a-minute rate limit is lifted: it is a stand-in, and its limit would measure itself.
3. Starts `ordergate serve --workers 2` on that database with the Redis broker (two processes
   share one database, so events go through Redis). Throttling is off
   (`ORDERGATE_QUERY_BUDGET=0`: every client comes from 127.0.0.1, so the per-client bucket
   would be one bucket for all 200) and logs are at WARNING (one JSON line per request would
   be measured too). The clients send the contract's `PlaceOrder` with one storefront token,
   as a storefront's server does, each with a unique idempotency key.
4. Rounds, interleaved: the gateway (200 clients over HTTP keep-alive for `--seconds`), then the
   baseline: the same 200 clients running alone, on copies of the tables, the transaction the
   store runs to allocate (`store/inventory.py`: per line, in (sku, location) order, the
   conditional `UPDATE ... SET allocated = allocated + q WHERE on_hand - allocated - reserved >= q`
   with a row-count check, plus a ledger insert), through SQLAlchemy with as many pooled
   connections as the two workers have together: each side gets an equal share of what
   PostgreSQL has free (`max_connections`, less its reserve, the connections open at start and
   20 left for others), at most 60 (two workers' default pools, 2 x 30); `--connections N`
   fixes it. Between the two, the bench waits until the gateway has done the round's relay
   work (its outbox empty, its dispatchers at the log's head) and prints how long that took:
   the baseline runs on a machine that is not still pushing the round's orders to the ERP.
   With `--floor`, each round also has the same clients send `{ __typename }` to the same
   gateway (between the gateway's round and the baseline's): what any request costs here
   before placeOrder does anything, to split the gap to the baseline into the stack's share
   and placeOrder's own.
5. Checks, on the gateway's tables: no position with allocated > on hand, and every position's
   `allocated` equals its ledger (ALLOCATE - RELEASE - SHIP); and that what the clients were
   told they bought of the scarce SKUs is what the ledger allocated plus what still waits for
   incoming supply (`THROW-WOOL` is the demo's backorderable SKU: 40 due at DC-DFW).

Medians over rounds are printed with the gateway/baseline ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shlex
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ordergate.auth import mint_token  # noqa: E402
from ordergate.models.identity import Role  # noqa: E402
from ordergate.settings import Settings  # noqa: E402
from ordergate.store.engine import create_engine  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SCARCE_UNITS = 100  # of each scarce SKU, at DC-DFW (`--scarce-units`)
PLENTIFUL = ["MUG-BLUE", "MUG-WHITE", "BOWL-SET-4", "PLATE-DINNER"]
SCARCE = [
    ("CHAIR-OAK", "TABLE-SIDE"),
    ("LAMP-DESK", "RUG-JUTE-5X8"),
    ("THROW-WOOL", "DUVET-KING"),
    ("VASE-CERAMIC", "CANDLE-CEDAR"),
    ("PILLOW-LINEN", "KETTLE-STEEL"),
]
PLENTY = 1_000_000
DCS = ("DC-DFW", "DC-EWR", "DC-ONT")
SCARCE_AT = "DC-DFW"
SUBJECT = "bench-storefront"  # who the clients are (their token's subject)

PLACE_ORDER = """
mutation PlaceOrder($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    order {
      id number status fulfillmentStatus paymentStatus channel
      subtotal { amount currency } tax { amount currency }
      shippingTotal { amount currency } total { amount currency }
      lines { id sku quantity unitPrice { amount currency } }
      fulfillmentOrders { id status deliveryMethod location { id code } lines { sku quantity } }
    }
    userErrors { code field message }
  }
}
"""
ADDRESS = {
    "name": "Bench Buyer",
    "line1": "500 Congress Ave",
    "city": "Austin",
    "region": "TX",
    "postalCode": "78701",
    "countryCode": "US",
}

# `--spread`: clients ship near each distribution centre in turn (client n near DCS[n % 3]), so
# orders of the same plentiful SKUs route to different nodes.
NEAR = {
    "DC-DFW": ADDRESS,
    "DC-EWR": {
        **ADDRESS,
        "line1": "1 Gateway Center",
        "city": "Newark",
        "region": "NJ",
        "postalCode": "07102",
    },
    "DC-ONT": {**ADDRESS, "line1": "303 E B St", "city": "Ontario", "region": "CA", "postalCode": "91764"},
}


def home(client: int) -> str:
    """The node a client's plentiful lines are routed to: the one it ships near."""
    return DCS[client % len(DCS)] if ARGS.spread else SCARCE_AT


# -- the ERP stand-in ------------------------------------------------------------------------------


def serve_katana(port: int, scarce_units: int) -> None:
    import uvicorn

    from ordergate.sandbox.katana import KatanaSandbox

    sandbox = KatanaSandbox(rate_limit=10**9)
    for key in list(sandbox.inventory):
        sandbox.inventory[key] = Decimal(0)
    for sku in PLENTIFUL:
        for code in DCS:
            sandbox.inventory[(sandbox.variant_for(sku).id, sandbox.locations[code])] = Decimal(PLENTY)
    for pair in SCARCE:
        for sku in pair:
            sandbox.inventory[(sandbox.variant_for(sku).id, sandbox.locations[SCARCE_AT])] = Decimal(
                scarce_units
            )
    uvicorn.run(Counted(sandbox.app), host="127.0.0.1", port=port, log_level="warning")


class Counted:
    """The stand-in's app, counting the requests it is sent by method and route (the ids in a
    path are left out); `GET /_bench/requests` answers the counts so far."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.counts: Counter[str] = Counter()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/_bench/requests":
            body = json.dumps(dict(self.counts)).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        if scope["type"] == "http":
            route = "/".join("{id}" if part.isdigit() else part for part in scope["path"].split("/"))
            self.counts[f"{scope['method']} {route}"] += 1
        await self.app(scope, receive, send)


# -- one round's tally -----------------------------------------------------------------------------


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    placed: int = 0
    refused: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    scarce_sold: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.placed / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def an_order(rng: random.Random, scarce: tuple[str, str], client: int) -> list[tuple[str, int]]:
    if ARGS.hot:  # every order one unit of one SKU, from one node: one hot row
        return [(PLENTIFUL[0], 1)]
    lines = [(rng.choice(PLENTIFUL), 1)]
    if rng.random() < 0.5:
        lines.append((rng.choice(scarce), 1))
    return lines


async def for_a_while(
    tally: Tally, clients: int, seconds: float, client: Callable[[int, float], Awaitable[None]]
) -> None:
    """`clients` of `client(number, deadline)` at once until the deadline, `seconds` from now;
    the time they took in `tally`."""
    began = time.perf_counter()
    await asyncio.gather(*(client(n, began + seconds) for n in range(clients)))
    tally.seconds = time.perf_counter() - began


class Connection:
    """One client's HTTP/1.1 keep-alive connection to the gateway, written by hand: a POST of a
    JSON body, the answer read by its Content-Length. httpx with 200 connections in one pool
    costs ~4.3 ms of CPU per request (its pool is searched on every request), which capped this
    load generator at ~240 requests/s on a core of its own and took a share of the two cores
    from the gateway it measures; this costs ~0.06 ms (`{ __typename }` on one worker, 200
    clients, measured side by side)."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        self.head = (
            f"POST /graphql HTTP/1.1\r\nhost: {host}:{port}\r\ncontent-type: application/json\r\n"
            f"authorization: Bearer {token}\r\ncontent-length: "
        ).encode()
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        body = json.dumps(payload).encode()
        try:
            writer.write(self.head + str(len(body)).encode() + b"\r\n\r\n" + body)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60.0)
            status_line, *lines = head.decode("latin-1").split("\r\n")
            fields = dict(line.lower().split(": ", 1) for line in lines if ": " in line)
            answer = await reader.readexactly(int(fields["content-length"]))
        except BaseException:
            self.close()
            raise
        if fields.get("connection") == "close":
            self.close()
        return int(status_line.split(" ", 2)[1]), json.loads(answer)

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


LOST = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, KeyError, ValueError)


async def gateway_round(url: str, token: str, clients: int, seconds: float, scarce: tuple[str, str]) -> Tally:
    tally = Tally()
    where = httpx.URL(url)

    async def client(number: int, deadline: float) -> None:
        rng = random.Random(number)
        http = Connection(where.host, where.port or 80, token)
        while time.perf_counter() < deadline:
            lines = an_order(rng, scarce, number)
            variables = {
                "input": {
                    "idempotencyKey": f"bench-{uuid.uuid4()}",
                    "channel": "web",
                    "customer": {"email": f"bench-{number}@example.com", "firstName": "Bench"},
                    "lines": [{"sku": sku, "quantity": q} for sku, q in lines],
                    "deliveryMethod": "SHIP",
                    "shippingAddress": NEAR[home(number)],
                }
            }
            began = time.perf_counter()
            try:
                status, body = await http.post({"query": PLACE_ORDER, "variables": variables})
            except LOST as error:
                tally.failed[type(error).__name__] += 1
                continue
            tally.latencies.append(time.perf_counter() - began)
            payload = (body.get("data") or {}).get("placeOrder")
            if status != 200 or payload is None:
                tally.failed[f"http {status}"] += 1
            elif payload["order"] is not None:
                tally.placed += 1
                for sku, quantity in lines:
                    if sku in scarce:
                        tally.scarce_sold[sku] += quantity
            elif {e["code"] for e in payload["userErrors"]} == {"INSUFFICIENT_STOCK"}:
                tally.refused += 1
            else:
                tally.failed[",".join(sorted(e["code"] for e in payload["userErrors"]))] += 1
        http.close()

    await for_a_while(tally, clients, seconds, client)
    return tally


FLOOR = "{ __typename }"


async def floor_round(url: str, token: str, clients: int, seconds: float) -> Tally:
    """The same clients, the same server and token, a GraphQL request that does nothing
    (`{ __typename }`): what the HTTP server, the GraphQL layer and this load generator cost
    per request, so that placeOrder's own share of the gap to the baseline shows."""
    tally = Tally()
    where = httpx.URL(url)

    async def client(_: int, deadline: float) -> None:
        http = Connection(where.host, where.port or 80, token)
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            try:
                status, body = await http.post({"query": FLOOR})
            except LOST as error:
                tally.failed[type(error).__name__] += 1
                continue
            tally.latencies.append(time.perf_counter() - began)
            if status == 200 and (body.get("data") or {}).get("__typename") == "Query":
                tally.placed += 1
            else:
                tally.failed[f"http {status}"] += 1
        http.close()

    await for_a_while(tally, clients, seconds, client)
    return tally


ALLOCATE = sa.text(
    "UPDATE bench_positions SET allocated = allocated + :q "
    "WHERE sku = :sku AND location_id = :loc AND on_hand - allocated - :reserve >= :q"
)
LEDGER = sa.text(
    "INSERT INTO bench_ledger (id, sku, location_id, kind, quantity, order_id, actor, occurred_at) "
    "VALUES (:id, :sku, :loc, 'ALLOCATE', :q, :order_id, 'bench', :now)"
)


async def baseline_round(
    engine: Any, locations: dict[str, str], clients: int, seconds: float, scarce: tuple[str, str]
) -> Tally:
    async with engine.begin() as connection:
        await connection.execute(sa.text("TRUNCATE bench_positions, bench_ledger"))
        stock = {(sku, locations[code]): PLENTY for sku in PLENTIFUL for code in DCS}
        stock.update(
            {(sku, locations[SCARCE_AT]): ARGS.scarce_units for sku in scarce if sku not in PLENTIFUL}
        )
        rows = [{"sku": sku, "loc": loc, "on_hand": units} for (sku, loc), units in sorted(stock.items())]
        await connection.execute(
            sa.text(
                "INSERT INTO bench_positions (sku, location_id, on_hand, allocated, as_of) "
                "VALUES (:sku, :loc, :on_hand, 0, now())"
            ),
            rows,
        )
    tally = Tally()
    dfw = locations[SCARCE_AT]

    async def client(number: int, deadline: float) -> None:
        rng = random.Random(number)
        while time.perf_counter() < deadline:
            lines = sorted(an_order(rng, scarce, number))
            # where the gateway sends it: a scarce line is only at DC-DFW, and one node that
            # holds the whole order beats a split; plentiful lines alone go to the client's node
            node = dfw if any(sku in scarce for sku, _ in lines) else locations[home(number)]
            order_id = str(uuid.uuid4())
            began = time.perf_counter()
            ok = True
            async with engine.connect() as connection, connection.begin() as transaction:
                now = datetime.now(UTC)
                for sku, quantity in lines:
                    done = await connection.execute(
                        ALLOCATE, {"q": quantity, "sku": sku, "loc": node, "reserve": 0}
                    )
                    if done.rowcount != 1:
                        ok = False
                        break
                    await connection.execute(
                        LEDGER,
                        {
                            "id": str(uuid.uuid4()),
                            "sku": sku,
                            "loc": node,
                            "q": quantity,
                            "order_id": order_id,
                            "now": now,
                        },
                    )
                if not ok:
                    await transaction.rollback()
            tally.latencies.append(time.perf_counter() - began)
            if ok:
                tally.placed += 1
                for sku, quantity in lines:
                    if sku in scarce:
                        tally.scarce_sold[sku] += quantity
            else:
                tally.refused += 1

    await for_a_while(tally, clients, seconds, client)
    return tally


# -- setup, checks, report -------------------------------------------------------------------------


async def drained(engine: AsyncEngine, most: float = 180.0) -> float:
    """Seconds until the gateway's outbox has nothing left to do and its dispatchers have read
    the event log to its head (what the round's orders promised: ERP sales orders, emails,
    captures), so that the baseline runs on a machine that is not still doing it."""
    query = sa.text(
        "SELECT (SELECT count(*) FROM outbox WHERE done_at IS NULL)"
        " + (SELECT count(*) FROM counters c WHERE c.name IN ('email_dispatch', 'webhook_dispatch')"
        "    AND c.value < (SELECT coalesce(max(cursor), 0) FROM order_events))"
    )
    began = time.monotonic()
    while time.monotonic() - began < most:
        async with engine.connect() as connection:
            if (await connection.execute(query)).scalar_one() == 0:
                break
        await asyncio.sleep(0.2)
    return time.monotonic() - began


async def recreate_database(name: str) -> None:
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def connection_share(sides: int = 2, headroom: int = 20, most: int = 60) -> int:
    """Connections each side (the gateway's two workers together, the baseline) may hold: what
    PostgreSQL allows, less its superuser reserve, the connections open now (other people's
    suites) and `headroom`, shared equally; at most `most` (two workers' default pools)."""
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        allowed = int(await admin.fetchval("SHOW max_connections"))
        reserved = int(await admin.fetchval("SHOW superuser_reserved_connections"))
        used = int(
            await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
            )
        )
    finally:
        await admin.close()
    share = min(most, (allowed - reserved - used - headroom) // sides)
    print(
        f"connections: max_connections {allowed}, {reserved} reserved, {used} open now, "
        f"{headroom} left free: "
        f"{share} for the gateway ({share // 2} per worker) and {share} for the baseline",
        flush=True,
    )
    if share < 4:
        raise SystemExit("PostgreSQL has too few free connections for this bench; try later")
    return share


async def wait_ready(url: str, process: subprocess.Popen[bytes], seconds: float = 120.0) -> None:
    """Until `url` answers at all (the ERP stand-in answers 401 without a token)."""
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"{url} exited with {process.returncode}")
            try:
                if (await http.get(url)).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise SystemExit(f"{url} did not become ready in {seconds:g}s")


# the clients' orders, not the storefront's demo orders the gateway imports as it starts
BENCH_ORDERS = f"SELECT id FROM orders WHERE placed_by = '{SUBJECT}'"


async def check_stock(database_url: str, sold: Counter[str]) -> dict[str, Any]:
    connection = await asyncpg.connect(database_url)
    try:
        oversold = await connection.fetch(
            "SELECT sku, location_id, on_hand, allocated FROM inventory_positions WHERE allocated > on_hand"
        )
        mismatched = await connection.fetch(
            """
            SELECT p.sku, p.location_id, p.allocated, COALESCE(l.net, 0) AS ledger
            FROM inventory_positions p
            LEFT JOIN (
                SELECT sku, location_id,
                       SUM(CASE kind WHEN 'ALLOCATE' THEN quantity WHEN 'RELEASE' THEN -quantity
                                     WHEN 'SHIP' THEN -quantity ELSE 0 END) AS net
                FROM inventory_ledger GROUP BY sku, location_id
            ) l USING (sku, location_id)
            WHERE p.allocated <> COALESCE(l.net, 0)
            """
        )
        scarce = [sku for pair in SCARCE for sku in pair]
        ledger = await connection.fetch(
            "SELECT sku, SUM(quantity) AS units FROM inventory_ledger "
            f"WHERE kind = 'ALLOCATE' AND sku = ANY($1::text[]) AND order_id IN ({BENCH_ORDERS}) "
            "GROUP BY sku",
            scarce,
        )
        allocated = {row["sku"]: int(row["units"]) for row in ledger}
        waits = await connection.fetch(  # a backorderable SKU sells against incoming supply too
            "SELECT sku, SUM(quantity) AS units FROM backorders "
            f"WHERE status = 'WAITING' AND sku = ANY($1::text[]) AND order_id IN ({BENCH_ORDERS}) "
            "GROUP BY sku",
            scarce,
        )
        waiting = {row["sku"]: int(row["units"]) for row in waits}
        positions = await connection.fetch(
            "SELECT sku, on_hand, allocated FROM inventory_positions WHERE sku = ANY($1::text[]) "
            "AND allocated > 0",
            scarce,
        )
    finally:
        await connection.close()
    return {
        "oversold_positions": len(oversold),
        "oversold_units": sum(r["allocated"] - r["on_hand"] for r in oversold),
        "ledger_mismatches": len(mismatched),
        "scarce_told_vs_ledger": {
            s: (sold.get(s, 0), allocated.get(s, 0), waiting.get(s, 0)) for s in scarce if s in sold
        },
        "scarce_positions": [(r["sku"], r["on_hand"], r["allocated"]) for r in positions],
    }


def med(values: list[float]) -> float:
    return statistics.median(values)


async def run(args: argparse.Namespace) -> None:
    py = sys.executable
    database = args.database
    database_url = f"postgresql://postgres@127.0.0.1:5432/{database}"
    gateway = f"http://127.0.0.1:{args.port}"
    katana = f"http://127.0.0.1:{args.katana_port}"
    share = args.connections or await connection_share()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": args.redis_url,
        "ORDERGATE_KATANA_URL": katana,
        "ORDERGATE_KATANA_TOKEN": "bench-katana-token",
        "ORDERGATE_QUERY_BUDGET": "0",
        "ORDERGATE_LOG_LEVEL": "WARNING",
        "ORDERGATE_DATABASE_CONNECTIONS": str(share // 2),  # per worker
    }
    command = [py, "-m", "ordergate.cli", "serve", "--port", str(args.port), "--workers", "2"]
    print("bench: " + " ".join(shlex.quote(a) for a in [py, *sys.argv]))
    print(
        "server: "
        + " ".join(
            f"{k}={shlex.quote(env[k])}"
            for k in (
                "DATABASE_URL",
                "REDIS_URL",
                "ORDERGATE_KATANA_URL",
                "ORDERGATE_KATANA_TOKEN",
                "ORDERGATE_QUERY_BUDGET",
                "ORDERGATE_LOG_LEVEL",
                "ORDERGATE_DATABASE_CONNECTIONS",
            )
        )
        + " "
        + " ".join(shlex.quote(a) for a in command)
    )
    print(
        "throttling: off (ORDERGATE_QUERY_BUDGET=0; all clients share 127.0.0.1, so one bucket); "
        "Katana stand-in rate limit lifted",
        flush=True,
    )

    await recreate_database(database)
    katana_process = subprocess.Popen(  # noqa: ASYNC220 - before any timing
        [
            py,
            __file__,
            "katana",
            "--katana-port",
            str(args.katana_port),
            "--scarce-units",
            str(args.scarce_units),
        ]
    )
    server = None
    try:
        await wait_ready(f"{katana}/locations", katana_process)
        server = subprocess.Popen(  # noqa: ASYNC220 - before any timing
            command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, start_new_session=True
        )
        await wait_ready(f"{gateway}/readyz", server)

        settings = Settings()
        token = mint_token(settings, role=Role.STOREFRONT, subject=SUBJECT, now=datetime.now(UTC))
        engine = create_engine(
            f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}",
            pool_size=share // 2,
            max_overflow=share - share // 2,
        )
        async with engine.begin() as connection:
            await connection.execute(
                sa.text("CREATE TABLE bench_positions (LIKE inventory_positions INCLUDING ALL)")
            )
            await connection.execute(
                sa.text("CREATE TABLE bench_ledger (LIKE inventory_ledger INCLUDING ALL)")
            )
            locations = {
                code: id_
                for id_, code in (await connection.execute(sa.text("SELECT id, code FROM locations"))).all()
            }

        print(f"warm-up: {args.warmup:g}s of plentiful-stock orders", flush=True)
        await gateway_round(gateway, token, args.clients, args.warmup, ("MUG-BLUE", "MUG-WHITE"))
        await baseline_round(engine, locations, args.clients, args.warmup, ("MUG-BLUE", "MUG-WHITE"))

        ours: list[Tally] = []
        base: list[Tally] = []
        floors: list[Tally] = []
        sold: Counter[str] = Counter()
        for r in range(args.rounds):
            scarce = SCARCE[r % len(SCARCE)]
            g = await gateway_round(gateway, token, args.clients, args.seconds, scarce)
            sold.update(g.scarce_sold)
            drain = await drained(engine)  # the round's relay work done before the baseline runs
            f = await floor_round(gateway, token, args.clients, args.seconds) if args.floor else None
            b = await baseline_round(engine, locations, args.clients, args.seconds, scarce)
            ours.append(g)
            base.append(b)
            if f is not None:
                floors.append(f)
                print(
                    f"round {r + 1} floor ({FLOOR}): {f.rate:.0f} requests/s p50 {f.pct(0.5):.1f} ms "
                    f"failed {dict(f.failed)} | floor/baseline {f.rate / b.rate:.3f} | "
                    f"gateway/floor {g.rate / f.rate:.3f}",
                    flush=True,
                )
            print(
                f"round {r + 1} scarce={'+'.join(scarce)}: "
                f"gateway {g.rate:.0f} orders/s p50 {g.pct(0.5):.0f} ms p99 {g.pct(0.99):.0f} ms "
                f"placed {g.placed} refused {g.refused} failed {dict(g.failed)} | "
                f"baseline {b.rate:.0f} orders/s p50 {b.pct(0.5):.1f} ms p99 {b.pct(0.99):.1f} ms "
                f"placed {b.placed} refused {b.refused} | ratio {g.rate / b.rate:.3f} | "
                f"relay work drained {drain:.1f} s after the round",
                flush=True,
            )
        await engine.dispose()
        await asyncio.sleep(2)  # let in-flight commits land before counting
        checked = await check_stock(database_url, sold)

        print(
            f"\nmedians of {args.rounds} interleaved rounds, {args.clients} clients, {args.seconds:g}s each:"
        )
        print("| | orders/s | p50 ms | p99 ms | placed | refused for stock |")
        print("|---|---:|---:|---:|---:|---:|")
        sides = [("gateway (2 workers)", ours), ("baseline SQL", base)]
        if floors:
            sides.append((f"floor: `{FLOOR}`, same gateway and clients", floors))
        for name, tallies in sides:
            print(
                f"| {name} | {med([t.rate for t in tallies]):.0f} | {med([t.pct(0.5) for t in tallies]):.1f} "
                f"| {med([t.pct(0.99) for t in tallies]):.1f} | {med([t.placed for t in tallies]):.0f} "
                f"| {med([t.refused for t in tallies]):.0f} |"
            )
        ratios = [g.rate / b.rate for g, b in zip(ours, base, strict=True)]
        print(f"gateway/baseline orders/s: {med(ratios):.3f} (median of per-round ratios)")
        if floors:
            print(
                "floor/baseline: "
                f"{med([f.rate / b.rate for f, b in zip(floors, base, strict=True)]):.3f}; "
                "placeOrder/floor: "
                f"{med([g.rate / f.rate for g, f in zip(ours, floors, strict=True)]):.3f} "
                "(medians of per-round ratios)"
            )
        print(f"other failures (gateway, all rounds): {sum((t.failed for t in ours), Counter())}")
        print(
            f"oversold units: {checked['oversold_units']} ({checked['oversold_positions']} positions); "
            f"positions whose allocated != ledger: {checked['ledger_mismatches']}"
        )
        print(
            "scarce SKUs, units clients were told they bought vs ledger ALLOCATE vs still waiting "
            "for incoming supply (the clients' orders): "
            f"{checked['scarce_told_vs_ledger']}"
        )
        print(f"scarce positions (sku, on_hand, allocated): {checked['scarce_positions']}")
        async with httpx.AsyncClient() as http:
            erp = (await http.get(f"{katana}/_bench/requests")).json()
        print(
            "requests to the ERP stand-in over the whole run (start, warm-up, rounds, relay): "
            + ", ".join(f"{route} {n}" for route, n in sorted(erp.items(), key=lambda item: -item[1]))
        )
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        katana_process.terminate()
        katana_process.wait(timeout=30)


def main() -> None:
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", nargs="?", default="bench", choices=["bench", "katana"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--scarce-units", type=int, default=SCARCE_UNITS)
    parser.add_argument("--port", type=int, default=8731)
    parser.add_argument("--katana-port", type=int, default=8732)
    parser.add_argument("--database", default="ordergate_bench")
    parser.add_argument(
        "--connections",
        type=int,
        default=0,
        help="PostgreSQL connections per side (gateway, baseline); default: an equal share of "
        "what is free, at most 60",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument(
        "--spread",
        action="store_true",
        help="clients ship near each distribution centre in turn (default: all to Austin, near DC-DFW)",
    )
    parser.add_argument(
        "--hot",
        action="store_true",
        help="every order is one unit of one plentiful SKU, shipped from one node (one hot position)",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="each round also sends `{ __typename }` from the same clients (after the gateway's "
        "round and its relay work, before the baseline)",
    )
    ARGS = parser.parse_args()
    if ARGS.mode == "katana":
        serve_katana(ARGS.katana_port, ARGS.scarce_units)
    else:
        asyncio.run(run(ARGS))


ARGS: argparse.Namespace

if __name__ == "__main__":
    main()

"""GraphQL over real HTTP against baselines served by the same process in the same run.

    .venv/bin/python bench/graphql_http.py                    # 5 rounds x 5 s, 16 connections
    .venv/bin/python bench/graphql_http.py --rounds 7 --seconds 8 --connections 16

Two contract operations through the gateway's `POST /graphql`: `ProductAvailability` for 5
SKUs (storefront token) and `OrdersBoard` with `first: 100` over 100 placed orders (agent
token). Each is measured three ways, all by one uvicorn process (`bench/graphql_http_server.py`,
the real app with its middleware, plus two routes):

- graphql: the operation as a client sends it (the registered document, variables, operation name);
- plain:   a Starlette route returning the same JSON from the same data without GraphQL (token
           verified, the same resolver-level functions the resolvers and dataloaders call, one
           batched call per kind, a hand-built dict, `json.dumps`); checked equal to `data` first;
- bytes:   that response pre-serialised at start (the HTTP ceiling).

The server is pinned to core 0 (`taskset -c 0`), `wrk` (Debian package) to core 1, with a Lua
script sending the same POST body to all three. Rounds are interleaved (each round runs the
three in a rotating order) and medians are reported with the ratios graphql/plain and
plain/bytes; the spread of the plain baseline is printed, and a rerun asked for above 15%.

Settings that would distort a throughput run are changed, and printed: the per-client query
budget is off (`ORDERGATE_QUERY_BUDGET=0`: one client at thousands of requests a second would
be THROTTLED within a second; pricing, `extensions.cost` and `QUERY_TOO_COSTLY` stay on), the
background workers are off (outbox relay, storefront sync and availability push), the access
log is off and the log level is WARNING (for every route alike), and the ERP stock TTL is one
hour (see BENCH_STOCK_TTL). Every wrk run must see only 2xx answers, or the bench fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from ordergate.models.address import Address

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.graphql_http_server import BOARD_FIRST, DESTINATION, SKUS  # noqa: E402
from ordergate import bootstrap  # noqa: E402
from ordergate.auth import mint_token  # noqa: E402
from ordergate.models.commands import CustomerDetails, LineRequest, PlaceOrder  # noqa: E402
from ordergate.models.identity import Principal, Role  # noqa: E402
from ordergate.models.order import DeliveryMethod  # noqa: E402
from ordergate.schema.persisted import OPERATIONS_DIR, load_operations  # noqa: E402
from ordergate.settings import Settings  # noqa: E402
from ordergate.usecases import orders  # noqa: E402

ORDERS = 100
KINDS = ("graphql", "plain", "bytes")
PACKAGES = ("strawberry-graphql", "graphql-core", "starlette", "uvicorn", "uvloop", "httptools", "orjson")
SERVER_ENV = {
    "ORDERGATE_QUERY_BUDGET": "0",
    "ORDERGATE_OUTBOX_RELAY": "off",
    "ORDERGATE_STOREFRONT_SYNC_SECONDS": "0",
    "ORDERGATE_STOREFRONT_AVAILABILITY_SECONDS": "0",
    "ORDERGATE_LOG_LEVEL": "WARNING",
}
# Inherited settings that would make the server differ from the one described above.
SCRUBBED = ("ORDERGATE_JWT_SECRET", "ORDERGATE_JWT_PUBLIC_KEY", "DATABASE_URL", "REDIS_URL")
ACTIVE_SKUS = [
    "MUG-BLUE",
    "MUG-WHITE",
    "BOWL-SET-4",
    "PLATE-DINNER",
    "GLASS-TUMBLER-6",
    "KNIFE-CHEF-8",
    "PAN-CAST-10",
    "KETTLE-STEEL",
    "TOWEL-LINEN-2",
    "APRON-CANVAS",
    "PILLOW-LINEN",
    "BASKET-SEAGRASS",
]
EMAILS = [
    "ann.lee@example.com",
    "marcus.johnson@example.com",
    "priya.patel@example.com",
    "diego.ramirez@example.com",
    *(f"walk-in-{i}@example.com" for i in range(16)),
]

LUA = r"""
-- POST one body (a file) with an optional bearer token, report a parseable summary.
function init(args)
  local f = assert(io.open(args[1], "rb"))
  local body = f:read("*a")
  f:close()
  local headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }
  if args[2] ~= nil and args[2] ~= "" then headers["Authorization"] = "Bearer " .. args[2] end
  req = wrk.format("POST", nil, headers, body)
end

function request()
  return req
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d non2xx=%d socket_errors=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""
SUMMARY = re.compile(
    r"BENCH requests=(\d+) duration_us=(\d+) non2xx=(\d+) socket_errors=(\d+) p50_us=(\d+) p99_us=(\d+)"
)


@dataclass(frozen=True)
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float  # server CPU time per request: less sensitive than req/s to other load on the core


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


AUSTIN = Address("Bench", "500 Congress Ave", "Austin", "78701", "US", region="TX")


def bench_order(
    key: str, skus: tuple[str, ...], email: str, *, units: int = 1, channel: str = "web"
) -> PlaceOrder:
    """A bench's order: `units` of each of `skus` (once each), shipped to Austin."""
    return PlaceOrder(
        idempotency_key=key,
        channel=channel,
        customer=CustomerDetails(email=email),
        lines=tuple(LineRequest(sku, units) for sku in dict.fromkeys(skus)),
        delivery_method=DeliveryMethod.SHIP,
        shipping_address=AUSTIN,
    )


async def seed(database_url: str) -> None:
    """Migrate, seed the demo network and catalogue, and place ORDERS orders."""
    settings = Settings(database_url=database_url, outbox_relay=False)
    admin = Principal("bench", Role.ADMIN)
    async with bootstrap.opened(settings) as services:
        for i in range(ORDERS):
            skus = (ACTIVE_SKUS[i % len(ACTIVE_SKUS)], ACTIVE_SKUS[(i * 5 + 3) % len(ACTIVE_SKUS)])
            await orders.place_order(
                services,
                admin,
                bench_order(
                    f"bench-{i}",
                    skus,
                    EMAILS[i % len(EMAILS)],
                    units=1 + i % 2,
                    channel="web" if i % 3 else "mobile",
                ),
            )


def request_bodies() -> dict[str, dict[str, Any]]:
    registered = {op.name: op.body for op in load_operations([OPERATIONS_DIR]).values()}
    return {
        "availability": {
            "query": registered["ProductAvailability"],
            "operationName": "ProductAvailability",
            "variables": {"skus": SKUS, "destination": DESTINATION},
        },
        "board": {
            "query": registered["OrdersBoard"],
            "operationName": "OrdersBoard",
            "variables": {"first": BOARD_FIRST},
        },
    }


@contextlib.contextmanager
def server(
    env: dict[str, str], port: int, core: str, log_path: Path, script: str = "bench/graphql_http_server.py"
) -> Iterator[subprocess.Popen[bytes]]:
    command = ["taskset", "-c", core, sys.executable, str(ROOT / script)]
    command += ["--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the server exited:\n{log_path.read_text()[-4000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"the server did not get ready:\n{log_path.read_text()[-4000:]}")
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wrk(core: str, url: str, script: Path, body: Path, token: str, args: argparse.Namespace, pid: int) -> Run:
    command = ["taskset", "-c", core, "wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds}s"]
    command += ["--timeout", "10s", "-s", str(script), url, "--", str(body), token]
    cpu_before = cpu_seconds(pid)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(pid) - cpu_before
    found = SUMMARY.search(output)
    if found is None:
        raise SystemExit(f"wrk said:\n{output}")
    requests, duration_us, non2xx, socket_errors, p50, p99 = (int(g) for g in found.groups())
    if non2xx or socket_errors:
        raise SystemExit(f"{url}: {non2xx} non-2xx answers and {socket_errors} socket errors:\n{output}")
    return Run(requests / (duration_us / 1e6), p50 / 1000, p99 / 1000, 1000 * cpu / max(1, requests))


def check_same_data(base: str, bodies: dict[str, dict[str, Any]], tokens: dict[str, str]) -> None:
    """The plain route must answer what GraphQL answers, or the ratio compares different work."""
    with httpx.Client(base_url=base, timeout=30) as client:
        for name, body in bodies.items():
            headers = {"Authorization": f"Bearer {tokens[name]}"}
            graphql = client.post("/graphql", json=body, headers=headers).json()
            plain = client.post(f"/bench/plain/{name}", json=body, headers=headers).json()
            if graphql.get("errors") or graphql["data"] != plain["data"]:
                raise SystemExit(f"{name}: GraphQL and the plain route differ:\n{graphql}\n{plain}")
            size = len(client.post(f"/bench/bytes/{name}", json=body).content)
            print(f"  {name}: same data from both; {size} bytes; extensions {graphql.get('extensions')}")


def environment(args: argparse.Namespace) -> None:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("[")[0]
    packages = ", ".join(f"{p} {version(p)}" for p in PACKAGES if _installed(p))
    print(f"date       {datetime.now(UTC).isoformat(timespec='seconds')}")
    print(f"host       {platform.node()} {platform.platform()}; {os.cpu_count()} cores: {cpu}")
    print(f"python     {sys.version.split()[0]}; {packages}; {wrk_version.strip()}")
    print(f"server     uvicorn (uvloop, httptools) pinned to core {args.server_core}, SQLite file")
    print(f"load       wrk -t1 -c{args.connections} -d{args.seconds}s pinned to core {args.client_core}")
    print("settings   " + " ".join(f"{k}={v}" for k, v in SERVER_ENV.items()) + "; access log off")
    gc = "CPython defaults (--no-gc-tuning)" if args.no_gc_tuning else "tuned as `ordergate serve` does"
    print(f"gc         {gc}")
    print("           (query budget off so one client is never THROTTLED; cost pricing and limits stay on)")


def _installed(package: str) -> bool:
    try:
        version(package)
    except Exception:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--server-core", default="0")
    parser.add_argument("--client-core", default="1")
    parser.add_argument("--only", choices=("availability", "board"), action="append")
    parser.add_argument(
        "--no-gc-tuning",
        action="store_true",
        help="serve with CPython's default garbage-collector settings (before `ordergate serve` tuned them)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    print("command    " + shlex.join([".venv/bin/python", "bench/graphql_http.py", *sys.argv[1:]]))
    environment(args)
    directory = Path(tempfile.mkdtemp(prefix="ordergate-http-bench-"))
    database_url = f"sqlite+aiosqlite:///{directory}/bench.db"
    asyncio.run(seed(database_url))
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env.update(SERVER_ENV, DATABASE_URL=database_url)
    if args.no_gc_tuning:
        env["BENCH_NO_GC_TUNING"] = "1"
    settings = Settings()
    now = datetime.now(UTC)
    tokens = {
        "availability": mint_token(settings, role=Role.STOREFRONT, now=now, subject="bench-storefront"),
        "board": mint_token(settings, role=Role.AGENT, now=now, subject="bench-agent"),
    }
    bodies = request_bodies()
    names = args.only or list(bodies)
    script = directory / "post.lua"
    script.write_text(LUA)
    files = {}
    for name, body in bodies.items():
        files[name] = directory / f"{name}.json"
        files[name].write_text(json.dumps(body))
    base = f"http://127.0.0.1:{args.port}"
    urls = {"graphql": "/graphql", "plain": "/bench/plain/{}", "bytes": "/bench/bytes/{}"}
    results: dict[tuple[str, str], list[Run]] = {(n, k): [] for n in names for k in KINDS}
    with server(env, args.port, args.server_core, directory / "server.log") as process:
        httpx.post(f"{base}/bench/prime", headers={"Authorization": f"Bearer {tokens['board']}"}, timeout=30)
        check_same_data(base, {n: bodies[n] for n in names}, tokens)
        for name in names:  # warm-up, not recorded
            for kind in KINDS:
                warm = argparse.Namespace(connections=args.connections, seconds=2)
                url = base + urls[kind].format(name)
                wrk(args.client_core, url, script, files[name], tokens[name], warm, process.pid)
        for round_ in range(args.rounds):
            order = KINDS[round_ % 3 :] + KINDS[: round_ % 3]
            for name in names:
                for kind in order:
                    url = base + urls[kind].format(name)
                    run = wrk(args.client_core, url, script, files[name], tokens[name], args, process.pid)
                    results[(name, kind)].append(run)
                    print(
                        f"  round {round_ + 1} {name:<12} {kind:<7} {run.rps:8.0f} req/s  "
                        f"p50 {run.p50_ms:7.2f} ms  p99 {run.p99_ms:7.2f} ms  cpu {run.cpu_ms:6.2f} ms/req",
                        flush=True,
                    )
    report(results, names, args)
    shutil.rmtree(directory, ignore_errors=True)


AIMS = {"availability": 0.5, "board": 0.25}
TITLES = {"availability": "ProductAvailability (5 SKUs)", "board": f"OrdersBoard ({ORDERS} orders)"}


def report(results: dict[tuple[str, str], list[Run]], names: list[str], args: argparse.Namespace) -> None:
    print(
        f"\nmedians of {args.rounds} interleaved rounds "
        f"({args.seconds} s each, {args.connections} connections)"
    )
    print(
        f"{'operation':<30} {'kind':<8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'spread':>7} "
        f"{'cpu ms/req':>10}"
    )
    for name in names:
        for kind in KINDS:
            runs = results[(name, kind)]
            rps = [r.rps for r in runs]
            spread = (max(rps) - min(rps)) / statistics.median(rps)
            print(
                f"{TITLES[name]:<30} {kind:<8} {statistics.median(rps):8.0f} "
                f"{statistics.median(r.p50_ms for r in runs):8.2f} "
                f"{statistics.median(r.p99_ms for r in runs):8.2f} {spread:6.0%} "
                f"{statistics.median(r.cpu_ms for r in runs):10.3f}"
            )
    print()
    for name in names:
        med = {k: statistics.median(r.rps for r in results[(name, k)]) for k in KINDS}
        cpu = {k: statistics.median(r.cpu_ms for r in results[(name, k)]) for k in KINDS}
        plain = [r.rps for r in results[(name, "plain")]]
        spread = (max(plain) - min(plain)) / statistics.median(plain)
        verdict = "met" if med["graphql"] / med["plain"] >= AIMS[name] else "NOT met"
        print(
            f"{TITLES[name]:<30} graphql/plain {med['graphql'] / med['plain']:.3f} "
            f"(aim {AIMS[name]}: {verdict})  plain/bytes {med['plain'] / med['bytes']:.3f}  "
            f"by CPU per request: graphql/plain {cpu['plain'] / cpu['graphql']:.3f}"
            + ("  [plain spread over 15%: rerun]" if spread > 0.15 else "")
        )


if __name__ == "__main__":
    main()

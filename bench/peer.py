"""ordergate beside Vendure, the peer, in one run: a page of 20 products, and the floors around it.

    .venv/bin/python bench/peer.py                     # 5 rounds x 5 s, wrk -t1 -c8 (as the peer's run.sh)
    .venv/bin/python bench/peer.py --rounds 7 --seconds 8 --vendure-dir /tmp/vendure

The peer is Vendure 3.7 (Node, SQLite, its sample catalogue), kept read-only in
/work/shared/peer/vendure (`--vendure-source`). Its files are copied to `--vendure-dir` (default
~/.cache/ordergate-bench/vendure, outside the repository; again when they differ), where its own
`run.sh setup` (npm install, a small venv, wrk) and `run.sh populate` (~30 s) run the first time
and are reused afterwards. Vendure is started as its `run.sh start` does (`NODE_ENV=production`, port
3010, core 0); the gateway runs in one uvicorn process (`bench/peer_server.py`: the app of
`bench/graphql_http_server.py`, same middleware and settings, plus a floor) on the same core,
on a fresh SQLite file with the demo seed (24 products; the bench checks that a page of 20 is
full). Cases, each POSTed by `wrk -t1 -c8` pinned to core 1:

- vendure:       Vendure's shop-api `products(options:{take:20}) { items { id name variants {
                 sku priceWithTax stockLevel } } }` (the peer's products.json, sent as is);
- vendure-tn:    Vendure's `{ __typename }` (its framework floor; context only);
- catalog:       the contract's `Catalog` with `first: 20`, as a storefront sends it (the
                 registered document, variables, operationName, a storefront bearer token);
- listing:       the listing page in one request: that `products(first: 20)` selection plus
                 `availability(skus: <those 20 SKUs>)` with the contract's ProductAvailability
                 selection, no destination (`--listing-destination`: the bench's destination);
- typename:      `{ __typename }` to the gateway, same token;
- catalog-bytes: the catalog answer, asked of /graphql once at start and served as bytes by
                 the same process (`/bench/bytes/catalog`: the HTTP ceiling);
- availability:  the contract's ProductAvailability, 5 SKUs with a destination (the operation
                 of `bench/graphql_http.py`), and availability-bytes, its answer as bytes.

Rounds are interleaved (each round runs every case, in an order rotated by one per round);
medians over rounds are reported, with the server's CPU time per request from /proc (the
server of that case: node or uvicorn), which other load on the machine disturbs less than
req/s. Each round also measures sequential latency (`wrk -c1`): Catalog `first: 1` and
`{ __typename }`, p50 and CPU per request, whose difference is what touching the store costs.
Every wrk run must see no non-2xx answer (wrk counts statuses >= 400) and no socket error, or
the bench fails; every answer is checked once before measuring (no `errors`, full pages).
The gateway runs with the settings of `bench/graphql_http.py` (query budget off, background
workers off, access log off, WARNING, the collector tuned as `ordergate serve` does).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shlex
import shutil
import socket
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.graphql_http import (  # noqa: E402
    LUA,
    PACKAGES,
    SCRUBBED,
    SERVER_ENV,
    Run,
    server,
    wrk,
)
from bench.graphql_http_server import DESTINATION, SKUS  # noqa: E402
from ordergate import bootstrap  # noqa: E402
from ordergate.auth import mint_token  # noqa: E402
from ordergate.models.identity import Role  # noqa: E402
from ordergate.schema.persisted import OPERATIONS_DIR, load_operations  # noqa: E402
from ordergate.settings import Settings  # noqa: E402

PAGE = 20
VENDURE_SOURCE = Path("/work/shared/peer/vendure")
VENDURE_DIR = Path.home() / ".cache/ordergate-bench/vendure"
POPULATED = ".populated"  # written in --vendure-dir once `run.sh populate` succeeded
VENDURE_ENV = {  # as its run.sh sets them
    "VENDURE_DISABLE_TELEMETRY": "1",
    "PUPPETEER_SKIP_DOWNLOAD": "1",
    "PUPPETEER_SKIP_CHROMIUM_DOWNLOAD": "1",
}

# The contract's Catalog selection and its ProductAvailability selection, in one request.
LISTING = """query ListingPage($first: Int!, $skus: [String!]!, $destination: DestinationInput) {
  products(first: $first) {
    pageInfo { hasNextPage endCursor }
    edges {
      node { sku name price { amount currency } }
    }
  }
  availability(skus: $skus, destination: $destination) {
    sku
    availableToSell
    promiseDate(quantity: 1)
    asOf
    stale
    locations {
      location { id code name type pickupEnabled }
      availableToSell
      distanceKm
      incoming { quantity expectedOn }
    }
  }
}
"""
TYPENAME = "{ __typename }"


@dataclass(frozen=True)
class Case:
    name: str
    title: str
    path: str  # on the server of the case
    body: str  # file name in the run's directory
    vendure: bool = False


CASES = [
    Case("vendure", "Vendure shop-api products(take: 20)", "/shop-api", "vendure.json", vendure=True),
    Case(
        "vendure-tn", "Vendure shop-api `{ __typename }`", "/shop-api", "vendure-typename.json", vendure=True
    ),
    Case("catalog", "ordergate Catalog(first: 20)", "/graphql", "catalog.json"),
    Case(
        "listing",
        "ordergate listing page: products(first: 20) + availability(20 SKUs)",
        "/graphql",
        "listing.json",
    ),
    Case("typename", "ordergate `{ __typename }`", "/graphql", "typename.json"),
    Case(
        "catalog-bytes",
        "ordergate Catalog answer as pre-serialised bytes",
        "/bench/bytes/catalog",
        "catalog.json",
    ),
    Case(
        "availability", "ordergate ProductAvailability (5 SKUs, destination)", "/graphql", "availability.json"
    ),
    Case(
        "availability-bytes",
        "ordergate ProductAvailability answer as bytes",
        "/bench/bytes/availability",
        "availability.json",
    ),
]
SEQUENTIAL = [
    Case("seq-catalog", "Catalog(first: 1), 1 connection", "/graphql", "catalog-1.json"),
    Case("seq-typename", "`{ __typename }`, 1 connection", "/graphql", "typename.json"),
]
# title, numerator case, denominator case, aim (the req/s ratio at least; issue 17)
RATIOS = [
    ("Catalog / Vendure", "catalog", "vendure", 40.0),
    ("listing / Vendure", "listing", "vendure", 20.0),
    ("Catalog / bytes", "catalog", "catalog-bytes", None),
    ("`{ __typename }` / bytes", "typename", "catalog-bytes", None),
    ("ProductAvailability / bytes", "availability", "availability-bytes", 0.25),
]
MAX_STORE_MS = 1.0  # issue 17: a store-touching query costs at most 1 ms more than `{ __typename }`


# --- the peer -------------------------------------------------------------------------------


def prepare_vendure(source: Path, directory: Path) -> None:
    """Copy the peer's folder (read-only) to `directory` once, then its setup and populate, once."""
    if not (source / "run.sh").is_file():
        raise SystemExit(f"no Vendure peer at {source} (--vendure-source)")
    directory.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if item.is_file():
            target = directory / item.name
            if not target.exists() or target.read_bytes() != item.read_bytes():
                print(f"  copying {item} to {target}")
                target.unlink(missing_ok=True)
                shutil.copyfile(item, target)
                target.chmod(0o755 if os.access(item, os.X_OK) else 0o644)
    env = {**os.environ, **VENDURE_ENV}
    if not (directory / "node_modules/@vendure/core").is_dir():
        print(f"  {directory}: run.sh setup (npm install, a venv, wrk; a few minutes the first time)")
    _run_logged(["bash", "run.sh", "setup"], directory, env, directory / "setup.log")
    if not (directory / POPULATED).exists():
        print(f"  {directory}: run.sh populate (~30 s, once)")
        _run_logged(["bash", "run.sh", "populate"], directory, env, directory / "populate-run.log")
        (directory / POPULATED).write_text(datetime.now(UTC).isoformat() + "\n")


def _run_logged(command: list[str], cwd: Path, env: dict[str, str], log: Path) -> None:
    with log.open("wb") as out:
        done = subprocess.run(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode:
        raise SystemExit(f"{shlex.join(command)} failed in {cwd} ({log}):\n{log.read_text()[-4000:]}")


@contextlib.contextmanager
def vendure(directory: Path, port: int, core: str) -> Iterator[subprocess.Popen[bytes]]:
    """Vendure as its `run.sh start` serves it (the two baselines of run.sh are not started)."""
    env = {**os.environ, **VENDURE_ENV, "NODE_ENV": "production", "VENDURE_PORT": str(port)}
    log_path = directory / "server.log"
    with log_path.open("wb") as log:
        command = ["taskset", "-c", core, "node", "server.js"]
        process = subprocess.Popen(command, cwd=directory, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise SystemExit(f"Vendure exited:\n{log_path.read_text()[-4000:]}")
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break  # any HTTP answer (its root is a 404): listening
            if time.monotonic() > deadline:
                raise SystemExit(f"Vendure did not start:\n{log_path.read_text()[-4000:]}")
            time.sleep(0.5)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the gateway ----------------------------------------------------------------------------


async def seed(database_url: str) -> None:
    """Migrate and seed the demo network and catalogue (what `ordergate serve` starts with)."""
    async with bootstrap.opened(Settings(database_url=database_url, outbox_relay=False)):
        pass


def catalog_body(first: int) -> dict[str, Any]:
    registered = {op.name: op.body for op in load_operations([OPERATIONS_DIR]).values()}
    return {"query": registered["Catalog"], "operationName": "Catalog", "variables": {"first": first}}


def availability_body() -> dict[str, Any]:
    registered = {op.name: op.body for op in load_operations([OPERATIONS_DIR]).values()}
    return {
        "query": registered["ProductAvailability"],
        "operationName": "ProductAvailability",
        "variables": {"skus": SKUS, "destination": DESTINATION},
    }


def _data(answer: httpx.Response, what: str) -> dict[str, Any]:
    body = answer.json()
    if answer.status_code != 200 or body.get("errors") or not isinstance(body.get("data"), dict):
        raise SystemExit(f"{what}: HTTP {answer.status_code}\n{answer.text[:2000]}")
    data: dict[str, Any] = body["data"]
    return data


def prepare_bodies(
    directory: Path, vendure_dir: Path, gateway: str, vendure_url: str, token: str, listing_destination: bool
) -> dict[str, int]:
    """Write every case's request body, check every answer once, keep the floors' bytes.
    Returns the size in bytes of each case's answer."""
    vendure_body = json.loads((vendure_dir / "products.json").read_text())
    vendure_typename = json.loads((vendure_dir / "typename.json").read_text())
    headers = {"Authorization": f"Bearer {token}"}
    sizes: dict[str, int] = {}
    with httpx.Client(timeout=60) as client:
        answer = client.post(vendure_url, json=vendure_body)
        items = _data(answer, "Vendure products")["products"]["items"]
        if len(items) != PAGE:
            raise SystemExit(f"Vendure answered {len(items)} products, not {PAGE}")
        sizes["vendure"] = len(answer.content)
        answer = client.post(vendure_url, json=vendure_typename)
        _data(answer, "Vendure { __typename }")
        sizes["vendure-tn"] = len(answer.content)

        catalog = catalog_body(PAGE)
        answer = client.post(f"{gateway}/graphql", json=catalog, headers=headers)
        edges = _data(answer, "Catalog")["products"]["edges"]
        if len(edges) != PAGE:
            raise SystemExit(f"ordergate's Catalog answered {len(edges)} products, not {PAGE}: seed more")
        catalog_bytes = answer.content
        print(f"  Catalog extensions: {answer.json().get('extensions')}")
        skus = [edge["node"]["sku"] for edge in edges]

        listing = {
            "query": LISTING,
            "operationName": "ListingPage",
            "variables": {
                "first": PAGE,
                "skus": skus,
                "destination": DESTINATION if listing_destination else None,
            },
        }
        answer = client.post(f"{gateway}/graphql", json=listing, headers=headers)
        data = _data(answer, "listing page")
        if len(data["products"]["edges"]) != PAGE or len(data["availability"]) != PAGE:
            raise SystemExit(f"the listing page is not {PAGE} products with their availability")
        sizes["listing"] = len(answer.content)

        typename = {"query": TYPENAME}
        answer = client.post(f"{gateway}/graphql", json=typename, headers=headers)
        if _data(answer, "{ __typename }") != {"__typename": "Query"}:
            raise SystemExit(f"{{ __typename }}: {answer.text}")
        sizes["typename"] = len(answer.content)

        catalog_1 = catalog_body(1)
        answer = client.post(f"{gateway}/graphql", json=catalog_1, headers=headers)
        if len(_data(answer, "Catalog(first: 1)")["products"]["edges"]) != 1:
            raise SystemExit(f"Catalog(first: 1): {answer.text}")
        sizes["seq-catalog"] = len(answer.content)
        sizes["seq-typename"] = sizes["typename"]

        availability = availability_body()
        answer = client.post(f"{gateway}/graphql", json=availability, headers=headers)
        if len(_data(answer, "ProductAvailability")["availability"]) != len(SKUS):
            raise SystemExit(f"ProductAvailability: {answer.text[:2000]}")
        availability_bytes = answer.content

        for name, kept in (("catalog", catalog_bytes), ("availability", availability_bytes)):
            client.post(f"{gateway}/bench/keep/{name}", content=kept).raise_for_status()
            served = client.post(f"{gateway}/bench/bytes/{name}", content=b"{}")
            if served.status_code != 200 or served.content != kept:
                raise SystemExit(f"/bench/bytes/{name} does not serve the kept answer")
            sizes[name] = sizes[f"{name}-bytes"] = len(kept)

    files = {
        "vendure.json": vendure_body,
        "vendure-typename.json": vendure_typename,
        "catalog.json": catalog,
        "catalog-1.json": catalog_1,
        "listing.json": listing,
        "typename.json": typename,
        "availability.json": availability,
    }
    for file, body in files.items():
        (directory / file).write_text(json.dumps(body))
    return sizes


# --- measuring ------------------------------------------------------------------------------


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def environment(args: argparse.Namespace, vendure_dir: Path) -> None:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("[")[0]
    node_version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    vendure_version = json.loads((vendure_dir / "node_modules/@vendure/core/package.json").read_text())[
        "version"
    ]
    packages = ", ".join(f"{p} {version(p)}" for p in PACKAGES)
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"date       {datetime.now(UTC).isoformat(timespec='seconds')}")
    print(f"host       {platform.node()} {platform.platform()}; {os.cpu_count()} cores: {cpu}")
    print(f"           load average before the run: {' '.join(load)} (the machine is shared)")
    print(f"python     {sys.version.split()[0]}; {packages}; {wrk_version.strip()}")
    print(f"peer       Vendure {vendure_version} on node {node_version}, {vendure_dir}, NODE_ENV=production")
    print(
        f"servers    both pinned to core {args.server_core}: uvicorn (uvloop, httptools, SQLite file), node"
    )
    print(f"load       wrk -t1 -c{args.connections} -d{args.seconds}s pinned to core {args.client_core}")
    print("settings   " + " ".join(f"{k}={v}" for k, v in SERVER_ENV.items()) + "; access log off; GC tuned")
    print(f"           ORDERGATE_ANSWER_CACHE_ENTRIES={args.kept_answers} (0: no answer kept)")
    where = f"destination {DESTINATION}" if args.listing_destination else "no destination"
    print(f"listing    availability of the page's {PAGE} SKUs with {where}")


def measure(
    case: Case,
    args: argparse.Namespace,
    directory: Path,
    urls: dict[bool, str],
    pids: dict[bool, int],
    token: str,
    connections: int,
    seconds: int,
) -> Run:
    run_args = argparse.Namespace(connections=connections, seconds=seconds)
    url = urls[case.vendure] + case.path
    return wrk(
        args.client_core,
        url,
        directory / "post.lua",
        directory / case.body,
        "" if case.vendure else token,
        run_args,
        pids[case.vendure],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8, help="as the peer's run.sh")
    parser.add_argument(
        "--warmup", type=int, default=5, help="seconds per case before the rounds (Vendure's twice: its JIT)"
    )
    parser.add_argument("--seq-seconds", type=int, default=3, help="each sequential run, per round")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--vendure-port", type=int, default=3010)
    parser.add_argument("--vendure-source", type=Path, default=VENDURE_SOURCE)
    parser.add_argument("--vendure-dir", type=Path, default=VENDURE_DIR)
    parser.add_argument("--server-core", default="0")
    parser.add_argument("--client-core", default="1")
    parser.add_argument(
        "--listing-destination", action="store_true", help="the listing's availability with a destination"
    )
    parser.add_argument(
        "--kept-answers",
        type=int,
        default=2048,
        help="ORDERGATE_ANSWER_CACHE_ENTRIES for the gateway (0: every answer made by GraphQL)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    print("command    " + shlex.join([".venv/bin/python", "bench/peer.py", *sys.argv[1:]]))
    vendure_dir = args.vendure_dir.expanduser().resolve()
    if vendure_dir.is_relative_to(ROOT) or vendure_dir.is_relative_to(args.vendure_source.resolve()):
        raise SystemExit("--vendure-dir must be outside the repository and the peer's read-only folder")
    prepare_vendure(args.vendure_source, vendure_dir)
    environment(args, vendure_dir)

    for port in (args.port, args.vendure_port):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            raise SystemExit(f"something already listens on 127.0.0.1:{port}: stop it or choose another port")
    directory = Path(tempfile.mkdtemp(prefix="ordergate-peer-bench-"))
    try:
        results = measure_all(args, vendure_dir, directory)
    except BaseException:
        print(f"the run's files (server log, bodies) are kept in {directory}", file=sys.stderr)
        raise
    report(results, args)
    shutil.rmtree(directory, ignore_errors=True)


def measure_all(args: argparse.Namespace, vendure_dir: Path, directory: Path) -> dict[str, list[Run]]:
    database_url = f"sqlite+aiosqlite:///{directory}/bench.db"
    asyncio.run(seed(database_url))
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env.update(SERVER_ENV, DATABASE_URL=database_url, ORDERGATE_ANSWER_CACHE_ENTRIES=str(args.kept_answers))
    token = mint_token(Settings(), role=Role.STOREFRONT, now=datetime.now(UTC), subject="bench-storefront")
    (directory / "post.lua").write_text(LUA)
    gateway = f"http://127.0.0.1:{args.port}"
    peer = f"http://127.0.0.1:{args.vendure_port}"
    results: dict[str, list[Run]] = {c.name: [] for c in CASES + SEQUENTIAL}
    log = directory / "server.log"
    with (
        vendure(vendure_dir, args.vendure_port, args.server_core) as node,
        server(env, args.port, args.server_core, log, script="bench/peer_server.py") as uvicorn,
    ):
        sizes = prepare_bodies(
            directory, vendure_dir, gateway, f"{peer}/shop-api", token, args.listing_destination
        )
        print("answers    " + ", ".join(f"{name} {size:,} B" for name, size in sizes.items()))
        urls, pids = {True: peer, False: gateway}, {True: node.pid, False: uvicorn.pid}
        for case in CASES + SEQUENTIAL:  # warm-up, not recorded; Node's JIT twice
            for _ in range(2 if case.vendure else 1):
                connections = 1 if case in SEQUENTIAL else args.connections
                measure(case, args, directory, urls, pids, token, connections, args.warmup)
        rss_before = rss_mib(node.pid), rss_mib(uvicorn.pid)
        for round_ in range(args.rounds):
            shift = round_ % len(CASES)
            for case in CASES[shift:] + CASES[:shift]:
                run = measure(case, args, directory, urls, pids, token, args.connections, args.seconds)
                results[case.name].append(run)
                _print_run(round_, case, run)
            for case in SEQUENTIAL if round_ % 2 == 0 else SEQUENTIAL[::-1]:
                run = measure(case, args, directory, urls, pids, token, 1, args.seq_seconds)
                results[case.name].append(run)
                _print_run(round_, case, run)
        rss_after = rss_mib(node.pid), rss_mib(uvicorn.pid)
    print(
        f"\nRSS after warm-up / after the rounds: Vendure {rss_before[0]:.0f} / {rss_after[0]:.0f} MiB, "
        f"ordergate {rss_before[1]:.0f} / {rss_after[1]:.0f} MiB"
    )
    return results


def _print_run(round_: int, case: Case, run: Run) -> None:
    print(
        f"  round {round_ + 1} {case.name:<18} {run.rps:8.0f} req/s  p50 {run.p50_ms:7.2f} ms  "
        f"p99 {run.p99_ms:7.2f} ms  cpu {run.cpu_ms:6.3f} ms/req",
        flush=True,
    )


def _median(runs: list[Run], field: str) -> float:
    return float(statistics.median(getattr(r, field) for r in runs))


def report(results: dict[str, list[Run]], args: argparse.Namespace) -> None:
    print(
        f"\nMedians of {args.rounds} interleaved rounds ({args.seconds} s each, "
        f"wrk -t1 -c{args.connections}; sequential: -c1, {args.seq_seconds} s)\n"
    )
    print("| case | req/s | p50 ms | p99 ms | req/s spread | server CPU ms/req |")
    print("|---|---:|---:|---:|---:|---:|")
    noisy = []
    for case in CASES + SEQUENTIAL:
        runs = results[case.name]
        rps = [r.rps for r in runs]
        spread = (max(rps) - min(rps)) / statistics.median(rps)
        if spread > 0.15:
            noisy.append(case.name)
        print(
            f"| {case.name}: {case.title} | {statistics.median(rps):,.0f} | {_median(runs, 'p50_ms'):.2f} | "
            f"{_median(runs, 'p99_ms'):.2f} | {spread:.0%} | {_median(runs, 'cpu_ms'):.3f} |"
        )
    print("\n| ratio | by req/s | by CPU per request | aim |")
    print("|---|---:|---:|---|")
    for title, ours, theirs, aim in RATIOS:
        by_rps = _median(results[ours], "rps") / _median(results[theirs], "rps")
        by_cpu = _median(results[theirs], "cpu_ms") / _median(results[ours], "cpu_ms")
        verdict = f">= {aim:g}: {'met' if by_rps >= aim else 'NOT met'}" if aim is not None else ""
        print(f"| {title} | {by_rps:.3g} | {by_cpu:.3g} | {verdict} |")
    seq, tn = results["seq-catalog"], results["seq-typename"]
    p50 = _median(seq, "p50_ms") - _median(tn, "p50_ms")
    cpu = _median(seq, "cpu_ms") - _median(tn, "cpu_ms")
    per_round = [s.p50_ms - t.p50_ms for s, t in zip(seq, tn, strict=True)]
    verdict = "met" if p50 <= MAX_STORE_MS else "NOT met"
    print(
        f"\nSequential (1 connection): Catalog(first: 1) minus `{{ __typename }}`: p50 {p50:+.2f} ms "
        f"(per round {', '.join(f'{d:+.2f}' for d in per_round)}), CPU {cpu:+.3f} ms/req; "
        f"aim <= {MAX_STORE_MS:g} ms: {verdict}"
    )
    if noisy:
        print(f"req/s spread over 15% (QUALITY.md: rerun): {', '.join(noisy)}")


if __name__ == "__main__":
    main()

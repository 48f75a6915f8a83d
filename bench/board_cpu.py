"""CPU time per OrdersBoard (100 orders) in-process: GraphQL and the plain route.

    .venv/bin/python bench/board_cpu.py                    # 5 rounds x 40 boards each
    .venv/bin/python bench/board_cpu.py --rounds 7 --boards 60 --profile /tmp/board.txt

The app of `bench/graphql_http_server.py` (the real `create_app` plus the bench routes) over
the data of `bench/graphql_http.py` (100 placed orders, SQLite file), called through httpx's
ASGI transport, so no network and no load generator share the core. Each round times a batch of
`POST /graphql` (the contract's OrdersBoard, agent token) and a batch of `POST
/bench/plain/board`, alternating which goes first; `time.process_time` per request, medians of
the rounds. The collector is tuned as `ordergate serve` tunes it. `--profile` writes cProfile's
top functions of one more GraphQL batch.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.graphql_http import SERVER_ENV, request_bodies, seed  # noqa: E402
from bench.graphql_http_server import bench_app, bench_routes  # noqa: E402
from bench.in_process import served_in_process  # noqa: E402
from ordergate.auth import mint_token  # noqa: E402
from ordergate.models.identity import Role  # noqa: E402
from ordergate.settings import Settings  # noqa: E402


async def batch(client: httpx.AsyncClient, url: str, body: dict[str, object], boards: int) -> float:
    """CPU ms per request over `boards` requests."""
    started = time.process_time()
    for _ in range(boards):
        answer = client.post(url, json=body)
        response = await answer
        if response.status_code != 200 or "errors" in response.json():
            raise SystemExit(f"{url}: {response.status_code} {response.text[:400]}")
    return 1000 * (time.process_time() - started) / boards


async def measure(args: argparse.Namespace) -> str:
    """Prints the figures; returns the profile's text (empty without `--profile`)."""
    directory = Path(tempfile.mkdtemp(prefix="ordergate-board-cpu-"))
    database_url = f"sqlite+aiosqlite:///{directory}/bench.db"
    await seed(database_url)
    os.environ.update(SERVER_ENV, DATABASE_URL=database_url)
    for name in ("ORDERGATE_JWT_SECRET", "ORDERGATE_JWT_PUBLIC_KEY", "REDIS_URL"):
        os.environ.pop(name, None)
    settings = Settings.from_env()
    app, services = bench_app(settings)
    app.router.routes[:0] = bench_routes(services, settings)
    token = mint_token(settings, role=Role.AGENT, now=datetime.now(UTC), subject="bench-agent")
    body = request_bodies()["board"]
    urls = {"graphql": "/graphql", "plain": "/bench/plain/board"}
    async with served_in_process(app, token) as client:
        graphql = (await client.post("/graphql", json=body)).json()
        plain = (await client.post("/bench/plain/board", json=body)).json()
        if graphql.get("errors") or graphql["data"] != plain["data"]:
            raise SystemExit("GraphQL and the plain route differ")
        for url in urls.values():
            await batch(client, url, body, 10)  # warm-up
        times: dict[str, list[float]] = {kind: [] for kind in urls}
        for round_ in range(args.rounds):
            kinds = list(urls) if round_ % 2 == 0 else list(reversed(urls))
            for kind in kinds:
                times[kind].append(await batch(client, urls[kind], body, args.boards))
        for kind, values in times.items():
            shown = " ".join(f"{v:.2f}" for v in values)
            print(f"{kind:<8} median {statistics.median(values):6.2f} ms CPU per board  (rounds: {shown})")
        ratio = statistics.median(times["plain"]) / statistics.median(times["graphql"])
        print(f"graphql/plain by CPU per board: {ratio:.3f}")
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            await batch(client, urls[args.profile_kind], body, args.boards)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(60)
            return out.getvalue()
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--boards", type=int, default=40)
    parser.add_argument("--profile", help="write a cProfile summary of one more batch here")
    parser.add_argument("--profile-kind", choices=("graphql", "plain"), default="graphql")
    parser.add_argument("--sort", default="tottime")
    args = parser.parse_args()
    profile = asyncio.run(measure(args))
    if args.profile:
        Path(args.profile).write_text(profile)


if __name__ == "__main__":
    main()

"""CPU time per storefront read made afresh (no kept answer), in-process, against its own bytes.

    .venv/bin/python bench/listing_cpu.py                  # 5 rounds x 20 requests each
    .venv/bin/python bench/listing_cpu.py --rounds 7 --requests 40

What a storefront's listing and product pages cost when the answer is not kept: the first
request after any change to what it shows (during a sale, after every order). Kept answers are
off (`ORDERGATE_ANSWER_CACHE_ENTRIES=0`), so every request is executed by GraphQL. The app is
`bench/peer_server.py`'s (the real `create_app`, the bench routes and the floor of pre-serialised
bytes) over the data of `bench/graphql_http.py`, called through httpx's ASGI transport as
`bench/board_cpu.py` does. Two cases, each with its floor (the same answer's bytes, served by
the same app through the same middleware):

- listing: `bench/peer.py`'s listing page (Catalog's 20 products and their availability with a
  promise date each, no destination);
- availability: the contract's ProductAvailability of `bench/graphql_http.py`'s 5 SKUs with a
  destination.

Each round times a batch of each, alternating the order; `time.process_time` per request (the
SQLite thread included), medians of the rounds, and each case's floor/GraphQL ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.graphql_http import SERVER_ENV, request_bodies, seed  # noqa: E402
from bench.graphql_http_server import bench_app  # noqa: E402
from bench.in_process import served_in_process  # noqa: E402
from bench.peer import LISTING, PAGE  # noqa: E402
from bench.peer_server import floor_routes  # noqa: E402
from ordergate.auth import mint_token  # noqa: E402
from ordergate.models.identity import Role  # noqa: E402
from ordergate.settings import Settings  # noqa: E402


async def batch(client: httpx.AsyncClient, url: str, body: dict[str, Any], requests: int) -> float:
    """CPU ms per request over `requests` requests."""
    started = time.process_time()
    for _ in range(requests):
        response = await client.post(url, json=body)
        if response.status_code != 200 or b'"errors"' in response.content[:20]:
            raise SystemExit(f"{url}: {response.status_code} {response.text[:400]}")
    return 1000 * (time.process_time() - started) / requests


async def bodies(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    page = await client.post(
        "/graphql", json={"query": f"{{ products(first: {PAGE}) {{ edges {{ node {{ sku }} }} }} }}"}
    )
    skus = [edge["node"]["sku"] for edge in page.json()["data"]["products"]["edges"]]
    listing = {"query": LISTING, "variables": {"first": PAGE, "skus": skus, "destination": None}}
    return {"listing": listing, "availability": request_bodies()["availability"]}


async def measure(args: argparse.Namespace) -> None:
    directory = Path(tempfile.mkdtemp(prefix="ordergate-listing-cpu-"))
    database_url = f"sqlite+aiosqlite:///{directory}/bench.db"
    await seed(database_url)
    os.environ.update(SERVER_ENV, DATABASE_URL=database_url, ORDERGATE_ANSWER_CACHE_ENTRIES="0")
    for name in ("ORDERGATE_JWT_SECRET", "ORDERGATE_JWT_PUBLIC_KEY", "REDIS_URL"):
        os.environ.pop(name, None)
    settings = Settings.from_env()
    app, _services = bench_app(settings)
    app.router.routes[:0] = floor_routes()
    token = mint_token(settings, role=Role.STOREFRONT, now=datetime.now(UTC), subject="bench-storefront")
    async with served_in_process(app, token) as client:
        cases = await bodies(client)
        urls: dict[str, tuple[str, dict[str, Any]]] = {}
        for name, body in cases.items():
            answer = await client.post("/graphql", json=body)
            if answer.status_code != 200 or "errors" in answer.json():
                raise SystemExit(f"{name}: {answer.text[:400]}")
            await client.post(f"/bench/keep/{name}", content=answer.content)
            floor = await client.post(f"/bench/bytes/{name}", json=body)
            if floor.content != answer.content:
                raise SystemExit(f"{name}: the floor does not answer the kept bytes")
            urls[name] = ("/graphql", body)
            urls[f"{name}-bytes"] = (f"/bench/bytes/{name}", body)
            print(f"{name:<13} answer {len(answer.content):,} bytes")
        for url, body in urls.values():
            await batch(client, url, body, 5)  # warm-up
        times: dict[str, list[float]] = {kind: [] for kind in urls}
        for round_ in range(args.rounds):
            kinds = list(urls) if round_ % 2 == 0 else list(reversed(urls))
            for kind in kinds:
                url, body = urls[kind]
                times[kind].append(await batch(client, url, body, args.requests))
    for kind, values in times.items():
        shown = " ".join(f"{v:.3f}" for v in values)
        print(f"{kind:<19} median {statistics.median(values):7.3f} ms CPU per request  (rounds: {shown})")
    for name in cases:
        ratio = statistics.median(times[f"{name}-bytes"]) / statistics.median(times[name])
        print(f"{name}: bytes/GraphQL by CPU per request: {ratio:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=20)
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()

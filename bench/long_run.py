"""A long seeded walk over simulated weeks (`tests/simulation.py`): orders, holds, shipments,
handovers, rejections, short picks, cancellations, returns, purchase-order receipts, ERP
refreshes and relays, every invariant checked after every step.

    .venv/bin/python bench/long_run.py --steps 2000 --seed 7 --backend sqlite
    .venv/bin/python bench/long_run.py --steps 2000 --seed 7 --backend postgres   # 127.0.0.1:5432, db test
    .venv/bin/python bench/long_run.py --steps 2000 --seed 7 --backend postgres --replicas 2   # + Redis

With `--replicas N`, N gateways on the one database and Redis (`tests/gateways.py`), each request
to one of them, and every replica's availability checked after every step (`Walk.agreed`).

Prints the step mix, simulated days, steps per second, and either that every invariant held
or the first violation with its seed and step (exit code 1), to replay with the same seed.
A walk's ids are drawn from its seed (`tests.simulation.seeded_ids`), so a replay takes the same
steps until two moves that run at once (a race step, the relay's lanes) interleave otherwise:
`--trace FILE` writes a line per step (its number, move, orders so far, the generator's state
and checksums of the orders, their work and the stock: `Walk.digest`), and `diff` of two runs'
traces names the first step whose outcome differed. The carriers scan parcels as a step of the
walk (`carriers_scan`), and the walk runs on a fixed calendar (`simulation.WALK_STARTS`), so a
replay on another day meets the same dates.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

import asyncpg
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ordergate.bootstrap import Sandboxes
from ordergate.models.outbox import ERP_STOCK_REREAD
from ordergate.settings import Settings
from ordergate.usecases.services import Services
from tests.clock import moving
from tests.gateways import gateways
from tests.services import POSTGRES_URL
from tests.simulation import WALK_TICK, Violation, Walk, on_the_walk_calendar, seeded_ids

REDIS_URL = "redis://127.0.0.1:6379/12"  # `--replicas`: their broker (keys under the database's own id)


async def past_capacity(services: Services) -> int:
    """Routing decisions that took units from a full node (`models.routing.route`'s last resort)."""
    async with services.store.read() as uow:
        rows = await uow.session.execute(sa.text("SELECT candidates FROM routing_decisions"))
        return sum("so it is taken here" in str(candidates) for (candidates,) in rows)


async def rereads(services: Services) -> str:
    """ERP notices read once the skew had passed (a movement of ours too close to read them at
    once), by the relay: its reads, and the SKUs they covered."""
    async with services.store.read() as uow:
        tasks = await uow.outbox.by_kind(ERP_STOCK_REREAD)
    return f"{len(tasks)} reads of {sum(len(task.payload['skus']) for task in tasks)} SKUs"


def stepped(url: str, redis_url: str | None = None) -> Settings:
    """A gateway a bench drives step by step: no relay, no background loops, no budgets (the walk
    relays, partly and repeatedly, as one of its steps; a bench runs a loop's round itself)."""
    return Settings(
        database_url=url,
        outbox_relay=False,
        storefront_sync_seconds=0,
        storefront_availability_seconds=0,
        query_budget=0,
        backorder_seconds=0,
        redis_url=redis_url,
    )


async def walk(
    seed: int,
    steps: int,
    url: str,
    connect_args: dict[str, object],
    trace: TextIO | None = None,
    replicas: int = 1,
) -> int:
    settings = stepped(url, REDIS_URL if replicas > 1 else None)
    sandboxes = Sandboxes(tracking_in_real_time=False)  # the walk moves parcels: `carriers_scan`
    async with gateways(settings, url, dict(connect_args), sandboxes, replicas, seed) as served:
        services = served.services
        with moving(services, WALK_TICK) as clock:
            run = Walk(
                served.client,
                services,
                sandboxes,
                clock,
                seed,
                trace=trace,
                replicas=served.others,
                replica_clients=served.each,
            )
            started = time.perf_counter()
            try:
                await run.run(steps)
            except Violation as violation:
                print(f"VIOLATION {violation}")
                return 1
            elapsed = time.perf_counter() - started
            print(
                f"seed {seed}: {steps} steps over {clock.offset.days} simulated days in {elapsed:.1f} s "
                f"({steps / elapsed:.1f} steps/s), {len(run.orders)} orders"
            )
            print("  steps: " + ", ".join(f"{k} {n}" for k, n in run.kinds.most_common()))
            print("  held units lost: " + ", ".join(f"{k} {n}" for k, n in run.shortfalls.most_common()))
            katana = sandboxes.katana
            assert katana is not None
            print(
                f"  Katana's webhooks for changes made through its API (shipments, write-offs), held "
                f"and delivered as steps: {run.notices_delivered} (of them retries of deliveries not taken: "
                f"{katana.retries})"
            )
            print(f"  ERP notices read again once the allowed skew had passed: {await rereads(services)}")
            answered = katana.answered
            print(
                f"  Katana requests answered: {sum(answered.values())}; "
                + ", ".join(f"{k} {n}" for k, n in answered.most_common(6))
            )
            print(f"  routed to a node past its capacity for the day: {await past_capacity(services)} times")
            print(
                "  return labels (label, return): "
                + ", ".join(f"{k} {n}" for k, n in run.labels.most_common())
            )
            print(
                "  return parcels the carrier had, by their return's status: "
                + (", ".join(f"{k} {n}" for k, n in run.return_tracking.most_common() if n) or "none")
                + f"; expired returns awaited again, posted late: {run.reopened}"
            )
            print(f"  nodes whose closed ERP sales orders keep unwanted units (staff told): {run.erp_kept}")
            by = ", ".join(
                f"{carrier} {run.delivered[carrier]} of {n}" for carrier, n in sorted(run.shipped.items())
            )
            print(f"  shipments the carriers delivered (their webhooks): {by or 'none'}")
            print(
                f"  storefront sales past a line's 999 units, kept held: {run.oversized}; "
                f"trimmed by an agent after a refused release: {run.trimmed}"
            )
            pushes = ", ".join(f"{kind} {n}" for kind, n in run.pushes.items()) or "none"
            print(f"  storefront availability pushes (changed only, full, resent; levels sent): {pushes}")
            if served.others:
                lags = sorted(run.lags)
                print(
                    f"  {replicas} replicas: availability and the catalogue checked on each, every step; "
                    f"an answer that agreed only after waiting for the broker: {len(lags)} times"
                    + (f", the longest {lags[-1] * 1000:.0f} ms" if lags else "")
                )
            print("  every invariant held after every step")
    return 0


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--seed", type=int, action="append", help="repeat for several walks (default 1)")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="gateways on the one database and Redis (127.0.0.1:6379/12), each request to one of them; "
        "every replica's availability answer is checked after every step",
    )
    parser.add_argument(
        "--trace", type=Path, help="write a line per step here (each seed's walk after the last)"
    )
    args = parser.parse_args()
    failed = 0
    trace = args.trace.open("w") if args.trace else None
    try:
        for seed in args.seed or [1]:
            failed |= await walk_on(args.backend, seed, args.steps, trace, args.replicas)
    finally:
        if trace is not None:
            trace.close()
    return failed


async def walk_on(backend: str, seed: int, steps: int, trace: TextIO | None, replicas: int = 1) -> int:
    with on_the_walk_calendar(), seeded_ids(seed, "setup"):
        return await _walk_on(backend, seed, steps, trace, replicas)


async def _walk_on(backend: str, seed: int, steps: int, trace: TextIO | None, replicas: int) -> int:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            return await walk(seed, steps, f"sqlite+aiosqlite:///{folder}/walk.db", {}, trace, replicas)
    schema = f"walk_{secrets.token_hex(6)}"  # not a seeded id: two runs of a seed side by side
    admin = await asyncpg.connect(POSTGRES_URL.replace("postgresql+asyncpg", "postgresql"))
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        return await walk(
            seed, steps, POSTGRES_URL, {"server_settings": {"search_path": schema}}, trace, replicas
        )
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

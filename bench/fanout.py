"""Fan-out: N subscriptions to one order in one process, one event, how fast all of them have it.

    .venv/bin/python bench/fanout.py                      # N = 1,000 and 10,000, 3 rounds each
    .venv/bin/python bench/fanout.py --subscribers 1000 --rounds 5

Each subscriber is the resolver behind `orderEvents(orderId)` (`usecases.events.follow`): the
process's hub reads the log once and hands the event to each subscriber's bounded queue, and
each subscriber applies its own visibility check. The event is a real `holdOrder` committed to
an SQLite file; latency is from just before the commit until a subscriber has the event.

The baseline, measured in the same run and interleaved with it, is the ceiling for any
in-process fan-out: N tasks each waiting on a plain `asyncio.Queue`, all fed at once with no
database, no filtering and no commit. Ratios are ours over the baseline (1.0 would be free).
Rounds are interleaved (baseline, hub, baseline, hub, ...) and medians reported, because the
machine is shared and noisy. WebSocket framing is not included: see the note in
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from ordergate.models.address import Address

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ordergate import bootstrap
from ordergate.models.commands import (
    CustomerDetails,
    HoldOrder,
    LineRequest,
    PlaceOrder,
    ReleaseOrderHold,
)
from ordergate.models.events import OrderEvent
from ordergate.models.identity import Principal, Role
from ordergate.models.order import DeliveryMethod, HoldReason
from ordergate.settings import Settings
from ordergate.usecases import events, holds, orders
from ordergate.usecases.services import Services

ADMIN = Principal("bench", Role.ADMIN)
RAMP = 500


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def baseline(n: int) -> list[float]:
    queues: list[asyncio.Queue[float]] = [asyncio.Queue(1) for _ in range(n)]
    arrived: list[float] = []

    async def wait(queue: asyncio.Queue[float]) -> None:
        started = await queue.get()
        arrived.append(time.perf_counter() - started)

    waiting = [asyncio.create_task(wait(q)) for q in queues]
    await asyncio.sleep(0.2)
    started = time.perf_counter()
    for queue in queues:
        queue.put_nowait(started)
    await asyncio.gather(*waiting)
    return arrived


async def hub(services: Services, order_id: str, n: int, holding: bool) -> list[float]:
    started_at: list[float] = []
    arrived: list[float] = []
    streams: list[AsyncIterator[OrderEvent]] = []

    async def wait(stream: AsyncIterator[OrderEvent]) -> None:
        await anext(stream)
        arrived.append(time.perf_counter() - started_at[0])

    waiting: list[asyncio.Task[None]] = []
    for start in range(0, n, RAMP):  # clients connect over a moment, not all in one tick
        batch = [events.follow(services, ADMIN, order_id, None) for _ in range(min(RAMP, n - start))]
        streams += batch
        waiting += [asyncio.create_task(wait(s)) for s in batch]
        for _ in range(6000):  # until each is live (waiting on the hub): at most 5 min
            if services.hub.live_count >= len(streams):
                break
            await asyncio.sleep(0.05)
    started_at.append(time.perf_counter())
    if holding:
        await holds.hold_order(services, ADMIN, HoldOrder(order_id=order_id, reason=HoldReason.OTHER))
    else:
        await holds.release_order_hold(services, ADMIN, ReleaseOrderHold(order_id=order_id))
    await asyncio.wait_for(asyncio.gather(*waiting), 120)
    for stream in streams:
        await stream.aclose()  # type: ignore[attr-defined]
    return arrived


async def main(sizes: list[int], rounds: int) -> None:
    directory = tempfile.mkdtemp(prefix="ordergate-bench-")
    settings = Settings(database_url=f"sqlite+aiosqlite:///{directory}/bench.db", outbox_relay=False)
    async with bootstrap.opened(settings) as services:
        await measure(services, sizes, rounds)


async def measure(services: Services, sizes: list[int], rounds: int) -> None:
    order = await orders.place_order(
        services,
        ADMIN,
        PlaceOrder(
            idempotency_key="bench",
            channel="web",
            customer=CustomerDetails(email="bench@example.com"),
            lines=(LineRequest("MUG-BLUE", 1),),
            delivery_method=DeliveryMethod.SHIP,
            shipping_address=Address("Bench", "500 Congress Ave", "Austin", "78701", "US", region="TX"),
        ),
    )
    print(f"python {sys.version.split()[0]}, SQLite file, one process; {rounds} interleaved rounds per size")
    print(
        f"{'N':>7} {'what':<9} {'delivered':>9} {'p50 ms':>8} {'p99 ms':>8} {'p50 ratio':>9} {'p99 ratio':>9}"
    )
    holding = True
    for n in sizes:
        base_p50: list[float] = []
        base_p99: list[float] = []
        ours_p50: list[float] = []
        ours_p99: list[float] = []
        delivered: list[int] = []
        for _ in range(rounds):
            base = await baseline(n)
            base_p50.append(percentile(base, 0.5))
            base_p99.append(percentile(base, 0.99))
            got = await hub(services, order.id, n, holding)
            holding = not holding
            delivered.append(len(got))
            ours_p50.append(percentile(got, 0.5))
            ours_p99.append(percentile(got, 0.99))
        b50, b99 = statistics.median(base_p50), statistics.median(base_p99)
        o50, o99 = statistics.median(ours_p50), statistics.median(ours_p99)
        print(f"{n:>7} {'baseline':<9} {n:>9} {b50 * 1000:>8.2f} {b99 * 1000:>8.2f} {'':>9} {'':>9}")
        print(
            f"{n:>7} {'hub':<9} {min(delivered):>9} {o50 * 1000:>8.2f} {o99 * 1000:>8.2f} "
            f"{o50 / b50:>9.1f} {o99 / b99:>9.1f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.subscribers, args.rounds))

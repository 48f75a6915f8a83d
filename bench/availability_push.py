"""CPU per storefront availability push in a busy hour, against working out every level.

    .venv/bin/python bench/availability_push.py --extra 2000 --rounds 5 --orders 20

One gateway's services in this process (an SQLite file; the Katana and BigCommerce sandboxes
in-process, their rate limits lifted), the demo catalogue plus `--extra` products that the ERP
stocks at the three distribution centres, the storefront lists and our catalogue sells. Each
round places `--orders` orders one after another (two SKUs each, through the use case), each
followed by a push, twice: with the pusher as `ordergate serve` runs it (`AvailabilityPusher`,
which works out what changed), and with one that works out every level at every push
(`full_every=0`: what every push did before). Rounds alternate which goes first. The figure is
the CPU time (`time.process_time`) of the pushes alone, per push, median of the rounds; both
push the same levels (each checks the storefront's figure for the orders' SKUs equals ours).
The pusher's clock moves 2 s per push, as its loop does while orders keep coming (it waits for
a commit's wake-up and lets the burst settle 2 s), so it works out every level each 15th push
(`ORDERGATE_STOREFRONT_AVAILABILITY_SECONDS`, 30): the figure includes those full pushes.

The ERP re-reads stock on its own TTL whichever way the storefront is told, so the TTL is an
hour here: a re-read falling due mid-round would land on whichever pusher came first.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.graphql_http import bench_order  # noqa: E402
from ordergate import bootstrap  # noqa: E402
from ordergate.bootstrap import Sandboxes  # noqa: E402
from ordergate.models.catalog import Product  # noqa: E402
from ordergate.models.identity import Principal, Role  # noqa: E402
from ordergate.sandbox.bigcommerce import BigCommerceSandbox  # noqa: E402
from ordergate.sandbox.katana import KatanaSandbox  # noqa: E402
from ordergate.sandbox.seed import demo_locations  # noqa: E402
from ordergate.settings import Settings  # noqa: E402
from ordergate.usecases import catalog, orders  # noqa: E402
from ordergate.usecases.inventory import availability, refresh_stock  # noqa: E402
from ordergate.usecases.services import Services  # noqa: E402
from ordergate.usecases.storefront import importer  # noqa: E402
from ordergate.workers.pushers import AvailabilityPusher  # noqa: E402

DCS = ("DC-DFW", "DC-EWR", "DC-ONT")
PLENTIFUL = ["MUG-BLUE", "MUG-WHITE", "BOWL-SET-4", "PLATE-DINNER"]  # what is ordered with no --extra


SETTLE_SECONDS = 2.0  # the push loop's pause after a wake-up (`workers.loops`)


class Clock:
    """The pusher's clock, moved by the bench: one settle per push."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def extra_skus(count: int) -> list[str]:
    return [f"BENCH-{n:05d}" for n in range(count)]


def sandboxes_with(skus: list[str]) -> Sandboxes:
    katana = KatanaSandbox(rate_limit=10**9)
    bigcommerce = BigCommerceSandbox(rate_limit=10**9)
    for sku in skus:
        variant = katana.add_variant(sku, f"Bench item {sku}", Decimal("9.00"))
        for code in DCS:
            katana.inventory[(variant.id, katana.locations[code])] = Decimal(1_000_000)
        bigcommerce.add_product(sku, f"Bench item {sku}", Decimal("9.00"))
    return Sandboxes(katana=katana, bigcommerce=bigcommerce)


async def add_to_catalogue(services: Services, skus: list[str]) -> None:
    now = datetime.now(UTC)
    products = [
        Product(
            sku=sku,
            name=f"Bench item {sku}",
            price=Decimal("9.00"),
            currency=services.policy.currency,
            created_at=now,
            updated_at=now,
        )
        for sku in skus
    ]
    await catalog.seed(services, products, demo_locations())
    for start in range(0, len(skus), services.policy.max_skus_per_query):
        await refresh_stock(services, skus[start : start + services.policy.max_skus_per_query])


async def round_of(
    services: Services,
    bigcommerce: BigCommerceSandbox,
    pusher: AvailabilityPusher,
    skus: list[str],
    orders_per_round: int,
    first: int,
) -> float:
    """CPU ms per push over `orders_per_round` orders, each followed by a push."""
    admin = Principal("bench", Role.ADMIN)
    spent = 0.0
    for n in range(first, first + orders_per_round):
        pair = (skus[n % len(skus)], skus[(n * 7 + 3) % len(skus)])
        await orders.place_order(
            services, admin, bench_order(f"push-bench-{n}", pair, f"buyer{n % 50}@example.com")
        )
        started = time.process_time()
        await pusher.push(services)
        spent += time.process_time() - started
        if isinstance(pusher.timer, Clock):
            pusher.timer.now += SETTLE_SECONDS
        await agrees(services, bigcommerce, pair)
    return 1000 * spent / orders_per_round


async def agrees(services: Services, bigcommerce: BigCommerceSandbox, skus: tuple[str, ...]) -> None:
    """The storefront's figure for these SKUs at the three DCs is ours."""
    storefront = services.storefront
    assert storefront is not None
    theirs = {loc.code: loc.id for loc in await storefront.locations() if loc.enabled}
    for stock in await availability(services, importer(storefront), list(dict.fromkeys(skus))):
        for row in stock.locations:
            if row.location.code in DCS:
                shown = bigcommerce.available.get((stock.sku, theirs[row.location.code]))
                if shown != row.available:
                    raise SystemExit(
                        f"{stock.sku} at {row.location.code}: storefront {shown}, ours {row.available}"
                    )


async def measure(args: argparse.Namespace) -> None:
    directory = Path(tempfile.mkdtemp(prefix="ordergate-push-"))
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{directory}/bench.db",
        outbox_relay=False,
        storefront_sync_seconds=0,
        storefront_availability_seconds=0,
    )
    skus = extra_skus(args.extra)
    sandboxes = sandboxes_with(skus)
    bigcommerce = sandboxes.bigcommerce
    assert bigcommerce is not None
    async with bootstrap.opened(settings, None, sandboxes) as services:
        services.policy = dataclasses.replace(services.policy, stock_ttl=timedelta(hours=1))
        await add_to_catalogue(services, skus)
        async with services.store.read() as uow:
            catalogue = len(await uow.catalog.active_skus())
        clock = Clock()
        changed = AvailabilityPusher(timer=clock)
        every = AvailabilityPusher(full_every=0)
        await changed.push(services)
        await every.push(services)
        times: dict[str, list[float]] = {"changed only": [], "every level": []}
        placed = 0
        for round_ in range(args.rounds):
            kinds = [("changed only", changed), ("every level", every)]
            for name, pusher in kinds if round_ % 2 == 0 else reversed(kinds):
                ordered = skus or PLENTIFUL
                times[name].append(
                    await round_of(services, bigcommerce, pusher, ordered, args.orders, placed)
                )
                placed += args.orders
        print(
            f"catalogue: {catalogue} active SKUs; {args.rounds} rounds of {args.orders} orders, "
            "a push after each"
        )
        for name, values in times.items():
            shown = " ".join(f"{v:.2f}" for v in values)
            print(f"{name:<13} median {statistics.median(values):8.2f} ms CPU per push  (rounds: {shown})")
        ratio = statistics.median(times["every level"]) / statistics.median(times["changed only"])
        print(f"every level / changed only: {ratio:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--extra", type=int, default=2000, help="products beyond the demo catalogue")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--orders", type=int, default=20)
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()

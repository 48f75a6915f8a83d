"""What the backorder loop's round costs where a count left a store short and nothing can move.

    .venv/bin/python bench/shortfall_sweep.py [--pickups 100] [--rounds 5]

One gateway in this process on SQLite (as the walk builds it: the sandboxes in-process, no relay,
no loops).
`--pickups` pickup orders of one towel pair each wait at Chicago; the ERP's count then finds one
pair fewer than they hold, and says so. No other node can take a pickup, so every one of them
stays where it is: the notice's pass tries 25, the loop's rounds the rest.

Then the round (`workers.loops.stock_pass`: the waiting lines, then the shortfall sweep) runs
`--rounds` times as it runs every 30 s, alternating two ways: as it is (orders that could not move
lately are left for `STUCK_FOR`), and with that memory emptied before each round (every order tried
again, a write transaction apiece, as each round did before the memory). Prints the CPU time
(user and system) per round of each, the medians, and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.long_run import stepped  # noqa: E402
from ordergate.bootstrap import Sandboxes  # noqa: E402
from ordergate.usecases.services import Services  # noqa: E402
from ordergate.workers.loops import stock_pass  # noqa: E402
from tests.builders import a_token  # noqa: E402
from tests.contract import operation  # noqa: E402
from tests.gateways import gateways  # noqa: E402
from tests.graphql_client import execute  # noqa: E402

SKU, STORE = "TOWEL-LINEN-2", "ST-CHI"


def cpu() -> float:
    return time.process_time()  # user and system, finer than os.times' clock ticks


async def pickups(client: httpx.AsyncClient, count: int) -> None:
    for _ in range(count):
        order = {
            "idempotencyKey": f"sweep-{uuid.uuid4()}",
            "channel": "web",
            "customer": {"email": "ann@example.com", "firstName": "Ann", "lastName": "Lee"},
            "lines": [{"sku": SKU, "quantity": 1}],
            "deliveryMethod": "PICKUP",
            "pickupLocationId": STORE,
        }
        body = await execute(client, operation("PlaceOrder"), {"input": order}, token=a_token("agent"))
        assert body["data"]["placeOrder"]["userErrors"] == [], body


async def timed_round(services: Services, forget: bool) -> float:
    if forget:
        services.stuck_lately = type(services.stuck_lately)(services.stuck_lately.window)
    started = cpu()
    await stock_pass(services)
    return (cpu() - started) * 1000


async def run(url: str, count: int, rounds: int) -> None:
    sandboxes = Sandboxes(tracking_in_real_time=False)
    async with gateways(stepped(url), url, {}, sandboxes) as served:
        katana = sandboxes.katana
        assert katana is not None
        await katana.set_on_hand(SKU, STORE, count + 50)  # room for every pickup, announced
        await pickups(served.client, count)
        await katana.set_on_hand(SKU, STORE, count - 1)  # a count finds one pair gone
        await stock_pass(served.services)  # the rest of the notice's work: every pickup tried once
        kept, again = [], []
        for _ in range(rounds):
            kept.append(await timed_round(served.services, forget=False))
            again.append(await timed_round(served.services, forget=True))
        print(f"{count} pickups at {STORE}, one pair missing; {rounds} rounds each, alternated")
        print("  left lately (as built), ms of CPU per round: " + ", ".join(f"{t:.1f}" for t in kept))
        print("  every order tried again, ms of CPU per round: " + ", ".join(f"{t:.1f}" for t in again))
        low, high = statistics.median(kept), statistics.median(again)
        print(f"  medians {low:.1f} against {high:.1f} ms: {high / low:.0f} times less CPU with the memory")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pickups", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(f"sqlite+aiosqlite:///{folder}/sweep.db", args.pickups, args.rounds))
    print(f"  ({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    main()

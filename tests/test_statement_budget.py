"""SQL statements and upstream requests per contract operation, held to a budget table.

Each list-shaped operation runs at sizes 2, 20 and 100 (orders on the board, fulfilment orders
in a queue, customers, SKUs asked for, lines on an order). For one request we count the SQL
statements sent on the store's engines (`before_cursor_execute`, connection PRAGMAs left out)
and the upstream attempts per upstream (`ordergate_upstream_requests_total`, which every
connector's shared client increments). The counts must be the same at every size, so an N+1 is
a failing test, and equal to `tests/budgets/statements.json`, per backend.

How one request is measured, so that counts are deterministic: it is sent once to warm what a
running gateway has warm (connection pool, Katana's SKU -> variant id cache), then the stock
freshness caches (`services.freshness`, TTLs of 15 s and 5 min) are cleared, so the measured
request reads the ERP as the first shopper after a TTL would: the worst case, every time.

When a count changes on purpose, rewrite the table and review its diff:

    ORDERGATE_UPDATE_BUDGETS=1 .venv/bin/pytest tests/test_statement_budget.py

(it still fails when the counts differ between sizes: an N+1 is never written into the table).
`-s` prints what was measured; `ORDERGATE_SHOW_STATEMENTS=1` also prints each statement.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from ordergate import metrics
from ordergate.bootstrap import SANDBOX_WEBHOOK_SECRET, Sandboxes
from ordergate.models.catalog import Product
from ordergate.sandbox.katana import KatanaSandbox, Variant
from ordergate.usecases import catalog
from ordergate.usecases.services import Services
from tests.builders import a_line, a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import execute

BUDGETS = Path(__file__).parent / "budgets" / "statements.json"
UPDATE = os.environ.get("ORDERGATE_UPDATE_BUDGETS") == "1"
SHOW = os.environ.get("ORDERGATE_SHOW_STATEMENTS") == "1"
SIZES = (2, 20, 100)
AUSTIN = {"countryCode": "US", "postalCode": "78701"}
STOCKED_AT = "DC-EWR"

ADMIN = a_token("admin")
AGENT = a_token("agent")
STOREFRONT = a_token("storefront")

# Not in the contract: the agents' customer list (`Query.customers`), as a support tool asks it.
CUSTOMERS = """
query Customers($first: Int!) {
  customers(first: $first) {
    edges { node { id email displayName orderCount lifetimeValue { amount currency } } }
  }
}
"""
# Not in the contract either: the staff's network KPIs, added up in the database.
NETWORK_METRICS = """
query NetworkMetrics($day: Date!) {
  networkMetrics(from: $day, to: $day, groupBy: CHANNEL) {
    totals { orders units revenue { amount } orderToShip { p50Seconds } stockOutRefusals }
    rows { channel orders }
  }
}
"""


@dataclass
class Cost:
    sql: int = 0
    upstream: Counter[str] = field(default_factory=Counter)
    statements: list[str] = field(default_factory=list)

    def entry(self) -> dict[str, Any]:
        return {"sql": self.sql, "upstream": dict(sorted(self.upstream.items()))}


def _upstream_attempts() -> Counter[str]:
    attempts: Counter[str] = Counter()
    for family in metrics.UPSTREAM_REQUESTS.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                attempts[sample.labels["upstream"]] += int(sample.value)
    return attempts


@contextmanager
def counting(services: Services) -> Iterator[Cost]:
    cost = Cost()
    engines = {services.store.read_engine.sync_engine, services.store.write_engine.sync_engine}

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith("PRAGMA"):
            cost.sql += 1
            cost.statements.append(" ".join(statement.split())[:160])

    before = _upstream_attempts()
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield cost
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)
        cost.upstream = +(_upstream_attempts() - before)


class Ledger:
    """What each operation cost at each size, checked against (or written into) the table."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.measured: dict[str, dict[int, Cost]] = {}

    async def measure(
        self,
        services: Services,
        client: httpx.AsyncClient,
        name: str,
        size: int,
        query: str,
        variables: dict[str, Any],
        token: str,
    ) -> dict[str, Any]:
        await self._send(client, query, variables, token)  # warm: pool, parser, variant ids
        services.freshness.stock_read_at.clear()
        services.freshness.incoming_read_at.clear()
        services.views.drop_all()  # the store's cost: what a view keeps is tested in test_views.py
        services.storefront_customers.clear()  # the storefront's: kept ones in test_kept_customers.py
        with counting(services) as cost:
            data = await self._send(client, query, variables, token)
        self.measured.setdefault(name, {})[size] = cost
        return data

    @staticmethod
    async def _send(
        client: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str
    ) -> dict[str, Any]:
        body = await execute(client, query, variables, token=token)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    def check(self) -> None:
        table = json.loads(BUDGETS.read_text()) if BUDGETS.exists() else {}
        expected: dict[str, Any] = table.get(self.backend, {})
        report = []
        for name, by_size in sorted(self.measured.items()):
            entries = {size: cost.entry() for size, cost in by_size.items()}
            report.append(f"{name}: " + ", ".join(f"{s} -> {e}" for s, e in entries.items()))
        print(f"\n[{self.backend}] measured per request:\n  " + "\n  ".join(report))
        if SHOW:
            for name, by_size in sorted(self.measured.items()):
                print(f"{name} at {SIZES[0]}:\n    " + "\n    ".join(by_size[SIZES[0]].statements))

        for name, by_size in self.measured.items():
            first = by_size[SIZES[0]]
            for size, cost in by_size.items():
                assert cost.entry() == first.entry(), (
                    f"{name} costs more at {size} than at {SIZES[0]} (an N+1?): "
                    f"{first.entry()} vs {cost.entry()}; statements at {size}:\n" + "\n".join(cost.statements)
                )
        if UPDATE:
            expected.update({name: by_size[SIZES[0]].entry() for name, by_size in self.measured.items()})
            table[self.backend] = dict(sorted(expected.items()))
            BUDGETS.parent.mkdir(exist_ok=True)
            BUDGETS.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n")
            return
        for name, by_size in self.measured.items():
            assert name in expected, (
                f"{name} has no budget for {self.backend} in {BUDGETS.name}; "
                "run with ORDERGATE_UPDATE_BUDGETS=1 to record it"
            )
            assert by_size[SIZES[0]].entry() == expected[name], (
                f"{name} on {self.backend}: measured {by_size[SIZES[0]].entry()}, budget {expected[name]} "
                f"({BUDGETS.name}); if the change is intended, rerun with ORDERGATE_UPDATE_BUDGETS=1. "
                "Statements:\n" + "\n".join(by_size[SIZES[0]].statements)
            )


@pytest.fixture
def sandboxes() -> Sandboxes:
    # The sandbox ERP's 60-a-minute limit would make later requests wait or retry (a 429 is one
    # more attempt): lifted, so the counts are what the gateway asks, not what the limit allows.
    return Sandboxes(katana=KatanaSandbox(webhook_token=SANDBOX_WEBHOOK_SECRET, rate_limit=1_000_000))


@pytest.fixture
def ledger(services: Services) -> Ledger:
    return Ledger("sqlite" if services.store.read_engine.dialect.name == "sqlite" else "postgres")


async def stocked_products(services: Services, sandboxes: Sandboxes, count: int, units: int) -> list[str]:
    """`count` products the ERP stocks at one distribution centre only, known to our catalogue."""
    sandbox = sandboxes.katana
    assert sandbox is not None
    skus = [f"BUDGET-{n:03d}" for n in range(count)]
    base = max(sandbox.variants) + 1
    for offset, sku in enumerate(skus):
        variant = Variant(base + offset, base + offset, sku, f"Budget {sku}", Decimal("10.00"))
        sandbox.variants[variant.id] = variant
        sandbox.inventory[(variant.id, sandbox.locations[STOCKED_AT])] = Decimal(units)
    now = services.clock()
    await catalog.seed(
        services,
        [
            Product(sku=s, name=s, price=Decimal("10.00"), currency="USD", created_at=now, updated_at=now)
            for s in skus
        ],
        [],
    )
    return skus


async def place(client: httpx.AsyncClient, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    placed = []
    for start in range(0, len(inputs), 10):
        bodies = await asyncio.gather(
            *(
                execute(client, operation("PlaceOrder"), {"input": order}, token=ADMIN)
                for order in inputs[start : start + 10]
            )
        )
        for body in bodies:
            payload = body["data"]["placeOrder"]
            assert payload["userErrors"] == [], payload
            placed.append(payload["order"])
    return placed


def a_customer(number: int) -> dict[str, Any]:
    return {"email": f"budget-{number:03d}@example.com", "firstName": "Budget", "lastName": f"No{number}"}


async def location_id(client: httpx.AsyncClient, code: str) -> str:
    body = await execute(client, "{ locations { id code } }", token=ADMIN)
    return next(str(loc["id"]) for loc in body["data"]["locations"] if loc["code"] == code)


@pytest.mark.no_relay
async def test_order_lists_cost_the_same_for_2_20_or_100_orders(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, ledger: Ledger
) -> None:
    skus = await stocked_products(services, sandboxes, 2, units=10_000)
    queue_at = await location_id(client, STOCKED_AT)
    placed = 0
    for size in SIZES:
        await place(
            client,
            [
                an_order_input(customer=a_customer(n), lines=[a_line(skus[0], 1), a_line(skus[1], 2)])
                for n in range(placed, size)
            ],
        )
        placed = size

        board = await ledger.measure(
            services, client, "OrdersBoard", size, operation("OrdersBoard"), {"first": size}, ADMIN
        )
        assert len(board["orders"]["edges"]) == size
        queue = await ledger.measure(
            services, client, "WorkQueue", size, operation("WorkQueue"), {"locationId": queue_at}, ADMIN
        )
        assert len(queue["fulfillmentOrders"]["edges"]) == min(size, 50)  # the contract asks for 50
        customers = await ledger.measure(
            services, client, "Customers", size, CUSTOMERS, {"first": size}, AGENT
        )
        assert len(customers["customers"]["edges"]) == size
        await ledger.measure(
            services, client, "NetworkOverview", size, operation("NetworkOverview"), {}, ADMIN
        )
        day = {"day": services.clock().date().isoformat()}
        kpis = await ledger.measure(services, client, "NetworkMetrics", size, NETWORK_METRICS, day, AGENT)
        assert kpis["networkMetrics"]["totals"]["orders"] == size

    ledger.check()


@pytest.mark.no_relay
async def test_sku_and_line_lists_cost_the_same_for_2_20_or_100(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, ledger: Ledger
) -> None:
    skus = await stocked_products(services, sandboxes, 100, units=50)
    for size in SIZES:
        asked = skus[:size]
        answers = await ledger.measure(
            services,
            client,
            "ProductAvailability",
            size,
            operation("ProductAvailability"),
            {"skus": asked, "destination": AUSTIN},
            STOREFRONT,
        )
        assert [a["sku"] for a in answers["availability"]] == asked
        assert all(a["availableToSell"] > 0 for a in answers["availability"])
        lines = [a_line(sku, 1) for sku in asked]
        await ledger.measure(
            services,
            client,
            "DeliveryOptions",
            size,
            operation("DeliveryOptions"),
            {"lines": lines, "destination": AUSTIN},
            STOREFRONT,
        )
        catalogue = await ledger.measure(
            services, client, "Catalog", size, operation("Catalog"), {"first": size}, STOREFRONT
        )
        assert len(catalogue["products"]["edges"]) == size

        customer = a_customer(size)
        [order] = await place(client, [an_order_input(customer=customer, lines=lines)])
        detail = await ledger.measure(
            services, client, "OrderDetail", size, operation("OrderDetail"), {"id": order["id"]}, ADMIN
        )
        assert len(detail["order"]["lines"]) == size
        mine = a_token("customer", email=customer["email"])
        tracking = await ledger.measure(
            services, client, "OrderTracking", size, operation("OrderTracking"), {"id": order["id"]}, mine
        )
        assert tracking["order"]["id"] == order["id"]

    ledger.check()


def test_the_budget_table_names_only_contract_operations_or_documented_extras() -> None:
    table = json.loads(BUDGETS.read_text())
    names = {name for backend in ("sqlite", "postgres") for name in table.get(backend, {})}
    extras = {"Customers", "NetworkMetrics"}
    pattern = re.compile(r"^[A-Z][A-Za-z]+$")
    assert all(pattern.match(name) for name in names)
    for name in names - extras:
        operation(name)  # a KeyError names an operation the contract does not have

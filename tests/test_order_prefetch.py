"""`orders` reads what its selection shows up front (lines, fulfilment orders with their lines and
locations, shipments, customers and their storefront records: one batched read per kind), so
those fields answer without a task each. The answers must be what each order says alone
(`order(id:)`, field by field through the dataloaders), for every role, at the same cost
whatever the page size, and the storefront is asked only when a name is shown."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import pytest_asyncio

from ordergate.bootstrap import Sandboxes
from ordergate.usecases.services import Services
from tests.builders import a_line, a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import execute
from tests.test_statement_budget import counting

ADMIN = a_token("admin")
AGENT = a_token("agent")
DALLAS = a_token("associate", locations=("DC-DFW",))
CHICAGO = a_token("associate", locations=("ST-CHI",))
SHOPPER = "priya.patel@example.com"  # the storefront sandbox knows her
GUEST = "walk-in@example.com"  # it does not know this one

NODE = """
fragment Shown on Order {
  id number status
  total { amount currency }
  customer { id email displayName storefront { id firstName lastName } }
  lines { id sku quantity quantityBackordered }
  ... on Order { fulfillmentOrders { id status location { code } lines { sku quantity } } }
  shipments { carrier status trackingNumber }
}
"""
PAGE = "query($first: Int!) { orders(first: $first) { edges { node { ...Shown } } } }" + NODE
ALONE = "query($id: ID!) { order(id: $id) { ...Shown } }" + NODE


async def place(client: httpx.AsyncClient, email: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    body = await execute(
        client,
        operation("PlaceOrder"),
        {"input": an_order_input(customer={"email": email}, lines=lines)},
        token=AGENT,
    )
    assert body["data"]["placeOrder"]["userErrors"] == [], body
    order: dict[str, Any] = body["data"]["placeOrder"]["order"]
    return order


async def ship_first_work(client: httpx.AsyncClient, order_id: str) -> None:
    body = await execute(client, ALONE, {"id": order_id}, token=ADMIN)
    work = body["data"]["order"]["fulfillmentOrders"][0]
    for name in ("Accept", "StartPicking", "Pack"):
        assert "errors" not in await execute(client, operation(name), {"id": work["id"]}, token=DALLAS)
    shipped = await execute(
        client, operation("Ship"), {"input": {"fulfillmentOrderId": work["id"]}}, token=DALLAS
    )
    assert shipped["data"]["shipFulfillmentOrder"]["userErrors"] == [], shipped


async def a_mixed_board(client: httpx.AsyncClient) -> None:
    """Orders of a known and an unknown customer, one and two lines, one of them shipped."""
    first = await place(client, SHOPPER, [a_line("MUG-BLUE", 2), a_line("KNIFE-CHEF-8", 1)])
    await place(client, GUEST, [a_line("MUG-BLUE", 1)])
    await place(client, SHOPPER, [a_line("LAMP-DESK", 1)])
    await place(client, "ann@example.com", [a_line("KNIFE-CHEF-8", 3), a_line("MUG-BLUE", 1)])
    await ship_first_work(client, first["id"])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def board(module_client: httpx.AsyncClient) -> None:
    """One mixed board per module and backend, which every test here reads and none changes."""
    await a_mixed_board(module_client)


async def each_alone(client: httpx.AsyncClient, nodes: list[dict[str, Any]], token: str) -> list[Any]:
    alone = []
    for node in nodes:
        body = await execute(client, ALONE, {"id": node["id"]}, token=token)
        assert "errors" not in body, body
        alone.append(body["data"]["order"])
    return alone


@pytest.mark.asyncio(loop_scope="module")  # the module's gateway and board
@pytest.mark.parametrize(
    ("token", "visible"),
    [(ADMIN, 4), (AGENT, 4), (DALLAS, 4), (CHICAGO, 0), (a_token("customer", email=SHOPPER), 2)],
    ids=["admin", "agent", "associate-there", "associate-elsewhere", "customer"],
)
async def test_a_page_answers_what_each_of_its_orders_answers_alone(
    module_client: httpx.AsyncClient, board: None, token: str, visible: int
) -> None:

    page = await execute(module_client, PAGE, {"first": 10}, token=token)

    assert "errors" not in page, page
    nodes = [edge["node"] for edge in page["data"]["orders"]["edges"]]
    assert len(nodes) == visible
    assert nodes == await each_alone(module_client, nodes, token)
    if token == ADMIN:
        assert any(node["shipments"] for node in nodes)
        names = {node["customer"]["email"]: node["customer"]["displayName"] for node in nodes}
        assert names[GUEST] == GUEST  # the storefront does not know them: ours
        assert names[SHOPPER] != SHOPPER  # the storefront's name


@pytest.mark.asyncio(loop_scope="module")  # the module's gateway and board
async def test_a_page_costs_the_same_statements_and_one_storefront_request_whatever_its_size(
    module_client: httpx.AsyncClient, module_services: Services, board: None
) -> None:
    await execute(module_client, PAGE, {"first": 1}, token=ADMIN)  # warm: the pool, the parser

    costs = []
    for size in (1, 4):
        module_services.storefront_customers.clear()  # each asks as the first page past the bound would
        with counting(module_services) as cost:
            body = await execute(module_client, PAGE, {"first": size}, token=ADMIN)
        assert len(body["data"]["orders"]["edges"]) == size
        costs.append(cost.entry())

    assert costs[0] == costs[1]
    assert costs[0]["upstream"] == {"bigcommerce": 1}


@pytest.mark.asyncio(loop_scope="module")  # the module's gateway and board
@pytest.mark.parametrize(
    ("selection", "variables", "storefront_requests"),
    [
        ("customer { id email }", {}, 0),
        ("lines { sku } fulfillmentOrders { status }", {}, 0),
        ("customer { email displayName @skip(if: $hide) }", {"hide": True}, 0),
        ("customer { email displayName @skip(if: $hide) }", {"hide": False}, 1),
        ("customer { email storefront @include(if: $show) { id } }", {"show": True}, 1),
    ],
    ids=["no-names", "no-customer", "names-skipped", "names-shown", "storefront-included"],
)
async def test_the_storefront_is_asked_only_when_a_customer_s_name_or_record_is_shown(
    module_client: httpx.AsyncClient,
    module_services: Services,
    board: None,
    selection: str,
    variables: dict[str, Any],
    storefront_requests: int,
) -> None:
    declared = "".join(f", ${name}: Boolean!" for name in variables)
    query = (
        f"query($first: Int!{declared}) {{ orders(first: $first) {{ edges {{ node {{ {selection} }} }} }} }}"
    )
    module_services.storefront_customers.clear()  # what placing and shipping showed is past its bound

    with counting(module_services) as cost:
        body = await execute(module_client, query, {"first": 10, **variables}, token=ADMIN)

    assert "errors" not in body, body
    assert cost.upstream.get("bigcommerce", 0) == storefront_requests


async def test_with_the_storefront_down_a_page_says_per_customer_what_is_missing_as_each_order_does(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    """Its own gateway and board: the storefront goes down (and its breaker opens) here."""
    await a_mixed_board(client)
    assert sandboxes.bigcommerce is not None
    sandboxes.bigcommerce.down = True
    services.storefront_customers.clear()  # down for longer than what was kept is served

    page = await execute(client, PAGE, {"first": 10}, token=ADMIN)

    nodes = [edge["node"] for edge in page["data"]["orders"]["edges"]]
    names = {node["customer"]["email"]: node["customer"]["displayName"] for node in nodes}
    assert names[SHOPPER] == SHOPPER  # ours: checkout gave only the email
    assert all(node["customer"]["storefront"] is None for node in nodes)
    errors = page["errors"]
    assert len(errors) == len(nodes)
    assert {e["extensions"]["code"] for e in errors} == {"UPSTREAM_UNAVAILABLE"}
    assert sorted(e["path"][2] for e in errors) == list(range(len(nodes)))
    assert all(e["path"][-1] == "storefront" for e in errors)
    for node in nodes:
        alone = await execute(client, ALONE, {"id": node["id"]}, token=ADMIN)
        assert alone["data"]["order"] == node
        [error] = alone["errors"]
        assert error["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"


@contextmanager
def counting_tasks() -> Iterator[list[int]]:
    """How many asyncio tasks graphql-core creates meanwhile: it gathers an object's awaitable
    fields (and a list's awaitable items) through one task each. Other tasks on the loop (the
    database driver's, background loops') are not counted."""
    loop = asyncio.get_running_loop()
    created = [0]
    before = loop.get_task_factory()

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Future[Any]:
        code = getattr(coro, "cr_code", None)
        if code is not None and f"{os.sep}graphql{os.sep}" in code.co_filename:
            created[0] += 1
        if before is not None:
            return before(loop, coro, **kwargs)
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(factory)
    try:
        yield created
    finally:
        loop.set_task_factory(before)


@pytest.mark.asyncio(loop_scope="module")  # the module's gateway and board
async def test_a_page_s_orders_resolve_their_parts_without_a_task_each(
    module_client: httpx.AsyncClient, board: None
) -> None:
    await execute(module_client, PAGE, {"first": 1}, token=ADMIN)  # warm

    tasks = []
    for size in (1, 4):
        with counting_tasks() as created:
            body = await execute(module_client, PAGE, {"first": size}, token=ADMIN)
        assert len(body["data"]["orders"]["edges"]) == size
        tasks.append(created[0])

    assert tasks[0] == tasks[1]

"""Finding any order (issue 19, item 1) and staff notes and tags (item 2): every field of the
search alone and together, sorts with their own cursors, each lookup served by an index on both
backends, and notes and tags that staff write and customers never see."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ordergate.models.criteria import OrderCriteria
from ordergate.models.order import PaymentStatus
from ordergate.models.scope import OrderScope
from ordergate.store import tables
from ordergate.store.orders import _matching, visible
from ordergate.usecases.services import Services
from tests.builders import a_line, a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import execute
from tests.test_fulfillment import DALLAS, step

AGENT = a_token("agent")
ANN = a_token("customer", email="ann@example.com")
CHICAGO_ONLY = a_token("associate", locations=("ST-CHI",))
SEARCH = """query($filter: OrderFilter, $sort: OrderSortInput, $first: Int = 50, $after: String) {
  orders(filter: $filter, sort: $sort, first: $first, after: $after) {
    totalCount edges { cursor node { number total { amount } } } pageInfo { hasNextPage endCursor } } }"""
NOTE = """mutation($input: AddNoteInput!) { addNote(input: $input) {
  note { body author createdAt } userErrors { code field } } }"""
TAG = "mutation($input: TagsInput!) { addTags(input: $input) { tags userErrors { code field } } }"
UNTAG = "mutation($input: TagsInput!) { removeTags(input: $input) { tags userErrors { code field } } }"
ANNOTATIONS = """query($id: ID!) { order(id: $id) { tags notes { body author } timeline { type message }
  customer { tags notes { body } } fulfillmentOrders { tags } } }"""


async def place(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    body = await execute(client, operation("PlaceOrder"), {"input": an_order_input(**overrides)}, token=AGENT)
    assert body["data"]["placeOrder"]["userErrors"] == [], body
    order: dict[str, Any] = body["data"]["placeOrder"]["order"]
    return order


async def found(client: httpx.AsyncClient, token: str = AGENT, **variables: Any) -> list[str]:
    body = await execute(client, SEARCH, variables, token=token)
    assert "errors" not in body, body
    return [edge["node"]["number"] for edge in body["data"]["orders"]["edges"]]


@pytest.fixture
async def three(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    ann = await place(client, externalReference="BC-1001", lines=[a_line("MUG-BLUE", 1)])
    bob = await place(
        client,
        externalReference="BC-1002",
        customer={"email": "bob.stone@example.com", "firstName": "Bob", "lastName": "Stone"},
        lines=[a_line("PLATE-DINNER", 4)],
        channel="pos",
    )
    cat = await place(
        client,
        customer={"email": "cat@example.org", "firstName": "Catherine", "lastName": "Lee"},
        lines=[a_line("KETTLE-STEEL", 1)],
    )
    return [ann, bob, cat]


async def test_each_field_finds_its_order(client: httpx.AsyncClient, three: list[dict[str, Any]]) -> None:
    ann, bob, cat = (order["number"] for order in three)
    digits = ann.removeprefix("OG-")

    assert await found(client, filter={"number": ann}) == [ann]
    assert await found(client, filter={"number": f"#{ann.lower()}"}) == [ann]
    assert await found(client, filter={"number": digits}) == [ann]
    assert await found(client, filter={"reference": "BC-1002"}) == [bob]
    assert await found(client, filter={"customerName": "bob"}) == [bob]
    assert await found(client, filter={"customerName": "LEE"}) == [cat, ann]
    assert await found(client, filter={"customerName": "cath le"}) == [cat]
    assert await found(client, filter={"customerEmail": "BOB.STONE@example.com"}) == [bob]
    assert await found(client, filter={"channel": "pos"}) == [bob]
    assert await found(client, filter={"paymentStatus": ["PAID"]}) == []
    assert set(await found(client, filter={"fulfillmentStatus": ["UNFULFILLED"]})) >= {ann, bob, cat}
    assert await found(client, filter={"customerName": "lee", "channel": "pos"}) == []


async def test_free_text_looks_everywhere(client: httpx.AsyncClient, three: list[dict[str, Any]]) -> None:
    ann, bob, cat = (order["number"] for order in three)
    tagged = await execute(
        client,
        TAG,
        {"input": {"targetType": "ORDER", "targetId": three[2]["id"], "tags": ["VIP"]}},
        token=AGENT,
    )
    assert tagged["data"]["addTags"] == {"tags": ["vip"], "userErrors": []}

    assert await found(client, filter={"text": ann}) == [ann]
    assert await found(client, filter={"text": "BC-1002"}) == [bob]
    assert await found(client, filter={"text": "cat@"}) == [cat]
    assert await found(client, filter={"text": "Stone"}) == [bob]
    assert await found(client, filter={"text": "vip"}) == [cat]
    assert await found(client, filter={"tags": ["VIP"]}) == [cat]
    assert await found(client, filter={"text": "nobody-like-this"}) == []


async def test_a_sort_pages_with_its_own_cursors(
    client: httpx.AsyncClient, three: list[dict[str, Any]]
) -> None:
    numbers = {order["number"] for order in three}
    sort = {"key": "TOTAL", "direction": "ASC"}
    seen: list[tuple[float, str]] = []
    after = None
    while True:
        body = await execute(client, SEARCH, {"sort": sort, "first": 2, "after": after}, token=AGENT)
        page = body["data"]["orders"]
        seen += [(float(e["node"]["total"]["amount"]), e["node"]["number"]) for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert [total for total, _ in seen] == sorted(total for total, _ in seen)
    assert numbers <= {number for _, number in seen}
    assert len(seen) == len({number for _, number in seen})  # nothing twice across pages

    newest = await execute(client, SEARCH, {"first": 1}, token=AGENT)
    cursor = newest["data"]["orders"]["pageInfo"]["endCursor"]
    mixed = await execute(client, SEARCH, {"sort": sort, "after": cursor}, token=AGENT)
    assert mixed["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


async def test_a_customer_searches_only_their_own(
    client: httpx.AsyncClient, three: list[dict[str, Any]]
) -> None:
    assert await found(client, token=ANN, filter={"reference": "BC-1002"}) == []
    assert await found(client, token=ANN, filter={"reference": "BC-1001"}) == [three[0]["number"]]


async def test_staff_notes_and_tags_never_reach_the_customer(
    client: httpx.AsyncClient, three: list[dict[str, Any]]
) -> None:
    order = three[0]
    fo_id = order["fulfillmentOrders"][0]["id"]
    customer = await execute(client, ANNOTATIONS, {"id": order["id"]}, token=AGENT)
    customer_id = (
        await execute(
            client, "query($id: ID!) { order(id: $id) { customer { id } } }", {"id": order["id"]}, token=AGENT
        )
    )["data"]["order"]["customer"]["id"]
    assert customer["data"]["order"]["notes"] == []

    noted = await execute(
        client,
        NOTE,
        {"input": {"targetType": "ORDER", "targetId": order["id"], "body": " Called: gift wrap "}},
        token=AGENT,
    )
    assert noted["data"]["addNote"]["note"]["body"] == "Called: gift wrap"
    assert noted["data"]["addNote"]["note"]["author"] == "agent-test"
    await execute(
        client,
        TAG,
        {"input": {"targetType": "ORDER", "targetId": order["id"], "tags": ["gift", "gift", "vip"]}},
        token=AGENT,
    )
    await execute(
        client,
        TAG,
        {"input": {"targetType": "CUSTOMER", "targetId": customer_id, "tags": ["wholesale:acme"]}},
        token=AGENT,
    )
    await execute(
        client,
        NOTE,
        {"input": {"targetType": "CUSTOMER", "targetId": customer_id, "body": "Prefers email"}},
        token=AGENT,
    )
    await step(client, "Accept", DALLAS, id=fo_id)
    tagged_fo = await execute(
        client,
        TAG,
        {"input": {"targetType": "FULFILLMENT_ORDER", "targetId": fo_id, "tags": ["fragile"]}},
        token=DALLAS,
    )
    assert tagged_fo["data"]["addTags"] == {"tags": ["fragile"], "userErrors": []}
    left = await execute(
        client,
        UNTAG,
        {"input": {"targetType": "ORDER", "targetId": order["id"], "tags": ["VIP", "absent"]}},
        token=AGENT,
    )
    assert left["data"]["removeTags"] == {"tags": ["gift"], "userErrors": []}

    staff = (await execute(client, ANNOTATIONS, {"id": order["id"]}, token=AGENT))["data"]["order"]
    assert staff["tags"] == ["gift"]
    assert staff["notes"] == [{"body": "Called: gift wrap", "author": "agent-test"}]
    assert {"type": "STAFF_NOTE", "message": "agent-test: Called: gift wrap"} in staff["timeline"]
    assert staff["customer"] == {"tags": ["wholesale:acme"], "notes": [{"body": "Prefers email"}]}
    assert staff["fulfillmentOrders"][0]["tags"] == ["fragile"]

    own = (await execute(client, ANNOTATIONS, {"id": order["id"]}, token=ANN))["data"]["order"]
    assert own["tags"] == []
    assert own["notes"] == []
    assert own["customer"]["tags"] == []
    assert own["fulfillmentOrders"][0]["tags"] == []
    assert all(entry["type"] != "STAFF_NOTE" for entry in own["timeline"])


async def test_who_may_annotate_what(client: httpx.AsyncClient, three: list[dict[str, Any]]) -> None:
    order = three[0]
    by_customer = await execute(
        client, NOTE, {"input": {"targetType": "ORDER", "targetId": order["id"], "body": "hi"}}, token=ANN
    )
    elsewhere = await execute(
        client,
        NOTE,
        {"input": {"targetType": "ORDER", "targetId": order["id"], "body": "hi"}},
        token=CHICAGO_ONLY,
    )
    bad_tag = await execute(
        client,
        TAG,
        {"input": {"targetType": "ORDER", "targetId": order["id"], "tags": ["ok", "no spaces", ""]}},
        token=AGENT,
    )
    other_node = await execute(
        client,
        TAG,
        {
            "input": {
                "targetType": "FULFILLMENT_ORDER",
                "targetId": order["fulfillmentOrders"][0]["id"],
                "tags": ["x"],
            }
        },
        token=CHICAGO_ONLY,
    )
    assert other_node["data"]["addTags"]["userErrors"] == [
        {"code": "NOT_FOUND", "field": ["input", "targetId"]}
    ]
    empty = await execute(
        client, NOTE, {"input": {"targetType": "ORDER", "targetId": order["id"], "body": "   "}}, token=AGENT
    )

    assert by_customer["data"]["addNote"]["userErrors"] == [{"code": "FORBIDDEN", "field": None}]
    assert elsewhere["data"]["addNote"]["userErrors"] == [
        {"code": "NOT_FOUND", "field": ["input", "targetId"]}
    ]
    assert bad_tag["data"]["addTags"]["userErrors"] == [
        {"code": "INVALID_TAG", "field": ["input", "tags", "1"]},
        {"code": "INVALID_TAG", "field": ["input", "tags", "2"]},
    ]
    assert empty["data"]["addNote"]["userErrors"] == [{"code": "INVALID_NOTE", "field": ["input", "body"]}]
    staff = (await execute(client, ANNOTATIONS, {"id": order["id"]}, token=AGENT))["data"]["order"]
    assert staff["notes"] == []  # nothing refused was kept
    assert staff["tags"] == []


LOOKUPS = {
    "number": OrderCriteria(number="OG-100001"),
    "reference": OrderCriteria(reference="BC-1"),
    "email": OrderCriteria(customer_email="ann@example.com"),
    "name": OrderCriteria(customer_name="ann le"),
    "tag": OrderCriteria(tags=("vip",)),
    "text": OrderCriteria(text="ann"),
}


# A filter that narrows a date-ordered page, not a lookup: it reads the table, which shows the
# plan check below can fail.
CONTROL = OrderCriteria(payment_statuses=(PaymentStatus.PAID,))


async def plan_of(services: Services, criteria: OrderCriteria) -> tuple[str, list[str]]:
    """The backend, and the lines of its plan that read a whole table."""
    query = _matching(visible(sa.select(tables.orders.c.id), OrderScope(everything=True)), criteria)
    async with services.store.read() as uow:
        connection = await uow.session.connection()
        dialect = connection.dialect.name
        compiled = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
        if dialect == "postgresql":
            await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            rows = (await connection.exec_driver_sql(f"EXPLAIN {compiled}")).all()
        else:
            rows = (await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")).all()
    lines = [str(row[-1]) for row in rows]
    if dialect == "postgresql":
        return dialect, [line for line in lines if "Seq Scan" in line]
    return dialect, [line for line in lines if line.startswith("SCAN ")]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("lookup", sorted(LOOKUPS))
async def test_each_lookup_is_served_by_an_index(module_services: Services, lookup: str) -> None:
    """The plan of the search's query, on each backend, reads orders through an index, never a
    whole-table scan (PostgreSQL is told to avoid sequential scans where an index can serve, as
    it would on a big table; SQLite plans the same at any size). Plans are only read, so the
    module's one gateway per backend serves them all."""
    _, scans = await plan_of(module_services, LOOKUPS[lookup])
    assert scans == []
    _, control = await plan_of(module_services, CONTROL)
    assert control != []

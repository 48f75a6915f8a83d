"""ordergate as an Apollo Federation 2 subgraph: the gateway resolves our entities by key."""

from __future__ import annotations

import httpx

from tests.builders import a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import execute

ENTITIES = """query($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on Order { number status }
    ... on Location { code }
    ... on Customer { email }
    ... on Product { sku }
  }
}"""


async def test_the_subgraph_publishes_its_sdl_with_keys(client: httpx.AsyncClient) -> None:
    body = await execute(client, "{ _service { sdl } }", token=a_token("admin"))

    sdl = body["data"]["_service"]["sdl"]
    assert "federation/v2" in sdl
    for entity in ("Order", "Customer", "Location", "Product"):
        assert f'type {entity} @key(fields: "id")' in sdl


async def test_entities_resolve_by_id_for_an_authorised_caller(client: httpx.AsyncClient) -> None:
    admin = a_token("admin")
    placed = await execute(client, operation("PlaceOrder"), {"input": an_order_input()}, token=admin)
    order = placed["data"]["placeOrder"]["order"]
    detail = await execute(
        client, "query($id: ID!) { order(id: $id) { customer { id } } }", {"id": order["id"]}, token=admin
    )
    locations = await execute(client, "{ locations { id code } }", token=admin)
    products = await execute(client, "{ products(first: 1) { edges { node { id sku } } } }", token=admin)
    representations = [
        {"__typename": "Order", "id": order["id"]},
        {"__typename": "Customer", "id": detail["data"]["order"]["customer"]["id"]},
        {"__typename": "Location", "id": locations["data"]["locations"][0]["id"]},
        {"__typename": "Product", "id": products["data"]["products"]["edges"][0]["node"]["id"]},
    ]

    body = await execute(client, ENTITIES, {"representations": representations}, token=admin)

    assert "errors" not in body, body
    assert body["data"]["_entities"] == [
        {"__typename": "Order", "number": order["number"], "status": "CONFIRMED"},
        {"__typename": "Customer", "email": "ann@example.com"},
        {"__typename": "Location", "code": locations["data"]["locations"][0]["code"]},
        {"__typename": "Product", "sku": products["data"]["products"]["edges"][0]["node"]["sku"]},
    ]


async def test_an_entity_the_caller_may_not_see_is_not_found(client: httpx.AsyncClient) -> None:
    placed = await execute(
        client, operation("PlaceOrder"), {"input": an_order_input()}, token=a_token("admin")
    )
    order_id = placed["data"]["placeOrder"]["order"]["id"]

    body = await execute(
        client,
        ENTITIES,
        {"representations": [{"__typename": "Order", "id": order_id}]},
        token=a_token("customer", email="bob@example.com"),
    )

    assert body["data"]["_entities"] == [None]
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"

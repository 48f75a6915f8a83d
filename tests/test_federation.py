"""ordergate as an Apollo Federation 2 subgraph: the gateway resolves our entities by key, and a
router presenting ORDERGATE_ROUTER_TOKEN reads the SDL and runs its query plans whatever the
allow-list, as the user whose Authorization it forwards."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from ordergate.schema.view import ROUTER_HEADER
from ordergate.settings import Settings, SettingsError
from tests.builders import a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import execute, reconfigured

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


# --- the router: ORDERGATE_ROUTER_TOKEN in its own header, the user's JWT forwarded -----------

ROUTER_TOKEN = "router-token-for-tests-0123456789abcdef"
SERVICE_SDL = "query __ApolloGetServiceDefinition__ { _service { sdl } }"
# What an Apollo gateway sends for the mobile app's OrderTracking: a query-plan fragment, never
# the registered text.
PLAN_FRAGMENT = "query OrderTracking__ordergate__0($id:ID!){order(id:$id){id number status}}"


async def ask(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    router: str | None = None,
    user: str | None = None,
) -> httpx.Response:
    headers = {"authorization": f"Bearer {user}"} if user else {}
    if router is not None:
        headers[ROUTER_HEADER] = router
    return await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)


def codes(answer: httpx.Response) -> list[str]:
    return [str((e.get("extensions") or {}).get("code")) for e in answer.json().get("errors") or []]


MODES = [
    pytest.param("allowlist", False, id="allowlist-introspection-off"),
    pytest.param("allowlist", True, id="allowlist-introspection-on"),
    pytest.param("apq", False, id="apq-introspection-off"),
]


@pytest.mark.parametrize(("mode", "introspection"), MODES)
async def test_the_router_with_its_token_reads_the_sdl_and_runs_plan_fragments_as_the_user(
    app: Starlette, client: httpx.AsyncClient, mode: str, introspection: bool
) -> None:
    placed = await execute(
        client, operation("PlaceOrder"), {"input": an_order_input()}, token=a_token("admin")
    )
    order = {"id": placed["data"]["placeOrder"]["order"]["id"]}
    async with reconfigured(
        app, persisted_queries=mode, introspection=introspection, router_token=ROUTER_TOKEN
    ) as ordergate:
        sdl = await ask(ordergate, SERVICE_SDL, router=ROUTER_TOKEN)
        ann = await ask(ordergate, PLAN_FRAGMENT, order, router=ROUTER_TOKEN, user=a_token("customer"))
        bob = await ask(
            ordergate, PLAN_FRAGMENT, order, router=ROUTER_TOKEN, user=a_token("customer", email="bob@x.com")
        )
        anonymous = await ask(ordergate, PLAN_FRAGMENT, order, router=ROUTER_TOKEN)

    assert 'type Order @key(fields: "id")' in sdl.json()["data"]["_service"]["sdl"]
    assert ann.json()["data"]["order"]["id"] == order["id"]
    assert bob.json()["data"]["order"] is None
    assert codes(bob) == ["NOT_FOUND"]
    assert codes(anonymous) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize("presented", ["wrong-token", "", ROUTER_TOKEN[:-1]])
async def test_a_wrong_router_token_is_refused_not_served_as_a_client(app: Starlette, presented: str) -> None:
    async with reconfigured(app, persisted_queries="allowlist", router_token=ROUTER_TOKEN) as ordergate:
        sdl = await ask(ordergate, SERVICE_SDL, router=presented)
        catalog = await ask(
            ordergate, operation("Catalog"), {"first": 1}, router=presented, user=a_token("storefront")
        )

    for answer in (sdl, catalog):
        assert answer.status_code == 401
        assert answer.json().get("data") is None
        assert codes(answer) == ["UNAUTHENTICATED"]


async def test_a_router_token_is_refused_where_none_is_configured(app: Starlette) -> None:
    async with reconfigured(app, persisted_queries="allowlist") as ordergate:
        answer = await ask(ordergate, SERVICE_SDL, router=ROUTER_TOKEN)

    assert answer.status_code == 401
    assert codes(answer) == ["UNAUTHENTICATED"]


async def test_without_the_router_token_plan_fragments_and_the_sdl_stay_refused(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    placed = await execute(
        client, operation("PlaceOrder"), {"input": an_order_input()}, token=a_token("admin")
    )
    order = {"id": placed["data"]["placeOrder"]["order"]["id"]}
    async with reconfigured(
        app, persisted_queries="allowlist", introspection=False, router_token=ROUTER_TOKEN
    ) as ordergate:
        fragment = await ask(ordergate, PLAN_FRAGMENT, order, user=a_token("customer"))
        sdl = await ask(ordergate, SERVICE_SDL, user=a_token("customer"))
        registered = await ask(ordergate, operation("OrderTracking"), order, user=a_token("customer"))

    assert codes(fragment) == ["OPERATION_NOT_ALLOWED"]
    assert codes(sdl) == ["INTROSPECTION_DISABLED"]
    assert registered.json()["data"]["order"]["id"] == order["id"]


async def test_the_router_token_does_not_open_introspection(app: Starlette) -> None:
    async with reconfigured(
        app, persisted_queries="allowlist", introspection=False, router_token=ROUTER_TOKEN
    ) as ordergate:
        answer = await ask(ordergate, "{ __schema { queryType { name } } }", router=ROUTER_TOKEN)

    assert set(codes(answer)) == {"INTROSPECTION_DISABLED"}


def test_outside_the_sandbox_a_short_router_token_is_refused() -> None:
    settings = Settings(sandbox=False, jwt_secret="s" * 32, router_token="short")

    with pytest.raises(SettingsError, match="ORDERGATE_ROUTER_TOKEN"):
        settings.check_serving()


def test_the_router_and_trusted_documents_settings_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {"ORDERGATE_ROUTER_TOKEN": ROUTER_TOKEN, "ORDERGATE_TRUSTED_DOCUMENTS": " a.json, b.json ,"}
    )

    assert settings.router_token == ROUTER_TOKEN
    assert settings.trusted_documents == ("a.json", "b.json")

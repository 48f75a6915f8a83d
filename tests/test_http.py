"""The endpoint as HTTP clients meet it: GraphQL over HTTP, GraphiQL, health and readiness."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from starlette.applications import Starlette

from ordergate.schema.view import preferred_media_type
from ordergate.usecases.services import Services
from tests.builders import a_token

ADMIN = {"authorization": f"Bearer {a_token('admin')}"}
GRAPHQL_RESPONSE = "application/graphql-response+json"


async def test_a_query_can_be_sent_with_get(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "{ locations { code } }"}, headers=ADMIN)

    assert response.status_code == 200
    assert len(response.json()["data"]["locations"]) == 10


async def test_a_mutation_over_get_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/graphql",
        params={"query": 'mutation { releaseOrderHold(input: {orderId: "x"}) { order { id } } }'},
        headers=ADMIN,
    )

    assert response.status_code == 405


@pytest.mark.parametrize(
    ("document", "kind"),
    [
        ("{ locations { code }", "parse"),
        ("{ nope }", "validation"),
        ("{ locations { code(x: 1) } }", "validation"),
    ],
)
async def test_request_errors_are_400_with_no_data_for_graphql_response_json(
    client: httpx.AsyncClient, document: str, kind: str
) -> None:
    response = await client.post(
        "/graphql", json={"query": document}, headers={**ADMIN, "accept": GRAPHQL_RESPONSE}
    )

    assert response.status_code == 400, kind
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["message"]


async def test_request_errors_stay_200_for_legacy_json_clients(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ nope }"}, headers={**ADMIN, "accept": "application/json"}
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["errors"]


async def test_execution_errors_are_200_with_data_for_graphql_response_json(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/graphql",
        json={"query": '{ order(id: "missing") { id } }'},
        headers={**ADMIN, "accept": GRAPHQL_RESPONSE},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"order": None}
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_body_that_is_not_json_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", content=b"{not json", headers={**ADMIN, "content-type": "application/json"}
    )

    assert response.status_code == 400


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE};q=0.5", "application/json"),
    ],
)
def test_media_type_negotiation(accept: str | None, expected: str) -> None:
    assert preferred_media_type(accept) == expected


async def test_graphiql_loads_from_local_assets(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"accept": "text/html"})

    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    asset = await client.get("/graphiql-assets/graphiql.min.js")
    assert asset.status_code == 200
    assert len(asset.content) > 100_000


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    fresh = await client.get("/healthz")
    echoed = await client.get("/healthz", headers={"x-request-id": "abc-123"})

    assert len(fresh.headers["x-request-id"]) == 32
    assert echoed.headers["x-request-id"] == "abc-123"


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"


async def test_readiness_fails_when_the_database_is_unreachable(services: Services, app: Starlette) -> None:
    async def unreachable() -> bool:
        return False

    services.store.ping = unreachable  # type: ignore[method-assign]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


async def test_an_unexpected_failure_is_masked_as_internal_and_logged_with_the_request_id(
    client: httpx.AsyncClient, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_: object) -> object:
        raise RuntimeError("secret connection string postgres://u:p@db")

    services.store.read = broken  # type: ignore[assignment,method-assign]
    with caplog.at_level(logging.ERROR, logger="ordergate.errors"):
        response = await client.post(
            "/graphql", json={"query": "{ locations { code } }"}, headers={**ADMIN, "x-request-id": "req-42"}
        )

    assert response.status_code == 200
    body = response.json()
    assert body["errors"][0]["extensions"] == {"code": "INTERNAL", "requestId": "req-42"}
    assert "secret" not in json.dumps(body)
    assert "req-42" in caplog.text
    assert "RuntimeError" in caplog.text

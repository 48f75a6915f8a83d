"""A supergraph over a running allow-listed ordergate with introspection off: composed with the
router token (clients/compose.mjs), served by @apollo/gateway (clients/router.mjs), which
forwards each end user's Authorization header so that a customer sees only their own orders."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.builders import a_token
from tests.contract import operation
from tests.node import require_node, run, serving
from tests.server import Gateway, free_port, gateway, http_client, place_order

pytestmark = pytest.mark.server

ROUTER_TOKEN = "router-token-for-the-supergraph-0123456789"
PRODUCTION_LIKE = {
    "ORDERGATE_PERSISTED_QUERIES": "allowlist",
    "ORDERGATE_INTROSPECTION": "off",
    "ORDERGATE_FIELD_SUGGESTIONS": "off",
    "ORDERGATE_ROUTER_TOKEN": ROUTER_TOKEN,
}


@pytest.fixture(scope="module")
def node() -> str:
    return require_node()


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("supergraph")


@pytest.fixture(scope="module")
def subgraph(directory: Path) -> Iterator[Gateway]:
    with gateway(directory, env=PRODUCTION_LIKE, name="ordergate") as running:
        yield running


def compose(node: str, subgraph: Gateway, supergraph: Path, token: str) -> tuple[int, str]:
    env = {
        "ORDERGATE_URL": f"{subgraph.http_url}/graphql",
        "ORDERGATE_ROUTER_TOKEN": token,
        "SUPERGRAPH": str(supergraph),
    }
    done = run(node, "compose.mjs", env)
    return done.returncode, done.stderr


@pytest.fixture(scope="module")
def router(node: str, subgraph: Gateway, directory: Path) -> Iterator[str]:
    """The router's URL, serving the supergraph composed from `subgraph`."""
    supergraph = directory / "supergraph.graphql"
    status, errors = compose(node, subgraph, supergraph, ROUTER_TOKEN)
    assert status == 0, errors
    port = free_port()
    env = {"ORDERGATE_ROUTER_TOKEN": ROUTER_TOKEN, "SUPERGRAPH": str(supergraph), "PORT": str(port)}
    with serving(node, "router.mjs", env, directory / "router.log", ready="router ready"):
        yield f"http://127.0.0.1:{port}/"


@pytest.fixture
async def through_router(router: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=router, timeout=30) as client:
        yield client


async def query(
    client: httpx.AsyncClient, name: str, variables: dict[str, Any], token: str
) -> dict[str, Any]:
    answer = await client.post(
        "",
        json={"query": operation(name), "variables": variables},
        headers={"authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_composition_needs_the_router_token(node: str, subgraph: Gateway, directory: Path) -> None:
    status, errors = compose(node, subgraph, directory / "refused.graphql", "not-the-router-token")

    assert status != 0
    assert "UNAUTHENTICATED" in errors
    assert not (directory / "refused.graphql").exists()


async def test_through_the_router_a_customer_sees_their_order_and_not_anothers(
    subgraph: Gateway, through_router: httpx.AsyncClient
) -> None:
    async with http_client(subgraph) as http:
        order = await place_order(http, "ann@example.com")
    ann = a_token("customer", email="ann@example.com")
    bob = a_token("customer", email="bob@example.com")

    theirs = await query(through_router, "OrderTracking", {"id": order["id"]}, ann)
    anothers = await query(through_router, "OrderTracking", {"id": order["id"]}, bob)

    assert "errors" not in theirs, theirs
    assert theirs["data"]["order"]["number"] == order["number"]
    assert anothers["data"]["order"] is None
    assert [e["extensions"]["code"] for e in anothers["errors"]] == ["NOT_FOUND"]


async def test_through_the_router_the_dashboard_reads_the_board_as_an_agent(
    subgraph: Gateway, through_router: httpx.AsyncClient
) -> None:
    async with http_client(subgraph) as http:
        order = await place_order(http, "cy@example.com")

    board = await query(
        through_router,
        "OrdersBoard",
        {"first": 5, "filter": {"customerEmail": "cy@example.com"}},
        a_token("agent"),
    )
    anonymous = await through_router.post("", json={"query": operation("NetworkOverview")})

    assert "errors" not in board, board
    assert [edge["node"]["number"] for edge in board["data"]["orders"]["edges"]] == [order["number"]]
    assert [e["extensions"]["code"] for e in anonymous.json()["errors"]] == ["UNAUTHENTICATED"]

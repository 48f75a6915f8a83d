"""Who may call what: every role against every operation, foreign orders, bad tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from ordergate.models.identity import Role
from ordergate.settings import Settings
from tests.builders import a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import error_codes, execute

ROLES = [r.value for r in Role]
ANN, BOB = "ann@example.com", "bob@example.com"


def token_of(role: str) -> str:
    return a_token(role, email=ANN if role == "customer" else None, locations=("ST-CHI",))


async def an_order(client: httpx.AsyncClient, email: str = ANN) -> dict[str, Any]:
    body = await execute(
        client,
        operation("PlaceOrder"),
        {"input": an_order_input(customer={"email": email})},
        token=a_token("agent"),
    )
    order: dict[str, Any] = body["data"]["placeOrder"]["order"]
    return order


QUERY_ACCESS: dict[str, tuple[str, dict[str, Any], set[str]]] = {
    # operation: (document, variables, roles that get data; the others get FORBIDDEN)
    "Catalog": (operation("Catalog"), {"first": 5}, set(ROLES)),
    "Locations": ("{ locations { code } }", {}, set(ROLES)),
    "OrderCounts": ("{ orderCounts { status count } }", {}, {"agent", "admin"}),
    "NetworkMetrics": (
        '{ networkMetrics(from: "2026-11-02", to: "2026-11-03") { totals { orders } } }',
        {},
        {"agent", "admin"},
    ),
    "OrdersBoard": (operation("OrdersBoard"), {"first": 10}, {"customer", "associate", "agent", "admin"}),
}


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(QUERY_ACCESS))
async def test_each_role_gets_only_the_reads_it_is_granted(
    module_client: httpx.AsyncClient, name: str, role: str
) -> None:
    """Reads and refusals, so one gateway serves them all (`module_client`)."""
    document, variables, allowed = QUERY_ACCESS[name]

    body = await execute(module_client, document, variables, token=token_of(role))

    if role in allowed:
        assert "errors" not in body, body
        assert body["data"] is not None
    else:
        assert error_codes(body) == ["FORBIDDEN"]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("name", list(QUERY_ACCESS))
async def test_no_token_gets_an_authentication_error_and_no_data(
    module_client: httpx.AsyncClient, name: str
) -> None:
    document, variables, _ = QUERY_ACCESS[name]

    body = await execute(module_client, document, variables)

    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert body["data"] is None


async def test_a_customers_order_list_holds_only_their_orders(client: httpx.AsyncClient) -> None:
    mine = await an_order(client, ANN)
    await an_order(client, BOB)

    body = await execute(
        client, operation("OrdersBoard"), {"first": 10}, token=a_token("customer", email=ANN)
    )

    assert body["data"]["orders"]["totalCount"] == 1
    assert [e["node"]["id"] for e in body["data"]["orders"]["edges"]] == [mine["id"]]


@pytest.mark.parametrize(
    ("role", "email", "sees_it"),
    [
        ("customer", ANN, True),
        ("customer", BOB, False),
        ("storefront", None, False),
        ("associate", None, False),
        ("agent", None, True),
        ("admin", None, True),
    ],
)
async def test_an_order_is_visible_only_to_its_customer_and_staff(
    client: httpx.AsyncClient, role: str, email: str | None, sees_it: bool
) -> None:
    order = await an_order(client, ANN)

    body = await execute(
        client, operation("OrderTracking"), {"id": order["id"]}, token=a_token(role, email=email)
    )

    if sees_it:
        assert body["data"]["order"]["number"] == order["number"]
    else:
        assert body["data"]["order"] is None
        assert error_codes(body) == ["NOT_FOUND"]
        assert order["number"] not in str(body)


@pytest.mark.parametrize(
    ("role", "email", "allowed"),
    [
        ("storefront", None, True),
        ("customer", ANN, True),
        ("customer", BOB, False),
        ("associate", None, False),
        ("agent", None, True),
        ("admin", None, True),
    ],
)
async def test_who_may_place_an_order(
    client: httpx.AsyncClient, role: str, email: str | None, allowed: bool
) -> None:
    body = await execute(
        client,
        operation("PlaceOrder"),
        {"input": an_order_input(customer={"email": ANN})},
        token=a_token(role, email=email),
    )

    payload = body["data"]["placeOrder"]
    if allowed:
        assert payload["userErrors"] == []
        assert payload["order"]["id"]
    else:
        assert payload["order"] is None
        assert [e["code"] for e in payload["userErrors"]] == ["FORBIDDEN"]


HOLD = (
    "mutation($input: HoldOrderInput!) { holdOrder(input: $input) { order { status } userErrors { code } } }"
)


@pytest.mark.parametrize("role", ROLES)
async def test_only_agents_and_admins_hold_orders(client: httpx.AsyncClient, role: str) -> None:
    order = await an_order(client, ANN)

    body = await execute(
        client, HOLD, {"input": {"orderId": order["id"], "reason": "OTHER"}}, token=token_of(role)
    )

    payload = body["data"]["holdOrder"]
    if role in {"agent", "admin"}:
        assert payload["order"]["status"] == "ON_HOLD"
    else:
        assert [e["code"] for e in payload["userErrors"]] == ["FORBIDDEN"]


@pytest.mark.parametrize(
    ("role", "email", "sees_it"),
    [("customer", ANN, True), ("customer", BOB, False), ("storefront", None, False), ("agent", None, True)],
)
async def test_a_customer_record_is_visible_to_itself_and_staff(
    client: httpx.AsyncClient, role: str, email: str | None, sees_it: bool
) -> None:
    order = await execute(
        client,
        "query($id: ID!) { order(id: $id) { customer { id } } }",
        {"id": (await an_order(client, ANN))["id"]},
        token=a_token("admin"),
    )
    customer_id = order["data"]["order"]["customer"]["id"]

    body = await execute(
        client,
        "query($id: ID!) { customer(id: $id) { email } }",
        {"id": customer_id},
        token=a_token(role, email=email),
    )

    if sees_it:
        assert body["data"]["customer"]["email"] == ANN
    else:
        assert error_codes(body) == ["NOT_FOUND"]


def _signed(claims: dict[str, Any], key: str = Settings().jwt_secret, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


NOW = datetime.now(UTC)
VALID = {"sub": "x", "role": "admin", "exp": int((NOW + timedelta(hours=1)).timestamp())}
BAD_CREDENTIALS = {
    "forged signature": f"Bearer {_signed(VALID, key='not-the-secret-but-long-enough-0123456789')}",
    "expired": f"Bearer {a_token('admin', now=NOW - timedelta(hours=3), ttl_seconds=60)}",
    "unsigned (alg none)": f"Bearer {jwt.encode(VALID, '', algorithm='none')}",
    "unknown role": f"Bearer {_signed({**VALID, 'role': 'superuser'})}",
    "customer without email": f"Bearer {_signed({**VALID, 'role': 'customer'})}",
    "missing exp": f"Bearer {_signed({'sub': 'x', 'role': 'admin'})}",
    "not a jwt": "Bearer abc.def",
    "wrong scheme": f"Basic {a_token('admin')}",
}


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("header", list(BAD_CREDENTIALS.values()), ids=list(BAD_CREDENTIALS))
async def test_a_bad_credential_is_refused_with_401_and_no_data(
    module_client: httpx.AsyncClient, header: str
) -> None:
    response = await module_client.post(
        "/graphql", json={"query": "{ locations { code } }"}, headers={"authorization": header}
    )

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert "data" not in body
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert body["errors"][0]["message"]

"""A running gateway refuses webhook endpoints that point inside its network, each with its
code, and keeps answering other requests while it resolves them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.builders import a_token
from tests.server import DEADLINE, gateway
from tests.targets import INVALID, NOT_ALLOWED

pytestmark = pytest.mark.server

REGISTER = """
mutation Register($input: RegisterWebhookEndpointInput!) {
  registerWebhookEndpoint(input: $input) {
    endpoint { id }
    userErrors { code field message }
  }
}
"""

# The gateway resolves with the system's resolver; this machine has no outside DNS, so only the
# URLs whose hosts need none (literals, names refused by definition) and one that cannot resolve.
NEED_NO_DNS = [url for url in NOT_ALLOWED if not (urlsplit(url).hostname or "").endswith(".example.com")]
UNRESOLVABLE = "http://nowhere.invalid/hooks"


async def post(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"authorization": f"Bearer {a_token('admin')}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_gateway_refuses_each_url_that_points_inside_and_answers_alongside(tmp_path: Path) -> None:
    expected = {url: ["WEBHOOK_URL_NOT_ALLOWED"] for url in [*NEED_NO_DNS, UNRESOLVABLE]}
    expected |= {url: ["INVALID_URL"] for url in INVALID}

    with gateway(tmp_path, env={"ORDERGATE_QUERY_BUDGET": "0"}) as server:  # budgets are not the subject
        async with httpx.AsyncClient(base_url=server.http_url, timeout=DEADLINE) as http:
            *registrations, typename = await asyncio.gather(
                *(post(http, REGISTER, {"input": {"url": url}}) for url in expected),
                post(http, "{ __typename }"),
            )
            listed = await post(http, "{ webhookEndpoints { id url } }")

    codes = {
        url: [e["code"] for e in body["data"]["registerWebhookEndpoint"]["userErrors"]]
        for url, body in zip(expected, registrations, strict=True)
    }
    assert codes == expected
    assert all(body["data"]["registerWebhookEndpoint"]["endpoint"] is None for body in registrations)
    assert typename["data"] == {"__typename": "Query"}
    assert listed["data"]["webhookEndpoints"] == []

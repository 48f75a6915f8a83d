"""Sending GraphQL over HTTP as a client would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
from starlette.applications import Starlette

from ordergate.app import create_app


async def execute(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    sent = dict(headers or {})
    if token is not None:
        sent["authorization"] = f"Bearer {token}"
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=sent
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code", "") for e in body.get("errors") or []]


@asynccontextmanager
async def reconfigured(app: Starlette, **changes: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client of another gateway on the same services (started by `app`), with other settings."""
    other = create_app(replace(app.state.settings, **changes), app.state.services)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=other), base_url="http://ordergate.test"
    ) as c:
        yield c

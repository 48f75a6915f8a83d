"""Persisted queries: Apollo's APQ protocol by default, and an allow-list mode in which only the
registered operations (the client contract) run, sent by hash or in full."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from ordergate.app import create_app
from ordergate.schema import persisted
from tests.builders import a_token
from tests.contract import CONTRACT, operation

STOREFRONT = {"Authorization": f"Bearer {a_token('storefront')}"}
CATALOG_BY_HAND = "query { products(first: 2) { edges { node { sku } } } }"


@asynccontextmanager
async def gateway(app: Starlette, **changes: Any) -> AsyncIterator[httpx.AsyncClient]:
    other = create_app(replace(app.state.settings, **changes), app.state.services)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=other), base_url="http://ordergate.test"
    ) as c:
        yield c


def by_hash(text: str, *, with_query: bool = False, **body: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": persisted.sha256(text)}},
        **body,
    }
    if with_query:
        request["query"] = text
    return request


def codes(answer: httpx.Response) -> list[str | None]:
    return [(e.get("extensions") or {}).get("code") for e in answer.json().get("errors") or []]


def registered(name: str) -> persisted.Registered:
    return next(
        op for op in persisted.load_operations([persisted.OPERATIONS_DIR]).values() if op.name == name
    )


async def test_apq_asks_for_an_unknown_document_once_then_runs_it_by_hash(client: httpx.AsyncClient) -> None:
    unknown = await client.post("/graphql", json=by_hash(CATALOG_BY_HAND), headers=STOREFRONT)
    sent = await client.post("/graphql", json=by_hash(CATALOG_BY_HAND, with_query=True), headers=STOREFRONT)
    again = await client.post("/graphql", json=by_hash(CATALOG_BY_HAND), headers=STOREFRONT)
    over_get = await client.get(
        "/graphql",
        params={"extensions": json.dumps(by_hash(CATALOG_BY_HAND)["extensions"])},
        headers={**STOREFRONT, "Accept": "application/json"},
    )

    assert codes(unknown) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert unknown.json()["errors"][0]["message"] == "PersistedQueryNotFound"  # what Apollo clients look for
    assert "errors" not in sent.json()
    assert again.json()["data"] == sent.json()["data"]
    assert len(again.json()["data"]["products"]["edges"]) == 2
    assert over_get.json()["data"] == sent.json()["data"]


async def test_a_document_that_does_not_match_its_hash_is_refused(client: httpx.AsyncClient) -> None:
    forged = {**by_hash(CATALOG_BY_HAND), "query": "query { locations { id } }"}

    answer = await client.post("/graphql", json=forged, headers=STOREFRONT)

    assert codes(answer) == ["PERSISTED_QUERY_HASH_MISMATCH"]
    assert answer.json().get("data") is None


async def test_a_registered_operation_runs_by_hash_without_being_sent_first(
    client: httpx.AsyncClient,
) -> None:
    catalog = registered("Catalog")

    answer = await client.post(
        "/graphql",
        json={**by_hash(catalog.body), "variables": {"first": 3}, "operationName": "Catalog"},
        headers=STOREFRONT,
    )

    assert "errors" not in answer.json(), answer.json()
    assert len(answer.json()["data"]["products"]["edges"]) == 3


async def test_with_the_allow_list_only_registered_operations_run(app: Starlette) -> None:
    catalog = registered("Catalog")
    reformatted = " ".join(operation("Catalog").split())  # same operation, other whitespace
    async with gateway(app, persisted_queries="allowlist") as strict:
        by_hand = await strict.post("/graphql", json={"query": CATALOG_BY_HAND}, headers=STOREFRONT)
        new_apq = await strict.post(
            "/graphql", json=by_hash(CATALOG_BY_HAND, with_query=True), headers=STOREFRONT
        )
        unknown_hash = await strict.post("/graphql", json=by_hash(CATALOG_BY_HAND), headers=STOREFRONT)
        hashed = await strict.post(
            "/graphql", json={**by_hash(catalog.body), "variables": {"first": 1}}, headers=STOREFRONT
        )
        in_full = await strict.post(
            "/graphql", json={"query": reformatted, "variables": {"first": 1}}, headers=STOREFRONT
        )

    assert codes(by_hand) == ["OPERATION_NOT_ALLOWED"]
    assert codes(new_apq) == ["OPERATION_NOT_ALLOWED"]
    assert codes(unknown_hash) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert "errors" not in hashed.json(), hashed.json()
    assert hashed.json() == in_full.json()


async def test_persisted_queries_can_be_switched_off(app: Starlette) -> None:
    async with gateway(app, persisted_queries="off") as plain:
        answer = await plain.post(
            "/graphql", json=by_hash(CATALOG_BY_HAND, with_query=True), headers=STOREFRONT
        )

    assert codes(answer) == ["PERSISTED_QUERY_NOT_SUPPORTED"]


def test_every_contract_operation_is_registered_once_and_the_copies_match_the_contract() -> None:
    if not CONTRACT.is_dir():
        pytest.skip(f"{CONTRACT} is absent: the client contract lives in ../shared beside the project")
    for source in sorted(CONTRACT.glob("*.graphql")):
        assert (persisted.OPERATIONS_DIR / source.name).read_text() == source.read_text(), source.name
    manifest = json.loads(persisted.manifest(persisted.load_operations([persisted.OPERATIONS_DIR])))
    names = [op["name"] for op in manifest["operations"]]
    expected = sum(
        1
        for source in CONTRACT.glob("*.graphql")
        for line in source.read_text().splitlines()
        if line.startswith(("query ", "mutation ", "subscription "))
    )
    assert len(names) == len(set(names)) == expected
    assert all(op["id"] == persisted.sha256(op["body"]) for op in manifest["operations"])

"""Persisted queries: Apollo's APQ protocol by default, and an allow-list mode in which only the
registered operations (the client contract, and the trusted documents of clients' manifests)
run, sent by hash or in full; questions about the schema follow the introspection setting."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from ordergate.cli import main
from ordergate.schema import persisted
from ordergate.settings import Settings, SettingsError
from tests.builders import a_token
from tests.contract import CONTRACT, operation
from tests.graphql_client import reconfigured

STOREFRONT = {"Authorization": f"Bearer {a_token('storefront')}"}
CATALOG_BY_HAND = "query { products(first: 2) { edges { node { sku } } } }"


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
    async with reconfigured(app, persisted_queries="allowlist") as strict:
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
    async with reconfigured(app, persisted_queries="off") as plain:
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


# --- trusted documents as clients' tools write them --------------------------------------------


def contract_bodies() -> dict[str, str]:
    """Operation name -> its registered text."""
    return {op.name: op.body for op in persisted.load_operations([persisted.OPERATIONS_DIR]).values()}


def written(tmp_path: Path, name: str, content: object) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


MANIFESTS: dict[str, Callable[[dict[str, str]], dict[str, Any]]] = {
    "apollo": lambda bodies: {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            {"id": persisted.sha256(b), "name": n, "type": "query", "body": b} for n, b in bodies.items()
        ],
    },
    "relay-md5": lambda bodies: {hashlib.md5(b.encode()).hexdigest(): b for b in bodies.values()},  # noqa: S324
    "relay-sha1": lambda bodies: {hashlib.sha1(b.encode()).hexdigest(): b for b in bodies.values()},  # noqa: S324
    "codegen": lambda bodies: {f"sha256:{persisted.sha256(b)}": b for b in bodies.values()},
}


@pytest.mark.parametrize("fmt", list(MANIFESTS))
def test_each_client_manifest_format_registers_its_documents_by_id_and_by_sha256(
    tmp_path: Path, fmt: str
) -> None:
    bodies = {name: persisted.with_typename(body) for name, body in contract_bodies().items()}
    content = MANIFESTS[fmt](bodies)
    ids = [op["id"] for op in content["operations"]] if fmt == "apollo" else list(content)

    registered = persisted.load_documents(written(tmp_path, "manifest.json", content))

    assert set(registered) == set(ids) | {persisted.sha256(b) for b in bodies.values()}
    assert {op.name for op in registered.values()} == set(bodies)
    assert all(registered[i].body == registered[persisted.sha256(registered[i].body)].body for i in ids)


CATALOG = "query Catalog { products(first: 1) { edges { node { sku } } } }"
MALFORMED: dict[str, tuple[object, str]] = {
    "not JSON": ("{", "not JSON"),
    "a list": (["query { x }"], "expected an Apollo manifest or an object"),
    "empty": ({}, "expected an Apollo manifest or an object"),
    "apollo without operations": (
        {"format": "apollo-persisted-query-manifest", "version": 1},
        '"operations"',
    ),
    "apollo, another version": (
        {"format": "apollo-persisted-query-manifest", "version": 2, "operations": []},
        '"version": 1',
    ),
    "apollo entry without body": (
        {"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id": "x", "name": "C"}]},
        "operations[0] needs string id, name, type, body",
    ),
    "apollo id not the body's hash": (
        {
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [
                {"id": persisted.sha256("other"), "name": "Catalog", "type": "query", "body": CATALOG}
            ],
        },
        "operations[0] (Catalog): id is not the sha256 of body",
    ),
    "key not a digest of its text": ({persisted.sha256("other"): CATALOG}, "is not the md5, sha1 or sha256"),
    "prefixed key of another text": ({f"sha256:{persisted.sha256('other')}": CATALOG}, "is not the md5"),
    "value not text": ({"abc": 1}, "is not a document's text"),
    "text that does not parse": ({persisted.sha256("query {"): "query {"}, "does not parse"),
    "text without an operation": (
        {persisted.sha256("fragment F on Query { x }"): "fragment F on Query { x }"},
        "has no operation",
    ),
}


@pytest.mark.parametrize(("content", "message"), MALFORMED.values(), ids=list(MALFORMED))
def test_a_malformed_manifest_is_a_settings_error_naming_the_file(
    tmp_path: Path, content: object, message: str
) -> None:
    path = written(tmp_path, "manifest.json", content)

    with pytest.raises(SettingsError, match="ORDERGATE_TRUSTED_DOCUMENTS") as error:
        persisted.load_documents(path)

    assert str(path) in str(error.value)
    assert message in str(error.value)


def test_a_missing_manifest_is_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot be read"):
        persisted.for_settings(Settings(trusted_documents=(str(tmp_path / "absent.json"),)))


def test_serve_says_plainly_that_a_manifest_is_malformed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ORDERGATE_TRUSTED_DOCUMENTS", str(written(tmp_path, "bad.json", "{")))

    assert main(["serve", "--port", "1"]) == 2
    assert "ORDERGATE_TRUSTED_DOCUMENTS" in capsys.readouterr().err


def test_typename_is_added_where_apollo_client_adds_it() -> None:
    document = """
    query Q($id: ID!) {
      order(id: $id) { id lines { sku } ... on Order { customer { email } } }
      typed: order(id: $id) { __typename id }
      __schema { types { name } }
    }
    fragment F on Order { shipments { status } }
    """

    assert persisted.with_typename(document) == (
        "query Q($id: ID!) {\n"
        "  order(id: $id) {\n"
        "    id\n"
        "    lines {\n      sku\n      __typename\n    }\n"
        "    ... on Order {\n      customer {\n        email\n        __typename\n      }\n"
        "      __typename\n    }\n"
        "    __typename\n"
        "  }\n"
        "  typed: order(id: $id) {\n    __typename\n    id\n  }\n"
        "  __schema {\n    types {\n      name\n      __typename\n    }\n    __typename\n  }\n"
        "}\n\n"
        "fragment F on Order {\n  shipments {\n    status\n    __typename\n  }\n  __typename\n}"
    )


@pytest.mark.parametrize("fmt", ["apollo", "relay", "codegen"])
@pytest.mark.parametrize("typename", [False, True], ids=["as-written", "typename"])
def test_operations_writes_each_format_that_loads_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, typename: bool
) -> None:
    expected = {persisted.with_typename(body) if typename else body for body in contract_bodies().values()}

    assert main(["operations", "--format", fmt, *(["--typename"] if typename else [])]) == 0
    registered = persisted.load_documents(written(tmp_path, f"{fmt}.json", capsys.readouterr().out))

    assert {op.body for op in registered.values()} == expected
    assert set(registered) == {persisted.sha256(body) for body in expected}


async def test_apollo_client_hashes_run_only_once_their_manifest_is_loaded(
    app: Starlette, tmp_path: Path
) -> None:
    sent = persisted.with_typename(registered("Catalog").body)  # what Apollo Client sends
    apollo = by_hash(sent, variables={"first": 1})
    async with reconfigured(app, persisted_queries="allowlist") as before:
        unknown = await before.post("/graphql", json=apollo, headers=STOREFRONT)
        in_full = await before.post("/graphql", json={**apollo, "query": sent}, headers=STOREFRONT)
    contract = persisted.load_operations([persisted.OPERATIONS_DIR])
    manifest = written(tmp_path, "apollo.json", persisted.manifest(contract, typename=True))
    async with reconfigured(app, persisted_queries="allowlist", trusted_documents=(str(manifest),)) as after:
        hashed = await after.post("/graphql", json=apollo, headers=STOREFRONT)
        other = await after.post(
            "/graphql", json=by_hash(CATALOG_BY_HAND, with_query=True), headers=STOREFRONT
        )

    assert codes(unknown) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert codes(in_full) == ["OPERATION_NOT_ALLOWED"]
    assert "errors" not in hashed.json(), hashed.json()
    assert hashed.json()["data"]["products"]["edges"][0]["node"]["__typename"] == "Product"
    assert codes(other) == ["OPERATION_NOT_ALLOWED"]


async def test_a_codegen_document_runs_by_its_prefixed_hash(app: Starlette, tmp_path: Path) -> None:
    text = "query Catalog($first: Int!) { products(first: $first) { edges { node { sku } } } }"
    document_id = f"sha256:{persisted.sha256(text)}"  # codegen's `__meta__.hash`
    manifest = written(tmp_path, "persisted-documents.json", {document_id: text})
    request = {
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": document_id}},
        "variables": {"first": 1},
    }
    async with reconfigured(app, persisted_queries="allowlist", trusted_documents=(str(manifest),)) as strict:
        answer = await strict.post("/graphql", json=request, headers=STOREFRONT)

    assert "errors" not in answer.json(), answer.json()
    assert len(answer.json()["data"]["products"]["edges"]) == 1


SCHEMA_QUESTIONS = {
    "introspection": "{ __schema { queryType { name } } }",
    "federation sdl": "{ _service { sdl } }",
}


@pytest.mark.parametrize("question", list(SCHEMA_QUESTIONS))
async def test_in_allowlist_mode_questions_about_the_schema_follow_the_introspection_setting(
    app: Starlette, question: str
) -> None:
    query = {"query": SCHEMA_QUESTIONS[question]}
    async with (
        reconfigured(app, persisted_queries="allowlist") as open_schema,
        reconfigured(app, persisted_queries="allowlist", introspection=False) as closed,
    ):
        answered = await open_schema.post("/graphql", json=query, headers=STOREFRONT)
        refused = await closed.post("/graphql", json=query, headers=STOREFRONT)
        typename = await closed.post("/graphql", json={"query": "{ __typename }"}, headers=STOREFRONT)

    assert "errors" not in answered.json(), answered.json()
    assert set(codes(refused)) == {"INTROSPECTION_DISABLED"}
    assert typename.json()["data"] == {"__typename": "Query"}


async def test_in_allowlist_mode_a_schema_question_does_not_carry_an_unregistered_field(
    app: Starlette,
) -> None:
    smuggled = "{ __schema { queryType { name } } products(first: 1) { edges { node { sku } } } }"
    async with reconfigured(app, persisted_queries="allowlist") as strict:
        answer = await strict.post("/graphql", json={"query": smuggled}, headers=STOREFRONT)

    assert codes(answer) == ["OPERATION_NOT_ALLOWED"]


async def test_in_allowlist_mode_health_and_metrics_are_answered(app: Starlette) -> None:
    async with reconfigured(app, persisted_queries="allowlist", introspection=False) as strict:
        health = await strict.get("/healthz")
        ready = await strict.get("/readyz")
        scraped = await strict.get("/metrics")

    assert (health.status_code, ready.status_code, scraped.status_code) == (200, 200, 200)
    assert "ordergate_graphql_requests" in scraped.text


async def test_in_apq_mode_a_loaded_manifest_spares_apollo_client_its_first_miss(
    app: Starlette, tmp_path: Path
) -> None:
    contract = persisted.load_operations([persisted.OPERATIONS_DIR])
    manifest = written(tmp_path, "apollo.json", persisted.manifest(contract, typename=True))
    apollo = by_hash(persisted.with_typename(registered("Catalog").body), variables={"first": 1})
    async with (
        reconfigured(app) as contract_only,
        reconfigured(app, trusted_documents=(str(manifest),)) as with_manifest,
    ):
        missed = await contract_only.post("/graphql", json=apollo, headers=STOREFRONT)
        hit = await with_manifest.post("/graphql", json=apollo, headers=STOREFRONT)

    assert codes(missed) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert "errors" not in hit.json(), hit.json()

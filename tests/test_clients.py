"""The clients storefront and mobile teams use, against a real allow-listed gateway: Apollo
Client 4 (persisted queries by hash, graphql-ws subscriptions resumed by cursor), urql, and
GraphQL Code Generator; each setup is a file in clients/ that docs/clients.md shows."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ordergate.schema import persisted
from tests.builders import a_token
from tests.node import CLIENTS, ROOT, codegen, require_node, run_json
from tests.node import apollo_manifest as write_apollo_manifest
from tests.server import BEGINNING, Gateway, gateway, http_client, place_order, position

pytestmark = pytest.mark.server

ALLOWLIST = {"ORDERGATE_PERSISTED_QUERIES": "allowlist"}


def ordergate(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "ordergate.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


@pytest.fixture(scope="module")
def node() -> str:
    return require_node()


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clients")


@pytest.fixture(scope="module")
def from_sdl(node: str, directory: Path) -> Path:
    """What codegen generates from the committed SDL: types and persisted-documents.json."""
    output = directory / "codegen-sdl"
    codegen(node, output)
    return output


@pytest.fixture(scope="module")
def apollo_manifest(node: str, directory: Path) -> Path:
    """What Apollo's own tool writes for the app's sources (clients/apollo-*.mjs)."""
    path = directory / "persisted-query-manifest.json"
    write_apollo_manifest(node, path)
    return path


@pytest.fixture(scope="module")
def ours(directory: Path) -> Path:
    """`ordergate operations --format apollo --typename`: the contract as Apollo Client sends it."""
    path = directory / "ordergate-manifest.json"
    path.write_text(ordergate("operations", "--format", "apollo", "--typename"))
    return path


@pytest.fixture(scope="module")
def server(directory: Path, apollo_manifest: Path, from_sdl: Path) -> Iterator[Gateway]:
    """Allow-list mode, with the manifests of Apollo's tool and of codegen loaded."""
    documents = f"{apollo_manifest},{from_sdl / 'persisted-documents.json'}"
    with gateway(directory, env={**ALLOWLIST, "ORDERGATE_TRUSTED_DOCUMENTS": documents}) as running:
        yield running


def client_env(server: Gateway, token: str) -> dict[str, str]:
    return {"ORDERGATE_URL": f"{server.http_url}/graphql", "ORDERGATE_TOKEN": token}


STOREFRONT = a_token("storefront")


def entries(manifest: Path) -> dict[str, dict[str, str]]:
    return {op["name"]: op for op in json.loads(manifest.read_text())["operations"]}


def test_the_typename_variant_is_byte_for_byte_what_apollo_client_and_urql_send(
    node: str, directory: Path, ours: Path
) -> None:
    as_written = directory / "as-written.json"
    as_written.write_text(ordergate("operations", "--format", "apollo"))
    expected = {name: op["body"] for name, op in entries(ours).items()}

    sent = run_json(node, "check-typename.mjs", {}, str(as_written))

    assert len(sent) == len(expected) == len(persisted.load_operations([persisted.OPERATIONS_DIR]))
    assert {name: texts["apollo"] for name, texts in sent.items()} == expected
    assert {name: texts["urql"] for name, texts in sent.items()} == expected


def test_apollos_manifest_tool_and_ordergate_operations_agree_on_the_contract(
    apollo_manifest: Path, ours: Path
) -> None:
    from_the_app = entries(apollo_manifest)
    from_the_contract = entries(ours)

    assert sorted(from_the_app) == ["Catalog", "OrderUpdates"]
    assert {name: from_the_contract[name] for name in from_the_app} == from_the_app


def test_apollo_client_is_refused_until_its_manifest_is_loaded(node: str, directory: Path) -> None:
    with gateway(directory, env=ALLOWLIST, name="contract-only") as contract_only:
        answer = run_json(node, "apollo-query.mjs", client_env(contract_only, STOREFRONT))

    assert answer["catalog"] == {"data": None, "codes": ["OPERATION_NOT_ALLOWED"]}
    assert [bool(sent["query"]) for sent in answer["catalogSent"]] == [False, True]  # hash, then in full


def test_with_its_manifest_apollo_client_runs_by_hash_only_and_an_unregistered_query_is_refused(
    node: str, server: Gateway
) -> None:
    answer = run_json(node, "apollo-query.mjs", client_env(server, STOREFRONT))

    catalog = answer["catalog"]
    assert catalog["codes"] == []
    assert len(catalog["data"]["products"]["edges"]) == 2
    assert catalog["data"]["products"]["edges"][0]["node"]["__typename"] == "Product"
    assert answer["catalogSent"] == [{"hash": answer["catalogSent"][0]["hash"], "query": None}]
    assert answer["unregistered"] == {"data": None, "codes": ["OPERATION_NOT_ALLOWED"]}
    assert [bool(sent["query"]) for sent in answer["unregisteredSent"]] == [False, True]


async def test_apollo_client_follows_an_order_over_graphql_ws_and_resumes_after_its_last_cursor(
    node: str, server: Gateway
) -> None:
    async with http_client(server) as http:
        order = await place_order(http, "ann@example.com")
    env = {
        **client_env(server, a_token("customer", email="ann@example.com")),
        "ORDER_ID": order["id"],
        "AFTER": BEGINNING,
        "FIRST_COUNT": "1",
        "THEN_COUNT": "1",
    }

    answer = run_json(node, "apollo-subscription.mjs", env)

    (first,), (resumed,) = answer["first"], answer["resumed"]
    assert (first["type"], resumed["type"]) == ("ORDER_PLACED", "ORDER_CONFIRMED")
    assert first["order"]["id"] == resumed["order"]["id"] == order["id"]
    assert position(BEGINNING) < position(first["cursor"]) < position(resumed["cursor"])


def test_urql_runs_the_contract_query_by_hash(node: str, server: Gateway) -> None:
    answer = run_json(node, "urql-query.mjs", client_env(server, STOREFRONT))

    assert answer["codes"] == []
    assert [edge["node"]["__typename"] for edge in answer["data"]["products"]["edges"]] == ["Product"] * 2


def test_codegen_types_from_the_committed_sdl_equal_those_from_introspecting_an_allowlisted_gateway(
    node: str, server: Gateway, directory: Path, from_sdl: Path
) -> None:
    from_gateway = directory / "codegen-introspection"

    codegen(node, from_gateway, schema=f"{server.http_url}/graphql")

    types = (from_sdl / "graphql.ts").read_text()
    assert "export type OrderTrackingQuery = " in types
    assert (from_gateway / "graphql.ts").read_text() == types


async def test_codegen_persisted_documents_run_by_their_hash(server: Gateway, from_sdl: Path) -> None:
    documents: dict[str, str] = json.loads((from_sdl / "persisted-documents.json").read_text())
    catalog = next(key for key, text in documents.items() if text.startswith("query Catalog"))

    async with httpx.AsyncClient(base_url=server.http_url) as http:
        answer = await http.post(
            "/graphql",
            json={
                "extensions": {"persistedQuery": {"version": 1, "sha256Hash": catalog}},
                "variables": {"first": 1},
            },
            headers={"authorization": f"Bearer {STOREFRONT}"},
        )

    assert catalog.startswith("sha256:")
    assert "errors" not in answer.json(), answer.json()
    assert len(answer.json()["data"]["products"]["edges"]) == 1


# --- the guide shows only code that runs ------------------------------------------------------

FENCE = re.compile(r"^```(\w+) (\S+)\n(.*?)^```$", re.DOTALL | re.MULTILINE)
TESTS = ("test_clients.py", "test_supergraph.py", "node.py")


def snippets() -> list[tuple[str, str]]:
    """(file, text) of each fenced block in docs/clients.md, which names its file after the
    language (js clients/apollo-client.mjs)."""
    return [(path, text) for _, path, text in FENCE.findall((ROOT / "docs" / "clients.md").read_text())]


def run_by_tests() -> set[str]:
    """The files in clients/ that the tests start (named as strings there), and what they import."""
    tests = "".join((ROOT / "tests" / name).read_text() for name in TESTS)
    run = {name for name in re.findall(r'"([\w.-]+\.(?:mjs|ts))"', tests) if (CLIENTS / name).is_file()}
    pending = list(run)
    while pending:
        for imported in re.findall(r'from "\./([\w.-]+)"', (CLIENTS / pending.pop()).read_text()):
            if imported not in run:
                run.add(imported)
                pending.append(imported)
    return run


def test_every_snippet_of_the_client_guide_is_in_the_file_it_names_and_that_file_is_run() -> None:
    guide = (ROOT / "docs" / "clients.md").read_text()
    blocks = snippets()
    run = run_by_tests()

    assert blocks, "docs/clients.md has no snippets"
    assert len(blocks) == guide.count("\n```") // 2, "a fenced block does not name its file"
    for path, text in blocks:
        source = ROOT / path
        assert source.parent == CLIENTS, path
        assert text in source.read_text(), f"docs/clients.md shows text that is not in {path}"
        assert source.name in run, f"{path} is shown in docs/clients.md but no test runs it"

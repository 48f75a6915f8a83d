"""Fuzzing the running gateway in GraphQL mode with schemathesis: every query and mutation
field, with generated arguments and selections, as an admin (who reaches every resolver).
Whatever is generated, the answer is never a server error: no 5xx, no `INTERNAL` error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes

from tests.builders import a_token
from tests.server import Gateway, gateway

pytestmark = pytest.mark.server

ADMIN = {"Authorization": f"Bearer {a_token('admin', ttl_seconds=3600)}"}
EXAMPLES = 15  # per field: bounded, so the whole run stays under a minute here
# Money arrives as Decimal strings; schemathesis needs telling how to make them, sane or not.
schemathesis.graphql.scalar(
    "Decimal",
    st.one_of(st.decimals(allow_nan=True, allow_infinity=True).map(str), st.text(max_size=12)).map(
        nodes.String
    ),
)


@pytest.fixture(scope="module")
def fuzzed_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    directory: Path = tmp_path_factory.mktemp("fuzz")
    # Budgets would (correctly) throttle a fuzzer; what is under test here is every resolver.
    with gateway(directory, env={"ORDERGATE_QUERY_BUDGET": "0"}) as running:
        yield running


@pytest.fixture(scope="module")
def graphql_schema(fuzzed_gateway: Gateway) -> Any:
    return schemathesis.graphql.from_url(f"{fuzzed_gateway.http_url}/graphql", headers=ADMIN, timeout=10)


def test_no_generated_operation_is_a_server_error(graphql_schema: Any) -> None:
    operations = [result.ok() for result in graphql_schema.get_all_operations()]
    labels = {operation.label for operation in operations}
    assert {"Query.orders", "Mutation.placeOrder", "Mutation.cancelOrder", "Mutation.routeOrder"} <= labels

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: Any) -> None:
            response = case.call(headers=ADMIN, timeout=30)
            assert response.status_code < 500, f"{case.body}: {response.text}"
            body = response.json()
            codes = [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]
            assert "INTERNAL" not in codes, f"{case.body}: {body}"

        fuzz()

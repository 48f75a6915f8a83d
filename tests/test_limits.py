"""Limits checked before an operation runs (depth, aliases, tokens, cost), each client's
budget, and the production switches for introspection and suggestions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing, asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from graphql import GraphQLSyntaxError, parse, validate
from sqlalchemy import event
from starlette.applications import Starlette

from ordergate.app import create_app
from ordergate.auth import verify_token
from ordergate.models.budget import Budget
from ordergate.schema import cost as cost_module
from ordergate.schema.build import build_schema
from ordergate.schema.context import Context
from ordergate.schema.cost import ROOT_WEIGHT, QueryCost, priced
from ordergate.schema.limits import validation_rules
from ordergate.settings import Settings
from ordergate.usecases.services import Services
from ordergate.usecases.short_positions import HOLDERS_SHOWN
from tests.builders import a_token, an_order_input
from tests.contract import operation, operations
from tests.graphql_client import error_codes, execute

DEFAULTS = Settings()
ADMIN = a_token("admin")
AGENT = a_token("agent")
LIMIT_CODES = {
    "QUERY_TOO_DEEP",
    "TOO_MANY_ALIASES",
    "TOO_MANY_TOKENS",
    "QUERY_TOO_COSTLY",
    "THROTTLED",
    "INTROSPECTION_DISABLED",
}
MISSING = "TWlzc2luZzow"
# What each contract operation sends, at the page sizes its client asks for (the default 50).
VARIABLES: dict[str, dict[str, Any]] = {
    "OrdersBoard": {"first": 50},
    "OrderDetail": {"id": MISSING},
    "NetworkOverview": {},
    "LiveOrders": {},
    "OrderTracking": {"id": MISSING},
    "OrderUpdates": {"orderId": MISSING},
    "CancelMyOrder": {"input": {"orderId": MISSING, "reason": "CUSTOMER"}},
    "StartReturn": {
        "input": {"orderId": MISSING, "lines": [{"lineId": MISSING, "quantity": 1, "reason": "x"}]}
    },
    "WorkQueue": {"locationId": MISSING},
    "Accept": {"id": MISSING},
    "StartPicking": {"id": MISSING},
    "Pack": {"id": MISSING},
    "Ship": {"input": {"fulfillmentOrderId": MISSING}},
    "ReadyForPickup": {"id": MISSING},
    "HandOver": {"id": MISSING},
    "Reject": {"id": MISSING, "reason": "damaged"},
    "QueueUpdates": {"locationId": MISSING},
    "Catalog": {"first": 50},
    "ProductAvailability": {"skus": [f"SKU-{n}" for n in range(50)], "destination": {"countryCode": "US"}},
    "DeliveryOptions": {"lines": [{"sku": "MUG-BLUE", "quantity": 1}], "destination": {"countryCode": "US"}},
    "HoldStock": {"input": {"idempotencyKey": "hold-1", "lines": [{"sku": "MUG-BLUE", "quantity": 1}]}},
    "PlaceOrder": {"input": an_order_input()},
}
PRODUCTS = (
    "query Products($first: Int!) { products(first: $first) { edges { node { sku price { amount } } } } }"
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The production budget, which the other tests turn off."""
    return replace(settings, query_budget=DEFAULTS.query_budget)


@dataclass
class FakeClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(services: Services) -> FakeClock:
    clock = FakeClock(datetime.now(UTC))
    services.clock = clock
    return clock


@asynccontextmanager
async def gateway(app: Starlette, **changes: Any) -> AsyncIterator[httpx.AsyncClient]:
    """Another gateway on the same services (started by `app`), with other settings."""
    async with gateway_on(app.state.settings, app.state.services, **changes) as c:
        yield c


@asynccontextmanager
async def gateway_on(
    settings: Settings, services: Services, **changes: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway on these services with these settings, changed."""
    other = create_app(replace(settings, **changes), services)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=other), base_url="http://ordergate.test"
    ) as c:
        yield c


@pytest.fixture(scope="module")
def switched(module_settings: Settings, module_services: Services) -> Any:
    """Gateways with a switch changed (introspection, suggestions), for tests whose requests are
    all refused or read only the schema: they share the module's services (one start per
    backend, not one per test), with the production budget as this file's other tests have."""

    def made(**changes: Any) -> Any:
        return gateway_on(module_settings, module_services, query_budget=DEFAULTS.query_budget, **changes)

    return made


@contextmanager
def counting_statements(services: Services) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    engines = {services.store.read_engine.sync_engine, services.store.write_engine.sync_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


def nested(depth: int) -> str:
    """A placed order's fulfilment orders' order's ... `depth` levels down."""
    names = ["fulfillmentOrders" if level % 2 == 0 else "order" for level in range(depth - 2)]
    inner = "id"
    for name in reversed(names):
        inner = f"{name} {{ {inner} }}"
    return (
        f"mutation Deep($input: PlaceOrderInput!) {{ placeOrder(input: $input) {{ order {{ {inner} }} }} }}"
    )


async def order_count(client: httpx.AsyncClient) -> int:
    body = await execute(client, "{ orders(first: 1) { totalCount } }", token=AGENT)
    count: int = body["data"]["orders"]["totalCount"]
    return count


async def test_an_operation_deeper_than_the_limit_is_refused_before_it_runs(
    client: httpx.AsyncClient,
) -> None:
    body = await execute(
        client, nested(DEFAULTS.max_query_depth + 2), {"input": an_order_input()}, token=AGENT
    )

    assert error_codes(body) == ["QUERY_TOO_DEEP"]
    assert body["data"] is None
    assert await order_count(client) == 0


async def test_an_operation_at_the_depth_limit_runs(client: httpx.AsyncClient) -> None:
    body = await execute(client, nested(DEFAULTS.max_query_depth), {"input": an_order_input()}, token=AGENT)

    assert "errors" not in body, body
    assert await order_count(client) == 1


async def test_more_aliases_than_the_limit_are_refused(client: httpx.AsyncClient) -> None:
    aliases = " ".join(f"a{n}: sku" for n in range(DEFAULTS.max_query_aliases + 1))

    body = await execute(
        client, f"{{ products(first: 1) {{ edges {{ node {{ {aliases} }} }} }} }}", token=AGENT
    )

    assert error_codes(body) == ["TOO_MANY_ALIASES"]
    assert body["data"] is None


async def test_a_document_longer_than_the_token_limit_is_not_parsed(client: httpx.AsyncClient) -> None:
    fields = " ".join(["sku"] * DEFAULTS.max_query_tokens)

    body = await execute(
        client, f"{{ products(first: 1) {{ edges {{ node {{ {fields} }} }} }} }}", token=AGENT
    )

    assert error_codes(body) == ["TOO_MANY_TOKENS"], body
    assert f"more than {DEFAULTS.max_query_tokens} tokens" in body["errors"][0]["message"]


COSTLY = """
{ orders(first: 250) { edges { node {
    lines { sku }
    fulfillmentOrders { location { code } lines { sku } }
    shipments { events { status } }
} } } }
"""


@pytest.mark.no_relay
async def test_a_costly_query_is_refused_with_its_cost_before_it_runs(
    client: httpx.AsyncClient, services: Services
) -> None:
    with counting_statements(services) as statements:
        response = await client.post(
            "/graphql",
            json={"query": COSTLY},
            headers={"authorization": f"Bearer {AGENT}", "accept": "application/graphql-response+json"},
        )

    body = response.json()
    assert response.status_code == 400
    assert "data" not in body
    assert error_codes(body) == ["QUERY_TOO_COSTLY"]
    # per order: itself, lines, fulfilment orders with location and lines, shipments with events
    assert body["errors"][0]["extensions"]["cost"] == 250 * 7
    assert body["errors"][0]["extensions"]["maxCost"] == DEFAULTS.max_query_cost
    assert body["extensions"]["cost"]["requestedQueryCost"] == 250 * 7
    assert body["extensions"]["cost"]["actualQueryCost"] == 0
    assert statements == []


def test_a_connection_costs_its_page_times_its_node_and_an_oversized_page_nothing() -> None:
    pricing = QueryCost(build_schema()._schema, page_cap=250)

    def cost(first: int) -> int:
        priced = pricing.operation(parse(operation("OrdersBoard")), "OrdersBoard", {"first": first})
        assert priced is not None
        return priced.requested()

    # per order: itself, customer, total, lines, fulfillmentOrders and their location, shipments
    assert cost(1) == 7
    assert cost(50) == 350
    assert cost(250) == 1750
    assert cost(251) == 0  # refused by its resolver (PAGE_SIZE_TOO_LARGE) before any work


def test_the_work_at_a_short_position_is_priced_at_the_most_a_position_shows() -> None:
    pricing = QueryCost(build_schema()._schema, page_cap=250)

    def cost(holders: str) -> int:
        document = parse(f"{{ shortPositions(first: 2) {{ edges {{ node {{ sku {holders} }} }} }} }}")
        priced = pricing.operation(document, None, {})
        assert priced is not None
        return priced.requested()

    bare = cost("")
    assert bare == 2  # the page's two positions
    default = pricing.operation(
        parse("{ shortPositions { edges { node { holders { fulfillmentOrder { order { id } } } } } } }"),
        None,
        {},
    )
    assert default is not None
    assert default.requested() <= DEFAULTS.max_query_cost  # the natural query runs
    assert cost("holders { quantity }") == bare + 2 * HOLDERS_SHOWN
    assert cost("holders { quantity fulfillmentOrder { id } }") == bare + 2 * HOLDERS_SHOWN * 2


def test_a_routing_what_if_costs_its_own_weight_whatever_little_it_returns() -> None:
    pricing = QueryCost(build_schema()._schema, page_cap=250)
    document = parse(
        """
        query WhatIf($policy: SetRoutingPolicyInput!, $from: DateTime!, $to: DateTime!) {
          simulateRouting(policy: $policy, from: $from, to: $to) { changedOrders current { splitRate } }
        }
        """
    )
    policy = {"weights": {"distance": 1, "cost": 0, "capacity": 0, "priority": 0}, "maxSplit": 1}
    variables = {"policy": policy, "from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"}

    priced = pricing.operation(document, "WhatIf", variables)

    assert priced is not None
    assert priced.requested() == ROOT_WEIGHT[("Query", "simulateRouting")] + 1 == 201  # and current
    answered = {"simulateRouting": {"changedOrders": 0, "current": {"splitRate": None}}}
    assert priced.actual(answered) == 201


def test_a_mutation_costs_its_base_weight_and_fragments_and_skips_are_resolved() -> None:
    pricing = QueryCost(build_schema()._schema, page_cap=250)
    document = parse(
        """
        mutation Accept($id: ID!, $withOrder: Boolean!) {
          acceptFulfillmentOrder(id: $id) { ...Moved userErrors { code } }
        }
        fragment Moved on FulfillmentOrderPayload {
          fulfillmentOrder { id order @include(if: $withOrder) { id } }
        }
        """
    )

    with_order = pricing.operation(document, "Accept", {"id": "x", "withOrder": True})
    without = pricing.operation(document, "Accept", {"id": "x", "withOrder": False})

    assert with_order is not None
    assert without is not None
    assert with_order.requested() == 10 + 1 + 1 + 1  # base, fulfillmentOrder, order, userErrors
    assert without.requested() == 10 + 1 + 1


async def test_every_response_reports_requested_and_actual_cost_and_the_bucket(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await execute(client, operation("PlaceOrder"), {"input": an_order_input()}, token=ADMIN)
    before = (await execute(client, "{ locations { code } }", token=ADMIN))["extensions"]["cost"]

    body = await execute(client, operation("OrdersBoard"), {"first": 50}, token=ADMIN)

    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 350
    assert 0 < cost["actualQueryCost"] < cost["requestedQueryCost"]  # one order, not fifty
    status = cost["throttleStatus"]
    assert status["maximumAvailable"] == DEFAULTS.query_budget
    assert status["restoreRate"] == DEFAULTS.query_budget_restore_rate
    assert (
        status["currentlyAvailable"]
        == before["throttleStatus"]["currentlyAvailable"] - cost["actualQueryCost"]
    )


async def test_a_client_over_its_budget_is_throttled_told_when_to_retry_and_served_after(
    app: Starlette, clock: FakeClock
) -> None:
    async with gateway(app, query_budget=30, query_budget_restore_rate=4) as client:
        for _ in range(3):  # 10 points each: five products and their prices
            body = await execute(client, PRODUCTS, {"first": 5}, token=AGENT)
            assert body["extensions"]["cost"]["actualQueryCost"] == 10

        throttled = await client.post(
            "/graphql",
            json={"query": PRODUCTS, "variables": {"first": 5}},
            headers={"authorization": f"Bearer {AGENT}"},
        )
        other = await execute(client, PRODUCTS, {"first": 5}, token=a_token("agent", subject="another-agent"))
        clock.advance(2)
        still = await client.post(
            "/graphql",
            json={"query": PRODUCTS, "variables": {"first": 5}},
            headers={"authorization": f"Bearer {AGENT}"},
        )
        clock.advance(1)
        served = await execute(client, PRODUCTS, {"first": 5}, token=AGENT)

    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] == "3"  # 10 points at 4 a second
    body = throttled.json()
    assert error_codes(body) == ["THROTTLED"]
    assert body["errors"][0]["extensions"]["retryAfter"] == 3
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 0
    assert "errors" not in other
    assert still.status_code == 429
    assert still.headers["retry-after"] == "1"
    assert "errors" not in served
    assert served["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 2


async def test_a_subscription_is_metered_once_when_it_starts(services: Services, clock: FakeClock) -> None:
    schema = build_schema(replace(DEFAULTS, query_budget=1, query_budget_restore_rate=1))
    agent = verify_token(DEFAULTS, AGENT)
    spent = await schema.execute("{ locations { code } }", context_value=Context(services, agent))
    assert spent.errors is None
    assert spent.extensions == {
        "cost": {
            "requestedQueryCost": 1,
            "actualQueryCost": 1,
            "throttleStatus": {"maximumAvailable": 1, "currentlyAvailable": 0, "restoreRate": 1},
        }
    }

    stream = await schema.subscribe(
        'subscription { availabilityChanged(skus: ["MUG-BLUE"]) { sku } }',
        context_value=Context(services, agent),
    )
    async with aclosing(stream):
        first = await anext(stream)

    assert [(e.extensions or {}).get("code") for e in first.errors or []] == ["THROTTLED"]


def test_a_bucket_refills_at_its_rate_up_to_its_capacity_and_refunds_what_was_not_spent() -> None:
    budget = Budget(capacity=100, restore_rate=10)

    assert budget.reserve("ann", 80, now=0).granted
    refused = budget.reserve("ann", 50, now=1)  # 30 available
    assert (refused.granted, refused.retry_after_seconds) == (False, 2)
    assert budget.refund("ann", 40, now=1).currently_available == 70
    assert budget.status("ann", now=100).currently_available == 100
    assert budget.status("bob", now=1).currently_available == 100


def in_schema(document: str) -> bool:
    """Whether the schema serves this contract operation yet (some come with later issues)."""
    return not validate(build_schema()._schema, parse(document))


@pytest.mark.parametrize("name", sorted(VARIABLES))
def test_every_contract_operation_is_within_half_the_depth_alias_and_token_limits(name: str) -> None:
    half = replace(
        DEFAULTS,
        max_query_depth=DEFAULTS.max_query_depth // 2,
        max_query_aliases=DEFAULTS.max_query_aliases // 2,
    )
    document = parse(operation(name), max_tokens=DEFAULTS.max_query_tokens // 2)

    errors = validate(build_schema()._schema, document, validation_rules(half))

    assert not [e.message for e in errors if (e.extensions or {}).get("code")]


@pytest.mark.parametrize("name", sorted(VARIABLES))
def test_every_contract_operation_costs_at_most_half_the_limit(name: str) -> None:
    document = operation(name)
    if not in_schema(document):
        pytest.skip(f"{name} is not in the schema yet")
    schema = build_schema()._schema

    priced = QueryCost(schema, DEFAULTS.page_size_cap).operation(parse(document), name, VARIABLES[name])

    assert priced is not None
    assert priced.requested() <= DEFAULTS.max_query_cost // 2


def test_the_contract_variables_cover_every_contract_operation() -> None:
    operation("Catalog")
    assert set(VARIABLES) == set(operations())


def test_the_token_limit_is_the_parser_s() -> None:
    with pytest.raises(GraphQLSyntaxError, match="more than 3 tokens"):
        parse("{ a b c d }", max_tokens=3)


async def test_the_contract_s_operations_run_inside_the_default_limits(client: httpx.AsyncClient) -> None:
    for name, (_, document) in sorted(operations().items()):
        if document.startswith("subscription") or not in_schema(document):
            continue
        body = await execute(client, document, VARIABLES[name], token=ADMIN)
        assert not LIMIT_CODES & set(error_codes(body)), (name, body)
        assert body["extensions"]["cost"]["requestedQueryCost"] <= DEFAULTS.max_query_cost // 2, (name, body)


INTROSPECTION = "{ __schema { queryType { name } } }"


@pytest.mark.asyncio(loop_scope="module")
async def test_introspection_answers_by_default_and_is_refused_when_switched_off(switched: Any) -> None:
    async with switched() as on, switched(introspection=False) as off:
        answered = await execute(on, INTROSPECTION, token=ADMIN)
        refused = await execute(off, INTROSPECTION, token=ADMIN)
        typename = await execute(off, "{ __typename }", token=ADMIN)

    assert answered["data"]["__schema"]["queryType"]["name"] == "Query"
    assert set(error_codes(refused)) == {"INTROSPECTION_DISABLED"}
    assert typename["data"] == {"__typename": "Query"}


SERVICE_SDL = "{ _service { sdl } }"


@pytest.mark.parametrize(
    "token", [None, a_token("storefront"), a_token("customer", email="ann@example.com"), AGENT]
)
@pytest.mark.asyncio(loop_scope="module")
async def test_with_introspection_off_the_federation_sdl_is_not_handed_out(
    switched: Any, token: str | None
) -> None:
    async with switched(introspection=False) as off:
        refused = await execute(off, SERVICE_SDL, token=token)
        by_fragment = await execute(off, "{ ...S } fragment S on Query { _service { sdl } }", token=token)

    assert refused.get("data") is None
    assert set(error_codes(refused)) == {"INTROSPECTION_DISABLED"}
    assert set(error_codes(by_fragment)) == {"INTROSPECTION_DISABLED"}


@pytest.mark.asyncio(loop_scope="module")
async def test_with_introspection_off_an_admin_still_reads_the_federation_sdl(switched: Any) -> None:
    async with switched() as on, switched(introspection=False) as off:
        anonymous_on = await execute(on, SERVICE_SDL)
        admin_off = await execute(off, SERVICE_SDL, token=ADMIN)

    assert "type Query" in anonymous_on["data"]["_service"]["sdl"]
    assert admin_off["data"]["_service"]["sdl"] == anonymous_on["data"]["_service"]["sdl"]


@pytest.mark.asyncio(loop_scope="module")
async def test_suggestions_are_given_by_default_and_stripped_when_switched_off(switched: Any) -> None:
    typo = "{ ordrs(first: 1) { totalCount } orders(filter: { status: [CONFIRMD] }) { totalCount } }"
    async with switched() as on, switched(field_suggestions=False) as off:
        suggested = await execute(on, typo, token=ADMIN)
        stripped = await execute(off, typo, token=ADMIN)

    assert all("Did you mean" in e["message"] for e in suggested["errors"])
    assert len(stripped["errors"]) == len(suggested["errors"]) == 2
    assert not any("Did you mean" in e["message"] for e in stripped["errors"])
    assert set(error_codes(stripped)) == {"GRAPHQL_VALIDATION_FAILED"}


@pytest.mark.asyncio(loop_scope="module")
async def test_a_document_that_does_not_parse_is_a_parse_failure_not_a_validation_failure(
    switched: Any,
) -> None:
    async with switched() as client:
        unparsed = await execute(client, "{ orders(first: 1) { totalCount ", token=ADMIN)
        invalid = await execute(client, "{ ordrs(first: 1) { totalCount } }", token=ADMIN)

    assert error_codes(unparsed) == ["GRAPHQL_PARSE_FAILED"]
    assert unparsed["errors"][0]["message"].startswith("Syntax Error")
    assert error_codes(invalid) == ["GRAPHQL_VALIDATION_FAILED"]


def _board(edges: int, lines: list[Any] | None = None, fulfilment: int = 1) -> dict[str, Any]:
    node = {
        "customer": {"id": "c"},
        "total": {"amount": "1.00"},
        "lines": lines if lines is not None else [{"sku": "A"}, {"sku": "B"}],
        "fulfillmentOrders": [{"status": "OPEN", "location": {"code": "DC"}}] * fulfilment,
        "shipments": [],
    }
    return {"orders": {"totalCount": edges, "pageInfo": {}, "edges": [{"node": node}] * edges}}


def test_the_actual_cost_counts_what_came_back_item_by_item() -> None:
    """Each object returned costs its weight once, nulls and empty lists cost nothing, a list
    without a page counts as one item, and objects inside objects inside lists are walked."""
    pricing = QueryCost(build_schema()._schema, page_cap=250)
    priced = pricing.operation(parse(operation("OrdersBoard")), "OrdersBoard", {"first": 50})
    assert priced is not None

    # an order: its edge's node, customer, total, lines, a fulfilment order and its location
    assert [priced.actual(_board(n)) for n in (0, 1, 2, 3)] == [0, 6, 12, 18]
    assert priced.actual(_board(1, lines=[])) == 5
    assert priced.actual(_board(1, lines=[None])) == 5
    assert priced.actual(_board(1, lines=[{"sku": "A"}] * 3)) == 6  # unpaged: one item's worth
    assert priced.actual(_board(1, fulfilment=0)) == 4  # neither the work nor its location
    assert priced.actual(_board(1, fulfilment=3)) == 6
    assert priced.requested() == 350


def test_the_actual_cost_of_an_abstract_list_is_each_item_s_as_its_type() -> None:
    pricing = QueryCost(build_schema()._schema, page_cap=250)
    document = parse(
        "query Q($r: [_Any!]!) { _entities(representations: $r) { ... on Order { id lines { sku } } } }"
    )
    priced = pricing.operation(document, "Q", {"r": [{"__typename": "Order", "id": "o"}] * 3})
    assert priced is not None

    def orders(count: int, lines: int) -> dict[str, Any]:
        return {"_entities": [{"id": "o", "lines": [{"sku": "A"}] * lines}] * count}

    # each entity is priced as its type: an order and its lines; the list counts one item's worth
    assert [priced.actual(orders(count, 1)) for count in (1, 2, 3)] == [2, 2, 2]
    assert priced.actual(orders(1, 0)) == 1
    assert priced.actual({"_entities": [None, None]}) == priced.actual({"_entities": []}) == 0


def test_a_priced_operation_is_kept_for_its_document_and_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    schema = build_schema()._schema
    document = parse(operation("OrdersBoard"))
    first = priced(schema, 250, document, "OrdersBoard", {"first": 50})
    assert first is not None
    assert priced(schema, 250, document, "OrdersBoard", {"first": 50}) is first
    two = priced(schema, 250, document, "OrdersBoard", {"first": 2})
    assert two is not None
    assert (first.requested(), two.requested()) == (350, 14)  # the variables are in the key
    again = parse(operation("OrdersBoard"))  # another document: priced afresh
    assert priced(schema, 250, again, "OrdersBoard", {"first": 50}) is not first
    odd = {"first": 50, "when": datetime(2026, 12, 5, tzinfo=UTC)}  # not JSON: never kept
    assert priced(schema, 250, document, "OrdersBoard", odd) is not priced(
        schema, 250, document, "OrdersBoard", odd
    )

    for first_n in range(4, 9):  # more kept than the bound about to be set
        priced(schema, 250, document, "OrdersBoard", {"first": first_n})
    monkeypatch.setattr(cost_module._KEPT, "most", 1)
    priced(schema, 250, document, "OrdersBoard", {"first": 3})
    assert len(cost_module._KEPT) == 1
    assert priced(schema, 250, document, "OrdersBoard", {"first": 50}) is not first  # dropped

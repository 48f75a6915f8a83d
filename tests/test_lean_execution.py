"""The lean execution (`schema/execution.py`: scalars read in place, lean resolvers' objects
and lists completed without graphql-core's per-field resolve info) answers every list query
exactly as graphql-core and Strawberry do: the same data, nulls, errors, paths and locations,
for every role, @skip/@include and aliases included."""

from __future__ import annotations

from typing import Any

import pytest

from ordergate.models.identity import Principal, Role
from ordergate.schema.build import build_schema
from ordergate.schema.context import Context
from ordergate.settings import Settings
from ordergate.usecases.services import Services
from tests.contract import operation
from tests.test_execution import plans  # noqa: F401  (autouse: looped and compiled plans)
from tests.test_order_prefetch import SHOPPER, board  # noqa: F401  (one board per module and backend)

ROLES = {
    "admin": Principal("t-admin", Role.ADMIN),
    "agent": Principal("t-agent", Role.AGENT),
    "associate DC-DFW": Principal("t-dallas", Role.ASSOCIATE, locations=("DC-DFW",)),
    "associate ST-CHI": Principal("t-chicago", Role.ASSOCIATE, locations=("ST-CHI",)),
    "customer": Principal("t-customer", Role.CUSTOMER, email=SHOPPER),
    "storefront": Principal("t-storefront", Role.STOREFRONT),
}

WIDE = """
query Wide($first: Int!, $withLines: Boolean!, $skipTotal: Boolean!) {
  orders(first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor startCursor hasPreviousPage }
    edges {
      cursor
      node {
        __typename
        id number status channel email createdAt version
        sum: total @skip(if: $skipTotal) { amount currency }
        tax { amount }
        shippingAddress { name line1 line2 city region postalCode countryCode }
        customer { id email displayName phone firstName lastName storefront { id firstName } }
        lines @include(if: $withLines) { id sku name quantity quantityBackordered unitPrice { amount } }
        ... on Order { fulfillmentOrders { id status location { code name type } lines { sku quantity } } }
        ...Shipped
        risk { score level }
        holds { reason }
      }
    }
  }
}
fragment Shipped on Order { shipments { carrier status trackingNumber events { status } } }
"""


def documents() -> list[tuple[str, dict[str, Any]]]:
    return [
        (operation("OrdersBoard"), {"first": 100}),
        (operation("OrdersBoard"), {"first": 2}),
        (WIDE, {"first": 50, "withLines": True, "skipTotal": False}),
        (WIDE, {"first": 50, "withLines": False, "skipTotal": True}),
        (operation("WorkQueue"), {"locationId": "DC-DFW"}),
        (operation("Catalog"), {"first": 20}),
        (operation("NetworkOverview"), {}),
        (operation("ProductAvailability"), {"skus": ["MUG-BLUE", "KNIFE-CHEF-8", "NO-SUCH-SKU"]}),
    ]


async def answer(schema: Any, services: Services, principal: Principal, query: str, variables: Any) -> Any:
    result = await schema.execute(
        query, variable_values=variables, context_value=Context(services, principal)
    )
    return {"data": result.data, "errors": [e.formatted for e in result.errors or []]}


@pytest.mark.asyncio(loop_scope="module")  # the module's gateway and board
@pytest.mark.usefixtures("board")
@pytest.mark.parametrize("role", list(ROLES))
async def test_every_list_query_answers_as_graphql_core_does(
    module_services: Services, module_settings: Settings, role: str
) -> None:
    lean, stock = build_schema(module_settings), build_schema(module_settings, lean=False)
    assert lean is not stock

    for query, variables in documents():
        expected = await answer(stock, module_services, ROLES[role], query, variables)
        got = await answer(lean, module_services, ROLES[role], query, variables)
        assert got == expected, (role, query[:40], variables)


@pytest.mark.asyncio(loop_scope="module")  # the module's gateway and board
@pytest.mark.usefixtures("board")
async def test_the_comparison_sees_data_and_errors(
    module_services: Services, module_settings: Settings
) -> None:
    lean = build_schema(module_settings)
    page = await answer(lean, module_services, ROLES["agent"], operation("OrdersBoard"), {"first": 100})
    assert len(page["data"]["orders"]["edges"]) == 4
    assert page["errors"] == []
    refused = await answer(
        lean, module_services, ROLES["storefront"], WIDE, {"first": 5, "withLines": True, "skipTotal": False}
    )
    assert refused["data"] is None
    assert refused["errors"][0]["path"] == ["orders"]

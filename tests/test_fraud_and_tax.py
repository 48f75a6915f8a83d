"""Tax by destination shown per line, and the fraud screen: a risky order is taken ON_HOLD and
not routed until an agent releases it."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from ordergate.bootstrap import Sandboxes, load_tax_rules
from ordergate.models.fraud import FraudPolicy
from ordergate.settings import SettingsError
from ordergate.usecases.services import Services
from tests.builders import a_line, a_token, an_address, an_order_input
from tests.contract import operation
from tests.graphql_client import execute
from tests.test_inventory import sold_unheard

AGENT = a_token("agent")
ORDER = """query($id: ID!) { order(id: $id) {
  status subtotal { amount } shippingTotal { amount } shippingTax { amount } tax { amount } total { amount }
  lines { sku tax { amount } total { amount } }
  holds { reason placedBy }
  risk { score level rules }
  fulfillmentOrders { id status }
  routingDecision { chosen }
} }"""
RELEASE = """mutation($input: ReleaseOrderHoldInput!) {
  releaseOrderHold(input: $input) { order { status } userErrors { code field message } }
}"""
CANCEL = """mutation($input: CancelOrderInput!) {
  cancelOrder(input: $input) { order { status } userErrors { code message } }
}"""
AVAILABILITY = "query($skus: [String!]!) { availability(skus: $skus) { sku availableToSell } }"


async def place(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    body = await execute(client, operation("PlaceOrder"), {"input": an_order_input(**overrides)}, token=AGENT)
    payload: dict[str, Any] = body["data"]["placeOrder"]
    return payload


async def read(client: httpx.AsyncClient, order_id: str, token: str = AGENT) -> dict[str, Any]:
    body = await execute(client, ORDER, {"id": order_id}, token=token)
    assert body.get("data"), body
    order: dict[str, Any] = body["data"]["order"]
    return order


async def available(client: httpx.AsyncClient, sku: str) -> int:
    body = await execute(client, AVAILABILITY, {"skus": [sku]}, token=AGENT)
    return int(body["data"]["availability"][0]["availableToSell"])


def amounts(order: dict[str, Any], *names: str) -> list[Decimal]:
    return [Decimal(order[name]["amount"]) for name in names]


# --- tax ---------------------------------------------------------------------------------------


async def test_each_line_and_shipping_carry_their_own_tax_and_they_add_up(client: httpx.AsyncClient) -> None:
    placed = await place(client, lines=[a_line("MUG-BLUE", 1), a_line("PLATE-DINNER", 3)])  # to TX, 6.25%

    order = await read(client, placed["order"]["id"])

    subtotal, shipping, shipping_tax, tax, total = amounts(
        order, "subtotal", "shippingTotal", "shippingTax", "tax", "total"
    )
    line_taxes = [Decimal(line["tax"]["amount"]) for line in order["lines"]]
    assert line_taxes == [Decimal("0.88"), Decimal("2.34")]  # 14.00 and 37.50 at 6.25%, to the cent
    assert shipping == Decimal("7.95")
    assert shipping_tax == Decimal("0.50")
    assert tax == sum(line_taxes) + shipping_tax
    assert total == subtotal + shipping + tax


async def test_a_state_that_does_not_tax_delivery_taxes_only_the_lines(client: httpx.AsyncClient) -> None:
    address = an_address(city="San Francisco", region="CA", postalCode="94103", line1="1 Market St")
    placed = await place(client, lines=[a_line("MUG-BLUE", 1)], shippingAddress=address)

    order = await read(client, placed["order"]["id"])

    assert amounts(order, "shippingTotal", "shippingTax", "tax") == [
        Decimal("7.95"),
        Decimal("0.00"),
        Decimal("1.02"),  # 14.00 x 7.25% = 1.015, half-even to the cent
    ]


async def test_rules_come_from_a_file_and_the_most_specific_wins(tmp_path: Path) -> None:
    path = tmp_path / "tax.json"
    path.write_text(
        json.dumps(
            [
                {"country": "US", "rate": "0.05"},
                {"country": "US", "region": "OR", "rate": "0", "shippingTaxable": False},
            ]
        )
    )

    rules = load_tax_rules(str(path))

    oregon = rules.rule_for("us", "or")
    assert oregon is not None
    assert oregon.rate == 0
    assert rules.rule_for("US", "TX").rate == Decimal("0.05")  # type: ignore[union-attr]
    assert rules.rule_for("GB", None) is None


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '{"country": "US"}',
        '[{"rate": "0.1"}]',
        '[{"country": "US", "rate": "1.5"}]',
        '[{"country": "US", "rate": "x"}]',
        '[{"country": "US", "rate": "0.1"}, {"country": "US", "rate": "0.2"}]',
    ],
)
def test_a_bad_rules_file_stops_the_gateway_at_start_saying_why(tmp_path: Path, text: str) -> None:
    path = tmp_path / "tax.json"
    path.write_text(text)

    with pytest.raises(SettingsError, match="ORDERGATE_TAX_RULES"):
        load_tax_rules(str(path))


# --- fraud -------------------------------------------------------------------------------------


def screen_with(services: Services, **policy: Any) -> None:
    services.policy = dataclasses.replace(services.policy, fraud=FraudPolicy(**policy))


async def test_a_blocklisted_order_is_taken_on_hold_and_not_routed(
    client: httpx.AsyncClient, services: Services
) -> None:
    screen_with(services, blocklist=frozenset({"@fraud.example"}))
    before = await available(client, "KETTLE-STEEL")

    placed = await place(
        client,
        customer={"email": "mallory@fraud.example"},
        lines=[a_line("KETTLE-STEEL", 2)],
    )

    assert placed["userErrors"] == []
    order = await read(client, placed["order"]["id"])
    assert order["status"] == "ON_HOLD"
    assert order["holds"] == [{"reason": "HIGH_RISK_OF_FRAUD", "placedBy": "fraud-screen"}]
    assert order["risk"] == {"score": 100, "level": "HIGH", "rules": ["BLOCKLISTED"]}
    assert order["fulfillmentOrders"] == []
    assert order["routingDecision"] is None
    assert await available(client, "KETTLE-STEEL") == before  # nothing allocated while held


async def test_a_released_order_is_routed_then(client: httpx.AsyncClient, services: Services) -> None:
    screen_with(services, blocklist=frozenset({"mallory@fraud.example"}))
    placed = await place(
        client, customer={"email": "mallory@fraud.example"}, lines=[a_line("KETTLE-STEEL", 2)]
    )
    order_id = placed["order"]["id"]
    before = await available(client, "KETTLE-STEEL")

    body = await execute(client, RELEASE, {"input": {"orderId": order_id}}, token=AGENT)

    assert body["data"]["releaseOrderHold"] == {"order": {"status": "CONFIRMED"}, "userErrors": []}
    order = await read(client, order_id)
    assert [fo["status"] for fo in order["fulfillmentOrders"]] == ["OPEN"]
    assert order["routingDecision"]["chosen"]
    assert await available(client, "KETTLE-STEEL") == before - 2


@pytest.mark.warmed
async def test_a_released_order_is_routed_from_the_erps_stock_now_not_an_old_snapshot(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    """Held for days by the fraud screen, while the kettles sold out at the ERP everywhere but
    Newark (this gateway's snapshot is past the TTL, and no webhook told it): released, the
    order goes to Newark, not to the node the old snapshot would have chosen."""
    screen_with(services, blocklist=frozenset({"mallory@fraud.example"}))
    placed = await place(
        client, customer={"email": "mallory@fraud.example"}, lines=[a_line("KETTLE-STEEL", 2)]
    )
    sold_unheard(services, sandboxes, "KETTLE-STEEL", "DC-EWR")

    body = await execute(client, RELEASE, {"input": {"orderId": placed["order"]["id"]}}, token=AGENT)

    assert body["data"]["releaseOrderHold"] == {"order": {"status": "CONFIRMED"}, "userErrors": []}
    order = await read(client, placed["order"]["id"])
    assert order["routingDecision"]["chosen"] == ["DC-EWR"]


async def test_routing_an_order_held_before_it_was_routed_waits_for_its_release(
    client: httpx.AsyncClient, services: Services
) -> None:
    """routeOrder used to route it on the spot: work opened at a node while the fraud screen's
    hold stood, and an edit then changed the line but not that work (seen in a walk, seed 123)."""
    screen_with(services, blocklist=frozenset({"mallory@fraud.example"}))
    placed = await place(
        client, customer={"email": "mallory@fraud.example"}, lines=[a_line("KETTLE-STEEL", 2)]
    )
    order_id = placed["order"]["id"]
    route = """mutation($id: ID!, $dry: Boolean!) { routeOrder(orderId: $id, dryRun: $dry) {
      changed decision { chosen } userErrors { code field } } }"""

    preview = await execute(client, route, {"id": order_id, "dry": True}, token=AGENT)
    routed = await execute(client, route, {"id": order_id, "dry": False}, token=AGENT)

    assert preview["data"]["routeOrder"]["userErrors"] == []  # where it would go: the agent's review
    assert preview["data"]["routeOrder"]["decision"]["chosen"]
    assert routed["data"]["routeOrder"]["userErrors"] == [
        {"code": "INVALID_TRANSITION", "field": ["orderId"]}
    ]
    order = await read(client, order_id)
    assert (order["status"], order["fulfillmentOrders"]) == ("ON_HOLD", [])


async def test_velocity_high_value_and_far_apart_addresses_add_up_to_a_hold(
    client: httpx.AsyncClient, services: Services
) -> None:
    screen_with(services, threshold=70, velocity_count=2, velocity_window=timedelta(hours=1))
    email = {"email": "quick@example.com"}
    first = await place(client, customer=email, lines=[a_line("MUG-BLUE", 1)])
    second = await place(client, customer=email, lines=[a_line("MUG-BLUE", 1)])
    third = await place(
        client,
        customer=email,
        lines=[a_line("MUG-BLUE", 1)],
        billingAddress=an_address(city="New York", region="NY", postalCode="10001", line1="1 Broadway"),
    )

    statuses = [(await read(client, p["order"]["id"]))["status"] for p in (first, second)]
    held = await read(client, third["order"]["id"])
    assert statuses == ["CONFIRMED", "CONFIRMED"]
    assert held["status"] == "ON_HOLD"
    assert held["risk"] == {"score": 70, "level": "HIGH", "rules": ["VELOCITY", "ADDRESS_MISMATCH"]}


async def test_customers_do_not_see_the_risk_assessment(
    client: httpx.AsyncClient, services: Services
) -> None:
    screen_with(services, blocklist=frozenset({"ann@example.com"}))
    placed = await place(client)

    order = await read(client, placed["order"]["id"], token=a_token("customer", email="ann@example.com"))

    assert order["status"] == "ON_HOLD"
    assert order["risk"] is None


async def test_a_held_order_whose_stock_went_meanwhile_is_not_released(
    client: httpx.AsyncClient, services: Services
) -> None:
    screen_with(services, blocklist=frozenset({"mallory@fraud.example"}))
    held = await place(client, customer={"email": "mallory@fraud.example"}, lines=[a_line("POT-DUTCH-5", 30)])
    for quantity in (30, 25):  # the rest of the network's Dutch ovens go to other shoppers
        other = await place(client, lines=[a_line("POT-DUTCH-5", quantity)])
        assert other["userErrors"] == []

    body = await execute(client, RELEASE, {"input": {"orderId": held["order"]["id"]}}, token=AGENT)

    assert [e["code"] for e in body["data"]["releaseOrderHold"]["userErrors"]] == ["INSUFFICIENT_STOCK"]
    order = await read(client, held["order"]["id"])
    assert order["status"] == "ON_HOLD"
    assert order["holds"][0]["reason"] == "HIGH_RISK_OF_FRAUD"


async def test_an_agent_may_cancel_a_held_order_instead(
    client: httpx.AsyncClient, services: Services
) -> None:
    screen_with(services, blocklist=frozenset({"mallory@fraud.example"}))
    held = await place(client, customer={"email": "mallory@fraud.example"})

    body = await execute(
        client, CANCEL, {"input": {"orderId": held["order"]["id"], "reason": "FRAUD"}}, token=AGENT
    )

    assert body["data"]["cancelOrder"] == {"order": {"status": "CANCELLED"}, "userErrors": []}
    assert (await read(client, held["order"]["id"]))["holds"] == []


EDIT = """mutation($input: EditOrderInput!) { editOrder(input: $input) {
  order { status } userErrors { code } } }"""
SEATTLE = an_address(city="Seattle", region="WA", postalCode="98101", line1="400 Pine St")
DALLAS = an_address(city="Dallas", region="TX", postalCode="75201", line1="1 Main St")


async def moved(client: httpx.AsyncClient, order_id: str, address: dict[str, Any]) -> dict[str, Any]:
    version = (
        await execute(client, "query($id: ID!) { order(id: $id) { version } }", {"id": order_id}, token=AGENT)
    )["data"]["order"]["version"]
    body = await execute(
        client,
        EDIT,
        {"input": {"orderId": order_id, "expectedVersion": version, "shippingAddress": address}},
        token=AGENT,
    )
    assert body["data"]["editOrder"]["userErrors"] == [], body
    return await read(client, order_id)


async def test_a_new_address_runs_the_screen_again_and_holds_an_order_that_now_crosses_it(
    client: httpx.AsyncClient,
) -> None:
    billed_in_austin = {"lines": [a_line("CHAIR-OAK", 4)], "billingAddress": an_address()}
    far = (await place(client, **billed_in_austin))["order"]
    near = (await place(client, **billed_in_austin))["order"]
    placed = await read(client, far["id"])

    moved_far = await moved(client, far["id"], SEATTLE)
    moved_near = await moved(client, near["id"], DALLAS)

    assert (placed["status"], placed["risk"]["score"], placed["risk"]["rules"]) == (
        "CONFIRMED",
        40,
        ["HIGH_VALUE"],
    )
    # the same facts at placement would have scored 70 and been held: now they are, after the move
    assert moved_far["risk"] == {"score": 70, "level": "HIGH", "rules": ["HIGH_VALUE", "ADDRESS_MISMATCH"]}
    assert moved_far["status"] == "ON_HOLD"
    assert moved_far["holds"] == [{"reason": "HIGH_RISK_OF_FRAUD", "placedBy": "fraud-screen"}]
    assert {fo["status"] for fo in moved_far["fulfillmentOrders"]} <= {"OPEN", "ON_HOLD"}
    # a move that stays within the screen's distance changes nothing
    assert (moved_near["status"], moved_near["risk"]["score"], moved_near["holds"]) == ("CONFIRMED", 40, [])

"""Return labels bought from the carrier that shipped the units, through the outbox; returns that
close themselves once refunded (or at once with nothing to refund), and closeReturn for agents."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest

from ordergate.bootstrap import Sandboxes
from ordergate.connectors.carriers.base import (
    Carrier,
    Label,
    LabelRequest,
    Parcel,
    RateQuote,
    TrackingUpdate,
    VoidResult,
)
from ordergate.connectors.errors import UpstreamUnavailable
from ordergate.models.address import Address
from ordergate.models.events import customer_message
from ordergate.models.outbox import RETURN_LABEL, RETURN_LABEL_VOID
from ordergate.sandbox.seed import MERCHANT_PHONE, PHONES
from ordergate.sandbox.shipengine import SandboxLabel, ShipEngineSandbox
from ordergate.schema.types.order import LABEL_NOT_READY
from ordergate.usecases.services import Services
from ordergate.workers.handlers import outbox_handlers
from ordergate.workers.relay import relay_once
from tests.builders import a_line, a_token, an_address, an_order_input
from tests.contract import operation
from tests.graphql_client import execute
from tests.test_emails import email_tasks, inbox, send_due
from tests.test_fulfillment import DALLAS, location_ids, step

pytestmark = pytest.mark.no_relay

ANN = a_token("customer", email="ann@example.com")
BOB = a_token("customer", email="bob@example.com")
AGENT = a_token("agent")
CHICAGO = a_token("associate", locations=("ST-CHI",))
PHONE = "+1 512-555-0100"
DALLAS_PHONE = PHONES["DC-DFW"]  # +1 972-555-0120 in the demo network
LABEL = "label { status carrier service trackingNumber labelUrl error }"
RETURN = f"orderReturn {{ id status closedAt lines {{ id }} {LABEL} }} userErrors {{ code field message }}"
APPROVE = f"mutation($input: DecideReturnInput!) {{ approveReturn(input: $input) {{ {RETURN} }} }}"
DECLINE = f"mutation($input: DecideReturnInput!) {{ declineReturn(input: $input) {{ {RETURN} }} }}"
RECEIVE = f"mutation($input: ReceiveReturnInput!) {{ receiveReturn(input: $input) {{ {RETURN} }} }}"
CLOSE = f"mutation($input: CloseReturnInput!) {{ closeReturn(input: $input) {{ {RETURN} }} }}"
RETRY = f"mutation($input: RetryReturnLabelInput!) {{ retryReturnLabel(input: $input) {{ {RETURN} }} }}"
ORDER = f"""query($id: ID!) {{ order(id: $id) {{ lines {{ id sku }}
  returns {{ id status closedAt {LABEL} }} timeline {{ type message }} payments {{ kind status }} }} }}"""


class Outage:
    """A carrier whose label purchases fail as an unreachable one's do while `down`."""

    def __init__(self, carrier: Carrier) -> None:
        self.name = carrier.name
        self.carrier = carrier
        self.down = True
        self.refused = 0

    async def rates(self, ship_from: Address, ship_to: Address, parcels: Sequence[Parcel]) -> list[RateQuote]:
        return await self.carrier.rates(ship_from, ship_to, parcels)

    async def buy_label(self, request: LabelRequest) -> Label:
        if self.down:
            self.refused += 1
            raise UpstreamUnavailable(self.name, "503 Service Unavailable", status=503)
        return await self.carrier.buy_label(request)

    async def void_label(self, carrier_label_id: str) -> VoidResult:
        if self.down:
            self.refused += 1
            raise UpstreamUnavailable(self.name, "503 Service Unavailable", status=503)
        return await self.carrier.void_label(carrier_label_id)

    async def track(self, tracking_numbers: Sequence[str]) -> list[TrackingUpdate]:
        return await self.carrier.track(tracking_numbers)

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[TrackingUpdate]:
        return self.carrier.parse_webhook(body, headers)

    async def aclose(self) -> None:
        await self.carrier.aclose()


def shipengine(sandboxes: Sandboxes) -> ShipEngineSandbox:
    assert sandboxes.shipengine is not None
    return sandboxes.shipengine


async def relay(services: Services) -> None:
    await relay_once(services, outbox_handlers(services))


async def shipped(
    client: httpx.AsyncClient, *, paid: bool = False, phone: str | None = PHONE
) -> dict[str, Any]:
    extra: dict[str, Any] = {"payment": {"provider": "sandbox", "token": "tok_visa"}} if paid else {}
    order_input = an_order_input(
        lines=[a_line("MUG-BLUE", 2)],
        shippingAddress=an_address(**({"phone": phone} if phone else {})),
        **extra,
    )
    body = await execute(client, operation("PlaceOrder"), {"input": order_input}, token=AGENT)
    placed: dict[str, Any] = body["data"]["placeOrder"]["order"]
    fo_id = placed["fulfillmentOrders"][0]["id"]
    for name in ("Accept", "StartPicking", "Pack"):
        await step(client, name, DALLAS, id=fo_id)
    answer = await execute(client, operation("Ship"), {"input": {"fulfillmentOrderId": fo_id}}, token=DALLAS)
    assert answer["data"]["shipFulfillmentOrder"]["userErrors"] == []
    return await order_of(client, placed["id"]) | {"id": placed["id"]}


async def order_of(client: httpx.AsyncClient, order_id: str, token: str = AGENT) -> dict[str, Any]:
    body = await execute(client, ORDER, {"id": order_id}, token=token)
    found: dict[str, Any] = body["data"]["order"]
    return found


async def asked(client: httpx.AsyncClient, order: dict[str, Any], token: str = ANN) -> str:
    mug = next(line["id"] for line in order["lines"] if line["sku"] == "MUG-BLUE")
    body = await execute(
        client,
        operation("StartReturn"),
        {"input": {"orderId": order["id"], "lines": [{"lineId": mug, "quantity": 1, "reason": "chipped"}]}},
        token=token,
    )
    assert body["data"]["requestReturn"]["userErrors"] == [], body
    return str(body["data"]["requestReturn"]["orderReturn"]["id"])


async def mutate(
    client: httpx.AsyncClient, document: str, variables: dict[str, Any], token: str = AGENT
) -> dict[str, Any]:
    body = await execute(client, document, {"input": variables}, token=token)
    assert "errors" not in body, body
    payload: dict[str, Any] = next(iter(body["data"].values()))
    return payload


async def received(client: httpx.AsyncClient, return_id: str, line_ids: list[str]) -> dict[str, Any]:
    dallas = (await location_ids(client))["DC-DFW"]
    lines = [{"lineId": line, "disposition": "RESTOCK"} for line in line_ids]
    return await mutate(
        client, RECEIVE, {"returnId": return_id, "locationId": dallas, "lines": lines}, DALLAS
    )


async def without_phones(services: Services, *, merchant: str | None = None) -> None:
    """No phone at any node, and none for the merchant unless given."""
    services.policy = replace(services.policy, merchant_phone=merchant)
    async with services.store.write() as uow:
        for location in await uow.catalog.locations():
            location.phone = None
            uow.save(location)


def returns_events(order: dict[str, Any]) -> list[str]:
    return [e["type"] for e in order["timeline"] if e["type"].startswith("RETURN_")]


async def label_tasks(services: Services, return_id: str, kind: str = RETURN_LABEL) -> list[Any]:
    async with services.store.read() as uow:
        tasks = await uow.outbox.with_key_prefixes([f"{return_id}:"])
    return [task for task in tasks if task.kind == kind]


class Meanwhile(Outage):
    """A carrier that is up, where something else happens while a label is being bought."""

    def __init__(self, carrier: Carrier, meanwhile: Callable[[], Awaitable[object]]) -> None:
        super().__init__(carrier)
        self.down = False
        self.meanwhile = meanwhile

    async def buy_label(self, request: LabelRequest) -> Label:
        await self.meanwhile()
        return await super().buy_label(request)


def return_label(sandboxes: Sandboxes) -> SandboxLabel:
    [label] = [x for x in shipengine(sandboxes).labels.values() if x.is_return]
    return label


async def test_an_approved_return_gets_a_return_label_from_the_carrier_that_shipped_it(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order = await shipped(client)
    return_id = await asked(client, order)

    approved = await mutate(client, APPROVE, {"returnId": return_id})
    await relay(services)
    after = await order_of(client, order["id"])
    await relay(services)  # nothing is bought twice

    assert approved["userErrors"] == []
    outbound = next(x for x in shipengine(sandboxes).labels.values() if not x.is_return)
    assert approved["orderReturn"]["label"] == {
        "status": "PENDING",
        "carrier": "shipengine",
        "service": outbound.service.code,  # as the units went out
        "trackingNumber": None,
        "labelUrl": None,
        "error": None,
    }
    [label] = [x for x in shipengine(sandboxes).labels.values() if x.is_return]
    assert label.rma_number == return_id
    assert label.shipment.ship_from["postal_code"] == "78701"  # from the customer in Austin
    assert label.shipment.ship_from["phone"] == PHONE
    assert label.service == outbound.service
    assert label.shipment.ship_to["postal_code"] == outbound.shipment.ship_from["postal_code"]  # back to DFW
    [seen] = after["returns"]
    assert seen["label"]["status"] == "PURCHASED"
    assert seen["label"]["trackingNumber"] == label.tracking_number
    assert seen["label"]["labelUrl"].startswith("http")
    assert "RETURN_LABEL_CREATED" in returns_events(after)
    assert shipengine(sandboxes).purchases == 2  # the outbound label and the return label


async def test_with_the_carrier_down_the_label_waits_pending_and_is_bought_on_a_retry(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order = await shipped(client)
    return_id = await asked(client, order)
    outage = Outage(services.carriers["shipengine"])
    services.carriers["shipengine"] = outage
    real = services.clock

    approved = await mutate(client, APPROVE, {"returnId": return_id})
    await relay(services)
    waiting = await order_of(client, order["id"])
    [task] = await label_tasks(services, return_id)
    outage.down = False
    services.clock = lambda: real() + timedelta(minutes=5)
    try:
        await relay(services)
    finally:
        services.clock = real
    bought = await order_of(client, order["id"])

    assert approved["userErrors"] == []
    assert approved["orderReturn"]["status"] == "APPROVED"
    assert outage.refused == 1
    assert (task.attempts, task.done_at) == (1, None)
    assert "503" in (task.last_error or "")
    assert waiting["returns"][0]["label"]["status"] == "PENDING"
    assert waiting["returns"][0]["label"]["trackingNumber"] is None
    [label] = [x for x in shipengine(sandboxes).labels.values() if x.is_return]
    assert bought["returns"][0]["label"]["status"] == "PURCHASED"
    assert bought["returns"][0]["label"]["trackingNumber"] == label.tracking_number
    [done] = await label_tasks(services, return_id)
    assert done.done_at is not None


async def test_a_declined_return_gets_no_label(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order = await shipped(client)
    return_id = await asked(client, order)

    declined = await mutate(client, DECLINE, {"returnId": return_id})
    await relay(services)

    assert declined["orderReturn"]["status"] == "DECLINED"
    assert declined["orderReturn"]["label"] is None
    assert await label_tasks(services, return_id) == []
    assert not any(label.is_return for label in shipengine(sandboxes).labels.values())
    assert (await order_of(client, order["id"]))["returns"][0]["label"] is None


async def test_units_handed_over_in_store_come_back_without_a_label(
    client: httpx.AsyncClient, services: Services
) -> None:
    ids = await location_ids(client)
    order_input = an_order_input(
        deliveryMethod="PICKUP",
        shippingAddress=None,
        pickupLocationId=ids["ST-CHI"],
        lines=[a_line("MUG-BLUE", 1)],
    )
    body = await execute(client, operation("PlaceOrder"), {"input": order_input}, token=ANN)
    placed = body["data"]["placeOrder"]["order"]
    fo_id = placed["fulfillmentOrders"][0]["id"]
    for name in ("Accept", "StartPicking", "Pack", "ReadyForPickup", "HandOver"):
        await step(client, name, CHICAGO, id=fo_id)
    return_id = await asked(client, await order_of(client, placed["id"]) | {"id": placed["id"]})

    approved = await mutate(client, APPROVE, {"returnId": return_id})

    assert approved["orderReturn"]["status"] == "APPROVED"
    assert approved["orderReturn"]["label"] is None
    assert await label_tasks(services, return_id) == []


async def test_a_return_from_an_address_without_a_phone_is_labelled_with_the_receiving_node_s_phone(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order = await shipped(client, phone=None)  # ShipEngine wants a phone where a label starts
    return_id = await asked(client, order)

    await mutate(client, APPROVE, {"returnId": return_id})
    await relay(services)
    after = await order_of(client, order["id"])

    assert after["returns"][0]["label"]["status"] == "PURCHASED"
    [label] = [x for x in shipengine(sandboxes).labels.values() if x.is_return]
    assert label.shipment.ship_from["postal_code"] == "78701"  # still the customer's address
    assert label.shipment.ship_from["phone"] == DALLAS_PHONE  # the phone of the node taking it back
    assert "RETURN_LABEL_FAILED" not in returns_events(after)


async def test_a_return_from_a_node_without_a_phone_is_labelled_with_the_merchant_s_phone(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order = await shipped(client, phone=None)
    return_id = await asked(client, order)
    await without_phones(services, merchant=MERCHANT_PHONE)

    await mutate(client, APPROVE, {"returnId": return_id})
    await relay(services)

    [label] = [x for x in shipengine(sandboxes).labels.values() if x.is_return]
    assert label.shipment.ship_from["phone"] == MERCHANT_PHONE
    assert (await order_of(client, order["id"]))["returns"][0]["label"]["status"] == "PURCHASED"


async def test_an_outbound_label_starts_at_the_node_with_the_node_s_phone(
    client: httpx.AsyncClient, sandboxes: Sandboxes
) -> None:
    await shipped(client, phone=None)

    [label] = shipengine(sandboxes).labels.values()
    assert label.shipment.ship_from["postal_code"] == "75261"  # Dallas DC
    assert label.shipment.ship_from["phone"] == DALLAS_PHONE


async def test_a_label_the_carrier_refuses_fails_with_its_reason_for_agents_and_kind_words_for_the_customer(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order = await shipped(client, phone=None)  # ShipEngine wants a phone where a label starts
    return_id = await asked(client, order)
    await without_phones(services)  # and neither the node nor the merchant has one to give

    await mutate(client, APPROVE, {"returnId": return_id})
    await relay(services)
    seen_by_agent = await order_of(client, order["id"])
    seen_by_ann = await order_of(client, order["id"], token=ANN)
    await relay(services)  # not retried by the relay

    assert seen_by_agent["returns"][0]["label"]["status"] == "FAILED"
    assert "shipment.ship_from.phone" in seen_by_agent["returns"][0]["label"]["error"]
    assert seen_by_ann["returns"][0]["label"]["status"] == "FAILED"
    assert seen_by_ann["returns"][0]["label"]["error"] == LABEL_NOT_READY
    assert "phone" not in str(seen_by_ann)
    assert "RETURN_LABEL_FAILED" in returns_events(seen_by_agent)
    [told] = [e for e in seen_by_ann["timeline"] if e["type"] == "RETURN_LABEL_FAILED"]
    assert told["message"] == customer_message("RETURN_LABEL_FAILED")
    assert "carrier" not in told["message"]
    assert "refused" not in told["message"]
    [task] = await label_tasks(services, return_id)
    assert task.done_at is not None
    assert (task.result or "").startswith("gave up")
    assert not any(label.is_return for label in shipengine(sandboxes).labels.values())


async def test_an_agent_retries_a_failed_label_which_is_pending_again_then_bought(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order = await shipped(client, phone=None)
    return_id = await asked(client, order)
    merchant = services.policy.merchant_phone
    await without_phones(services)
    await mutate(client, APPROVE, {"returnId": return_id})
    await relay(services)  # refused: FAILED
    services.policy = replace(services.policy, merchant_phone=merchant)  # the merchant's phone set

    retried = await mutate(client, RETRY, {"returnId": return_id, "idempotencyKey": "retry-1"})
    repeated = await mutate(client, RETRY, {"returnId": return_id, "idempotencyKey": "retry-1"})
    pending = await order_of(client, order["id"])
    await relay(services)
    bought = await order_of(client, order["id"])
    again = await mutate(client, RETRY, {"returnId": return_id})

    assert retried["userErrors"] == []
    assert retried["orderReturn"]["label"]["status"] == "PENDING"
    assert retried["orderReturn"]["label"]["error"] is None
    assert repeated["userErrors"] == []
    assert repeated["orderReturn"]["id"] == return_id
    assert pending["returns"][0]["label"]["status"] == "PENDING"
    assert len(await label_tasks(services, return_id)) == 2  # the first, given up, and one retry
    [label] = [x for x in shipengine(sandboxes).labels.values() if x.is_return]
    assert label.shipment.ship_from["phone"] == merchant
    assert bought["returns"][0]["label"]["status"] == "PURCHASED"
    assert bought["returns"][0]["label"]["trackingNumber"] == label.tracking_number
    assert [e for e in returns_events(bought) if e.startswith("RETURN_LABEL")] == [
        "RETURN_LABEL_FAILED",
        "RETURN_LABEL_RETRIED",
        "RETURN_LABEL_CREATED",
    ]
    customer = returns_events(await order_of(client, order["id"], token=ANN))
    assert "RETURN_LABEL_RETRIED" not in customer  # staff only
    assert customer[-1] == "RETURN_LABEL_CREATED"  # the usual news once it is bought
    assert [(e["code"], e["field"]) for e in again["userErrors"]] == [
        ("INVALID_TRANSITION", ["input", "returnId"])
    ]


async def test_retry_return_label_is_refused_and_changes_nothing_unless_an_agent_retries_a_failed_label(
    client: httpx.AsyncClient, services: Services
) -> None:
    order = await shipped(client, phone=None)
    return_id = await asked(client, order)
    pending = await mutate(client, RETRY, {"returnId": return_id})  # REQUESTED, no label yet
    await without_phones(services)
    await mutate(client, APPROVE, {"returnId": return_id})
    await relay(services)
    before = await order_of(client, order["id"])

    by_customer = await mutate(client, RETRY, {"returnId": return_id}, token=ANN)
    unknown = await mutate(client, RETRY, {"returnId": "no-such-return"})
    bad_key = await mutate(client, RETRY, {"returnId": return_id, "idempotencyKey": "k" * 5000})
    after = await order_of(client, order["id"])

    assert [e["code"] for e in pending["userErrors"]] == ["INVALID_TRANSITION"]
    assert [e["code"] for e in by_customer["userErrors"]] == ["FORBIDDEN"]
    assert [(e["code"], e["field"]) for e in unknown["userErrors"]] == [("NOT_FOUND", ["input", "returnId"])]
    assert [e["code"] for e in bad_key["userErrors"]] == ["TOO_LONG"]
    assert after["returns"] == before["returns"]
    assert after["returns"][0]["label"]["status"] == "FAILED"
    assert len(await label_tasks(services, return_id)) == 1


async def test_a_received_return_is_refunded_then_closed(
    client: httpx.AsyncClient, services: Services
) -> None:
    order = await shipped(client, paid=True)
    await relay(services)  # the capture
    return_id = await asked(client, order)
    approved = await mutate(client, APPROVE, {"returnId": return_id})
    await relay(services)  # the label

    receipt = await received(client, return_id, [line["id"] for line in approved["orderReturn"]["lines"]])
    waiting = await order_of(client, order["id"])
    await relay(services)  # the refund
    after = await order_of(client, order["id"])
    await relay(services)

    assert receipt["orderReturn"]["status"] == "RECEIVED"
    assert waiting["returns"][0]["status"] == "RECEIVED"
    assert ("REFUND", "PENDING") in [(p["kind"], p["status"]) for p in waiting["payments"]]
    assert ("REFUND", "SUCCEEDED") in [(p["kind"], p["status"]) for p in after["payments"]]
    assert after["returns"][0]["status"] == "CLOSED"
    assert after["returns"][0]["closedAt"] is not None
    assert [e for e in returns_events(after) if not e.startswith("RETURN_LABEL")] == [
        "RETURN_REQUESTED",
        "RETURN_APPROVED",
        "RETURN_RECEIVED",
        "RETURN_REFUNDED",
        "RETURN_CLOSED",
    ]
    assert returns_events(await order_of(client, order["id"])) == returns_events(after)


async def test_a_return_with_nothing_to_refund_closes_when_received(
    client: httpx.AsyncClient, services: Services
) -> None:
    order = await shipped(client)  # no payment taken
    return_id = await asked(client, order)
    approved = await mutate(client, APPROVE, {"returnId": return_id})

    receipt = await received(client, return_id, [line["id"] for line in approved["orderReturn"]["lines"]])

    assert receipt["userErrors"] == []
    assert receipt["orderReturn"]["status"] == "CLOSED"
    events = returns_events(await order_of(client, order["id"]))
    assert events[-2:] == ["RETURN_RECEIVED", "RETURN_CLOSED"]
    assert "RETURN_REFUNDED" not in events


async def test_close_return_is_refused_in_the_wrong_state_and_changes_nothing(
    client: httpx.AsyncClient, services: Services
) -> None:
    order = await shipped(client)
    return_id = await asked(client, order)
    await mutate(client, APPROVE, {"returnId": return_id})
    before = await order_of(client, order["id"])

    too_early = await mutate(client, CLOSE, {"returnId": return_id, "idempotencyKey": "close-1"})
    by_customer = await mutate(client, CLOSE, {"returnId": return_id}, token=ANN)
    unknown = await mutate(client, CLOSE, {"returnId": "no-such-return"})
    bad_key = await mutate(client, CLOSE, {"returnId": return_id, "idempotencyKey": "k" * 5000})
    after = await order_of(client, order["id"])

    assert too_early["orderReturn"] is None
    assert [(e["code"], e["field"]) for e in too_early["userErrors"]] == [
        ("INVALID_TRANSITION", ["input", "returnId"])
    ]
    assert "cannot be closed" in too_early["userErrors"][0]["message"]
    assert [e["code"] for e in by_customer["userErrors"]] == ["FORBIDDEN"]
    assert [e["code"] for e in unknown["userErrors"]] == ["NOT_FOUND"]
    assert [(e["code"], e["field"]) for e in bad_key["userErrors"]] == [
        ("TOO_LONG", ["input", "idempotencyKey"])  # longer than the key column: tests/test_strings.py
    ]
    assert after["returns"] == before["returns"]
    assert after["returns"][0]["status"] == "APPROVED"
    assert after["returns"][0]["closedAt"] is None
    assert returns_events(after) == returns_events(before)


async def test_an_agent_closes_a_received_return_once_and_the_refund_still_goes_out(
    client: httpx.AsyncClient, services: Services
) -> None:
    order = await shipped(client, paid=True)
    await relay(services)
    return_id = await asked(client, order)
    approved = await mutate(client, APPROVE, {"returnId": return_id})
    await received(client, return_id, [line["id"] for line in approved["orderReturn"]["lines"]])

    closed = await mutate(client, CLOSE, {"returnId": return_id, "idempotencyKey": "close-1"})
    repeated = await mutate(client, CLOSE, {"returnId": return_id, "idempotencyKey": "close-1"})
    again = await mutate(client, CLOSE, {"returnId": return_id})
    await relay(services)
    after = await order_of(client, order["id"])

    assert closed["userErrors"] == []
    assert closed["orderReturn"]["status"] == "CLOSED"
    assert closed["orderReturn"]["closedAt"] is not None
    assert repeated["userErrors"] == []
    assert repeated["orderReturn"]["id"] == return_id
    assert [e["code"] for e in again["userErrors"]] == ["INVALID_TRANSITION"]
    assert after["returns"][0]["status"] == "CLOSED"
    assert ("REFUND", "SUCCEEDED") in [(p["kind"], p["status"]) for p in after["payments"]]
    events = returns_events(after)
    assert events.count("RETURN_CLOSED") == 1
    assert "RETURN_REFUNDED" not in events


async def test_a_customer_sees_the_label_of_their_return_and_no_one_else_s(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order = await shipped(client)
    return_id = await asked(client, order)
    await mutate(client, APPROVE, {"returnId": return_id})
    await relay(services)
    [label] = [x for x in shipengine(sandboxes).labels.values() if x.is_return]

    own = await order_of(client, order["id"], token=ANN)
    other = await execute(client, ORDER, {"id": order["id"]}, token=BOB)

    assert own["returns"][0]["label"]["trackingNumber"] == label.tracking_number
    assert own["returns"][0]["label"]["labelUrl"]
    assert (other.get("data") or {}).get("order") is None
    assert label.tracking_number not in str(other)


async def label_bought(
    client: httpx.AsyncClient, services: Services
) -> tuple[dict[str, Any], str, list[str]]:
    """A shipped order's return, approved, its label bought by the relay: the order, the return
    and the return's lines."""
    order = await shipped(client)
    return_id = await asked(client, order)
    approved = await mutate(client, APPROVE, {"returnId": return_id})
    await relay(services)
    return order, return_id, [line["id"] for line in approved["orderReturn"]["lines"]]


async def test_a_label_bought_for_a_parcel_handed_back_over_a_counter_is_voided_for_its_refund(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order, return_id, lines = await label_bought(client, services)  # within moments of the approval

    receipt = await received(client, return_id, lines)
    await relay(services)  # the void
    seen_by_agent = await order_of(client, order["id"])
    seen_by_ann = await order_of(client, order["id"], token=ANN)
    await relay(services)  # voided once

    assert receipt["orderReturn"]["label"]["status"] == "PURCHASED"
    label = return_label(sandboxes)
    assert label.voided_at is not None
    assert seen_by_agent["returns"][0]["label"]["status"] == "VOIDED"
    assert seen_by_agent["returns"][0]["label"]["trackingNumber"] == label.tracking_number  # what was bought
    assert returns_events(seen_by_agent)[-1] == "RETURN_LABEL_VOIDED"
    assert "RETURN_LABEL_VOIDED" not in returns_events(seen_by_ann)  # the merchant's money, not hers
    assert seen_by_ann["returns"][0]["label"]["status"] == "VOIDED"
    [void] = await label_tasks(services, return_id, RETURN_LABEL_VOID)
    assert void.result == f"voided {label.tracking_number}"
    assert void.done_at is not None


async def test_a_label_a_parcel_travelled_on_is_not_voided(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order, return_id, lines = await label_bought(client, services)
    carrier = shipengine(sandboxes)
    await carrier.advance(carrier.clock() + carrier.step_seconds)  # the carrier picks the parcel up

    await received(client, return_id, lines)
    await relay(services)
    after = await order_of(client, order["id"])

    assert return_label(sandboxes).step == 1
    assert return_label(sandboxes).voided_at is None
    assert after["returns"][0]["label"]["status"] == "PURCHASED"
    assert "RETURN_LABEL_VOIDED" not in returns_events(after)
    [void] = await label_tasks(services, return_id, RETURN_LABEL_VOID)
    assert void.result == "kept: the carrier tracks it as ACCEPTED"
    assert void.done_at is not None


async def test_a_label_the_carrier_will_not_void_stays_bought_with_the_carrier_s_reason(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order, return_id, lines = await label_bought(client, services)
    carrier = shipengine(sandboxes)
    real = carrier.clock
    carrier.clock = lambda: real() + 31 * 86_400  # past the carrier's void period, never scanned

    await received(client, return_id, lines)
    await relay(services)
    after = await order_of(client, order["id"])

    assert return_label(sandboxes).voided_at is None
    assert after["returns"][0]["label"]["status"] == "PURCHASED"
    [void] = await label_tasks(services, return_id, RETURN_LABEL_VOID)
    assert (void.result or "").startswith(
        "kept: shipengine would not void it: label_not_found_within_void_period"
    )
    assert void.done_at is not None


async def test_with_the_carrier_down_the_void_waits_and_is_made_on_a_retry(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order, return_id, lines = await label_bought(client, services)
    outage = Outage(services.carriers["shipengine"])
    services.carriers["shipengine"] = outage
    real = services.clock

    await received(client, return_id, lines)
    await relay(services)
    waiting = await order_of(client, order["id"])
    [task] = await label_tasks(services, return_id, RETURN_LABEL_VOID)
    outage.down = False
    services.clock = lambda: real() + timedelta(minutes=5)
    try:
        await relay(services)
    finally:
        services.clock = real

    assert (outage.refused, task.attempts, task.done_at) == (1, 1, None)
    assert "503" in (task.last_error or "")
    assert waiting["returns"][0]["label"]["status"] == "PURCHASED"
    assert (await order_of(client, order["id"]))["returns"][0]["label"]["status"] == "VOIDED"
    assert return_label(sandboxes).voided_at is not None


async def test_a_purchase_that_lands_after_the_parcel_came_back_is_voided_and_never_offered_to_print(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order = await shipped(client)
    return_id = await asked(client, order)
    approved = await mutate(client, APPROVE, {"returnId": return_id})
    lines = [line["id"] for line in approved["orderReturn"]["lines"]]
    services.carriers["shipengine"] = Meanwhile(
        services.carriers["shipengine"], lambda: received(client, return_id, lines)
    )

    await relay(services)  # the purchase, while the parcel is received over a counter
    bought = await order_of(client, order["id"])
    await relay(services)  # the void its purchase promised
    after = await order_of(client, order["id"])

    assert bought["returns"][0]["status"] == "CLOSED"  # nothing was paid, so nothing to refund
    assert bought["returns"][0]["label"]["status"] == "PURCHASED"
    assert after["returns"][0]["label"]["status"] == "VOIDED"
    assert return_label(sandboxes).voided_at is not None
    assert "RETURN_LABEL_CREATED" not in returns_events(after)  # no label to print was announced
    assert returns_events(after)[-1] == "RETURN_LABEL_VOIDED"


async def test_the_label_email_goes_out_while_the_return_waits_for_its_parcel_and_not_after(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    posted, counter = await shipped(client), await shipped(client)
    posted_return, counter_return = await asked(client, posted), await asked(client, counter)
    await mutate(client, APPROVE, {"returnId": posted_return})
    approved = await mutate(client, APPROVE, {"returnId": counter_return})
    await relay(services)  # both labels bought

    await received(client, counter_return, [line["id"] for line in approved["orderReturn"]["lines"]])
    await send_due(services)

    mails = {mail["subject"]: mail for mail in await inbox(client)}
    [label_mail] = [mail for subject, mail in mails.items() if "label" in subject.lower()]
    assert posted["id"] != counter["id"]
    posted_label = (await order_of(client, posted["id"]))["returns"][0]["label"]
    assert posted_label["labelUrl"] in label_mail["links"]
    [posted_email] = [r for r in await email_tasks(services, posted["id"]) if r.kind == "return_label"]
    [counter_email] = [r for r in await email_tasks(services, counter["id"]) if r.kind == "return_label"]
    assert posted_email.status == "SENT"
    assert counter_email.status == "SKIPPED"
    assert counter_email.task.result == "skipped: the return is CLOSED: its parcel is back"

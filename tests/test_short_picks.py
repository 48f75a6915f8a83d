"""Short picks: the node finds fewer units than its fulfilment order asks for. The units it has go
on; the missing ones are written off its stock (and the ERP's) and re-routed to another node."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ordergate.bootstrap import Sandboxes
from ordergate.usecases.services import Services
from ordergate.workers.handlers import outbox_handlers
from ordergate.workers.relay import relay_once
from tests.builders import a_line, a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import execute
from tests.test_inventory import sold_unheard

pytestmark = pytest.mark.no_relay

AGENT = a_token("agent")
DALLAS = a_token("associate", locations=("DC-DFW",))
SHORT = """mutation($input: ReportShortPickInput!) {
  reportShortPick(input: $input) {
    fulfillmentOrder { status lines { sku quantity } }
    userErrors { code field }
  }
}"""
ORDER = """query($id: ID!) {
  order(id: $id) { fulfillmentOrders { status location { code } lines { sku quantity } } }
}"""


async def place(client: httpx.AsyncClient, quantity: int = 3) -> dict[str, Any]:
    body = await execute(
        client,
        operation("PlaceOrder"),
        {"input": an_order_input(lines=[a_line("MUG-BLUE", quantity), a_line("KNIFE-CHEF-8", 1)])},
        token=AGENT,
    )
    order: dict[str, Any] = body["data"]["placeOrder"]["order"]
    return order


async def short(
    client: httpx.AsyncClient, fo_id: str, *lines: tuple[str, int], write_off: bool = True
) -> dict[str, Any]:
    body = await execute(
        client,
        SHORT,
        {
            "input": {
                "fulfillmentOrderId": fo_id,
                "lines": [{"sku": sku, "missing": missing} for sku, missing in lines],
                "writeOff": write_off,
            }
        },
        token=DALLAS,
    )
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["reportShortPick"]
    return payload


async def at(services: Services, code: str) -> tuple[int, int]:
    async with services.store.read() as uow:
        location = next(loc for loc in await uow.catalog.locations() if loc.code == code)
        [found] = [p for p in await uow.inventory.positions(["MUG-BLUE"]) if p.location_id == location.id]
    return found.on_hand, found.allocated


async def test_the_missing_units_are_written_off_and_re_routed_and_the_rest_goes_on(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order = await place(client)
    fo_id = order["fulfillmentOrders"][0]["id"]
    await execute(client, operation("Accept"), {"id": fo_id}, token=DALLAS)
    await execute(client, operation("StartPicking"), {"id": fo_id}, token=DALLAS)
    on_hand, _ = await at(services, "DC-DFW")

    payload = await short(client, fo_id, ("MUG-BLUE", 2))

    assert payload["userErrors"] == []
    assert payload["fulfillmentOrder"]["status"] == "PICKING"
    assert sorted((x["sku"], x["quantity"]) for x in payload["fulfillmentOrder"]["lines"]) == [
        ("KNIFE-CHEF-8", 1),
        ("MUG-BLUE", 1),
    ]
    assert await at(services, "DC-DFW") == (on_hand - 2, 1)
    body = await execute(client, ORDER, {"id": order["id"]}, token=AGENT)
    [elsewhere] = [
        fo for fo in body["data"]["order"]["fulfillmentOrders"] if fo["location"]["code"] != "DC-DFW"
    ]
    assert (elsewhere["status"], elsewhere["lines"]) == ("OPEN", [{"sku": "MUG-BLUE", "quantity": 2}])

    while await relay_once(services, outbox_handlers(services)):
        pass
    katana = sandboxes.katana
    assert katana is not None
    assert int(katana.on_hand("MUG-BLUE", "DC-DFW")) == on_hand - 2
    [sales_order] = katana.sales_orders_for(f"{order['number']}-DC-DFW")
    mug = katana.variant_for("MUG-BLUE").id
    assert [row["quantity"] for row in sales_order["sales_order_rows"] if row["variant_id"] == mug] == [1]


@pytest.mark.warmed
async def test_missing_units_go_where_the_erp_has_them_now_not_where_an_old_snapshot_did(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    """The mugs sold out at the ERP everywhere but Dallas and Newark since this gateway read
    them (its snapshot is past the TTL, and no webhook told it): the two Dallas cannot find go to
    Newark, not to the node the old snapshot would have chosen."""
    order = await place(client)
    fo_id = order["fulfillmentOrders"][0]["id"]
    await execute(client, operation("Accept"), {"id": fo_id}, token=DALLAS)
    await execute(client, operation("StartPicking"), {"id": fo_id}, token=DALLAS)
    sold_unheard(services, sandboxes, "MUG-BLUE", "DC-EWR", "DC-DFW")

    payload = await short(client, fo_id, ("MUG-BLUE", 2))

    assert payload["userErrors"] == []
    body = await execute(client, ORDER, {"id": order["id"]}, token=AGENT)
    [elsewhere] = [
        fo for fo in body["data"]["order"]["fulfillmentOrders"] if fo["location"]["code"] != "DC-DFW"
    ]
    assert (elsewhere["location"]["code"], elsewhere["lines"]) == (
        "DC-EWR",
        [{"sku": "MUG-BLUE", "quantity": 2}],
    )


async def test_without_a_write_off_the_rest_is_re_routed_and_the_node_keeps_its_stock(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order = await place(client)
    fo_id = order["fulfillmentOrders"][0]["id"]
    await execute(client, operation("Accept"), {"id": fo_id}, token=DALLAS)
    on_hand, _ = await at(services, "DC-DFW")

    payload = await short(client, fo_id, ("MUG-BLUE", 2), write_off=False)
    for name in ("StartPicking", "Pack"):
        await execute(client, operation(name), {"id": fo_id}, token=DALLAS)
    shipped = await execute(client, operation("Ship"), {"input": {"fulfillmentOrderId": fo_id}}, token=DALLAS)

    assert payload["userErrors"] == []
    assert "errors" not in shipped, shipped
    assert await at(services, "DC-DFW") == (on_hand - 1, 0)
    body = await execute(
        client,
        """query($id: ID!) { order(id: $id) { fulfillmentStatus
          fulfillmentOrders { status location { code } lines { sku quantity } } } }""",
        {"id": order["id"]},
        token=AGENT,
    )
    found = body["data"]["order"]
    assert found["fulfillmentStatus"] == "PARTIALLY_FULFILLED"
    assert sorted(
        (fo["location"]["code"] == "DC-DFW", fo["status"], [(x["sku"], x["quantity"]) for x in fo["lines"]])
        for fo in found["fulfillmentOrders"]
    ) == [
        (False, "OPEN", [("MUG-BLUE", 2)]),
        (True, "SHIPPED", [("KNIFE-CHEF-8", 1), ("MUG-BLUE", 1)]),
    ]
    while await relay_once(services, outbox_handlers(services)):
        pass
    assert sandboxes.katana is not None
    assert sandboxes.katana.adjustments == []
    assert int(sandboxes.katana.on_hand("MUG-BLUE", "DC-DFW")) == on_hand - 1


async def test_two_short_picks_on_one_order_are_both_told_to_the_erp(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order = await place(client)
    fo_id = order["fulfillmentOrders"][0]["id"]
    await execute(client, operation("Accept"), {"id": fo_id}, token=DALLAS)
    on_hand, _ = await at(services, "DC-DFW")

    assert (await short(client, fo_id, ("MUG-BLUE", 1)))["userErrors"] == []
    assert (await short(client, fo_id, ("MUG-BLUE", 1)))["userErrors"] == []
    while await relay_once(services, outbox_handlers(services)):
        pass

    assert sandboxes.katana is not None
    assert len(sandboxes.katana.adjustments) == 2
    assert int(sandboxes.katana.on_hand("MUG-BLUE", "DC-DFW")) == on_hand - 2


@pytest.mark.parametrize(
    ("lines", "code", "field"),
    [
        ((("MUG-BLUE", 4),), "INVALID_QUANTITY", ["input", "lines", "0", "missing"]),
        ((("MUG-BLUE", 0),), "INVALID_QUANTITY", ["input", "lines", "0", "missing"]),
        ((("PLATE-DINNER", 1),), "NOT_FOUND", ["input", "lines", "0", "sku"]),
        ((("MUG-BLUE", 3), ("KNIFE-CHEF-8", 1)), "SHORT_PICK_COVERS_ALL", ["input", "lines"]),
    ],
)
async def test_a_short_pick_that_does_not_fit_the_work_is_refused_and_changes_nothing(
    client: httpx.AsyncClient,
    services: Services,
    lines: tuple[tuple[str, int], ...],
    code: str,
    field: list[str],
) -> None:
    order = await place(client)
    fo_id = order["fulfillmentOrders"][0]["id"]
    await execute(client, operation("Accept"), {"id": fo_id}, token=DALLAS)
    before = await at(services, "DC-DFW")

    payload = await short(client, fo_id, *lines)

    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [(code, field)]
    assert await at(services, "DC-DFW") == before


async def test_a_node_that_finds_none_of_the_units_as_it_picks_rejects_the_work_as_told(
    client: httpx.AsyncClient,
) -> None:
    """Found by the long-run walk (seed 552): a short pick of every unit is refused, pointing to
    a rejection, and a rejection while picking was refused too: the associate had no way out."""
    order = await place(client)
    fo_id = order["fulfillmentOrders"][0]["id"]
    for name in ("Accept", "StartPicking"):
        await execute(client, operation(name), {"id": fo_id}, token=DALLAS)

    told = await short(client, fo_id, ("MUG-BLUE", 3), ("KNIFE-CHEF-8", 1), write_off=False)
    rejected = await execute(
        client, operation("Reject"), {"id": fo_id, "reason": "none on the shelf"}, token=DALLAS
    )

    assert [e["code"] for e in told["userErrors"]] == ["SHORT_PICK_COVERS_ALL"]
    payload = rejected["data"]["rejectFulfillmentOrder"]
    assert (payload["userErrors"], payload["fulfillmentOrder"]["status"]) == ([], "REJECTED")
    body = await execute(client, ORDER, {"id": order["id"]}, token=AGENT)
    work = body["data"]["order"]["fulfillmentOrders"]
    [(first, rejected_there), *elsewhere] = [(fo["location"]["code"], fo["status"]) for fo in work]
    assert (first, rejected_there) == ("DC-DFW", "REJECTED")
    assert elsewhere
    assert all(status == "OPEN" and code != "DC-DFW" for code, status in elsewhere)


async def test_work_not_being_picked_cannot_be_short_picked(client: httpx.AsyncClient) -> None:
    order = await place(client)

    payload = await short(client, order["fulfillmentOrders"][0]["id"], ("MUG-BLUE", 1))

    assert [e["code"] for e in payload["userErrors"]] == ["INVALID_TRANSITION"]


async def test_a_line_missing_whole_leaves_the_work_and_the_other_lines_go_on(
    client: httpx.AsyncClient, services: Services
) -> None:
    """Found by the long-run walk (seed 4): the emptied line used to break the work's own rule
    that a line holds at least one unit, and the request failed."""
    order = await place(client)
    fo_id = order["fulfillmentOrders"][0]["id"]
    await execute(client, operation("Accept"), {"id": fo_id}, token=DALLAS)
    on_hand, _ = await at(services, "DC-DFW")

    payload = await short(client, fo_id, ("MUG-BLUE", 3))

    assert payload["userErrors"] == []
    assert payload["fulfillmentOrder"]["lines"] == [{"sku": "KNIFE-CHEF-8", "quantity": 1}]
    assert await at(services, "DC-DFW") == (on_hand - 3, 0)

"""The order status page as its customer reads it: opened by the signed link or by number and
email, showing the stage, parcels, pickup and returns, starting a return with requestReturn's
rules, and kept current by a server-sent event stream. (The browser test is test_status_browser.)"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from ordergate.bootstrap import Sandboxes
from ordergate.pages.status import StatusPages
from ordergate.usecases import status_page
from ordergate.usecases.services import Services
from tests.builders import a_line, a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import execute
from tests.test_fulfillment import CHICAGO, DALLAS, location_ids, step

TIMES = "\N{MULTIPLICATION SIGN}"
ANN = a_token("customer", email="ann@example.com")
AGENT = a_token("agent")
LINK = "query($id: ID!) { order(id: $id) { number statusPageUrl } }"
RETURNS = "query($id: ID!) { order(id: $id) { returns { status lines { sku quantity } } } }"


async def placed(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    body = await execute(client, operation("PlaceOrder"), {"input": an_order_input(**overrides)}, token=ANN)
    assert body["data"]["placeOrder"]["userErrors"] == [], body
    order: dict[str, Any] = body["data"]["placeOrder"]["order"]
    linked = await execute(client, LINK, {"id": order["id"]}, token=ANN)
    found: dict[str, Any] = order | linked["data"]["order"]
    return found


def path_of(order: dict[str, Any]) -> str:
    parts = urlsplit(order["statusPageUrl"])
    return f"{parts.path}?{parts.query}"


def text_of(html: str) -> str:
    """What a reader sees, roughly: tags dropped, whitespace folded."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


async def shipped(client: httpx.AsyncClient, order: dict[str, Any]) -> None:
    fo_id = order["fulfillmentOrders"][0]["id"]
    for name in ("Accept", "StartPicking", "Pack"):
        await step(client, name, DALLAS, id=fo_id)
    await step(client, "Ship", DALLAS, input={"fulfillmentOrderId": fo_id})


async def test_the_link_opens_the_page_with_what_the_customer_bought(client: httpx.AsyncClient) -> None:
    order = await placed(client, lines=[a_line("MUG-BLUE", 2), a_line("SOAP-OLIVE-3", 1)])

    page = await client.get(path_of(order))

    assert page.status_code == 200
    seen = text_of(page.text)
    assert f"Order #{order['number']}" in seen
    assert "Order received" in seen
    assert f"2 {TIMES} Stoneware Mug, Blue" in seen
    assert f"1 {TIMES} Olive Oil Soap, 3 Bars" in seen
    assert "Total" in seen
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert 'lang="en"' in page.text
    assert "Start a return" not in seen  # nothing has reached the customer yet


async def test_the_page_s_totals_add_up_to_what_the_order_costs(client: httpx.AsyncClient) -> None:
    """Two mugs to Austin: Texas taxes the 7.95 of shipping too. The page's tax is the order's
    (goods and shipping); before, it added the shipping's tax a second time."""
    order = await placed(client, lines=[a_line("MUG-BLUE", 2)])
    money = "query($id: ID!) { order(id: $id) { subtotal { amount } shippingTotal { amount } "
    money += "tax { amount } shippingTax { amount } total { amount } } }"
    priced = (await execute(client, money, {"id": order["id"]}, token=ANN))["data"]["order"]

    seen = text_of((await client.get(path_of(order))).text)
    rows = dict(re.findall(r"(Subtotal|Shipping|Tax|Total) \$([0-9.,]+)", seen))

    assert priced["shippingTax"] == {"amount": "0.50"}
    assert rows == {
        "Subtotal": priced["subtotal"]["amount"],
        "Shipping": priced["shippingTotal"]["amount"],
        "Tax": priced["tax"]["amount"],
        "Total": priced["total"]["amount"],
    }
    assert "Discount" not in seen


async def test_a_link_we_did_not_make_opens_nothing_and_says_nothing(client: httpx.AsyncClient) -> None:
    order = await placed(client)
    other = await placed(client)
    token = urlsplit(order["statusPageUrl"]).query.removeprefix("t=")

    forged = await client.get(f"/orders/{other['number']}?t={token}")
    unknown = await client.get(f"/orders/999999?t={token}")
    bare = await client.get(f"/orders/{order['number']}")

    assert forged.status_code == unknown.status_code == bare.status_code == 404
    assert forged.text == unknown.text == bare.text
    assert order["number"] not in forged.text


async def test_the_number_and_email_lead_to_the_signed_link(client: httpx.AsyncClient) -> None:
    order = await placed(client)

    found = await client.post("/orders", data={"number": f"#{order['number']}", "email": " Ann@Example.com "})
    wrong = await client.post("/orders", data={"number": order["number"], "email": "bob@example.com"})

    assert found.status_code == 303
    assert found.headers["location"] == path_of(order)
    assert wrong.status_code == 404
    assert "No order has that number and email address" in wrong.text
    assert path_of(order) not in wrong.text


async def test_lookups_are_metered_per_address(client: httpx.AsyncClient) -> None:
    answers = [
        (await client.post("/orders", data={"number": "1", "email": f"x{i}@example.com"})).status_code
        for i in range(12)
    ]
    assert answers[:10] == [404] * 10
    assert answers[10:] == [429, 429]


async def test_a_parcel_shows_its_tracking_and_moves_to_delivered(
    client: httpx.AsyncClient, sandboxes: Sandboxes
) -> None:
    order = await placed(client)
    await shipped(client, order)
    page = text_of((await client.get(path_of(order))).text)
    assert "Shipped" in page
    [number] = re.findall(r"tracking number (\S+)", page)
    assert "Track with" in page

    assert sandboxes.shipengine is not None
    for moves in range(1, 6):
        await sandboxes.shipengine.advance(time.time() + moves * 31)
    after = (await client.get(path_of(order))).text

    assert "Delivered" in text_of(after)
    assert f'data-tracking="{number}"' in after
    assert "Latest:" in text_of(after)
    assert 'rel="noreferrer noopener"' in after


async def test_a_return_is_started_from_the_page_once_per_click(client: httpx.AsyncClient) -> None:
    order = await placed(client, lines=[a_line("MUG-BLUE", 2)])
    await shipped(client, order)
    page = (await client.get(path_of(order))).text
    assert "Start a return" in page
    [key] = re.findall(r'name="key" value="([0-9a-f]+)"', page)
    [field] = re.findall(r'name="(qty-[^"]+)"', page)
    form = {"key": key, field: "1", "reason": "Doesn't fit"}
    returns_path = path_of(order).replace("?", "/returns?", 1)

    first = await client.post(returns_path, data=form)
    again = await client.post(returns_path, data=form)  # the double click

    assert first.status_code == again.status_code == 303
    assert first.headers["location"].endswith("&returned=1")
    body = await execute(client, RETURNS, {"id": order["id"]}, token=AGENT)
    assert body["data"]["order"]["returns"] == [
        {"status": "REQUESTED", "lines": [{"sku": "MUG-BLUE", "quantity": 1}]}
    ]
    shown = text_of((await client.get(first.headers["location"])).text)
    assert "We have your return request" in shown
    assert f"Returns Requested : 1 {TIMES} Stoneware Mug, Blue" in shown


async def test_a_return_the_rules_refuse_says_why_and_changes_nothing(client: httpx.AsyncClient) -> None:
    order = await placed(client, lines=[a_line("MUG-BLUE", 1)])
    await shipped(client, order)
    page = (await client.get(path_of(order))).text
    [field] = re.findall(r'name="(qty-[^"]+)"', page)
    returns_path = path_of(order).replace("?", "/returns?", 1)

    too_many = await client.post(returns_path, data={field: "5", "reason": "Other"})
    nothing = await client.post(returns_path, data={field: "0", "reason": "Other"})
    elsewhere = await client.post(
        returns_path, data={field: "1", "reason": "Other"}, headers={"Origin": "https://evil.example"}
    )

    assert too_many.status_code == nothing.status_code == 422
    refused = text_of(too_many.text)
    assert "We couldn't start that return: only 1 of this line can be returned" in refused
    assert "Choose how many" in nothing.text
    fetched = await client.post(
        returns_path, data={field: "1", "reason": "Other"}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert elsewhere.status_code == fetched.status_code == 403
    body = await execute(client, RETURNS, {"id": order["id"]}, token=AGENT)
    assert body["data"]["order"]["returns"] == []


async def test_a_pickup_says_where_and_until_when(client: httpx.AsyncClient) -> None:
    ids = await location_ids(client)
    order = await placed(
        client,
        deliveryMethod="PICKUP",
        shippingAddress=None,
        pickupLocationId=ids["ST-CHI"],
        lines=[a_line()],
    )
    fo_id = order["fulfillmentOrders"][0]["id"]
    for name in ("Accept", "StartPicking", "Pack", "ReadyForPickup"):
        await step(client, name, CHICAGO, id=fo_id)

    seen = text_of((await client.get(path_of(order))).text)

    assert "Ready for pickup" in seen
    assert re.search(r"Pickup at \S.+ Ready now\. We keep it for you until \w{3}, \w{3} \d+", seen), seen


async def test_the_stream_sends_the_panel_again_after_a_change(
    client: httpx.AsyncClient, services: Services
) -> None:
    order = await placed(client)
    record = await status_page.by_link(services, order["number"], urlsplit(order["statusPageUrl"]).query[2:])
    stream = StatusPages(services)._stream(record)

    assert await anext(stream) == b"retry: 3000\n\n"
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.2)  # the stream follows the order before anything changes
    fo_id = order["fulfillmentOrders"][0]["id"]
    await step(client, "Accept", DALLAS, id=fo_id)
    update = (await asyncio.wait_for(waiting, 5)).decode()
    await stream.aclose()

    assert update.startswith("event: update\n")
    assert 'data-stage="PREPARING"' in update
    assert all(line.startswith(("event:", "data:")) for line in update.strip().splitlines())


@pytest.mark.parametrize("hostile", ["../../etc/passwd", "%00", "1' OR '1'='1", "x" * 500])
async def test_hostile_numbers_and_tokens_are_a_plain_404(client: httpx.AsyncClient, hostile: str) -> None:
    for path in (f"/orders/{hostile}?t={hostile}", f"/orders/1?t={hostile}", f"/orders/{hostile}/live?t=x"):
        answer = await client.get(path)
        assert answer.status_code == 404, path
        assert "Traceback" not in answer.text


async def test_a_form_of_the_wrong_shape_or_size_is_a_plain_refusal(client: httpx.AsyncClient) -> None:
    order = await placed(client)
    returns_path = path_of(order).replace("?", "/returns?", 1)
    many = "&".join(f"f{i}=1" for i in range(500)).encode()
    answers = [
        await client.post(
            "/orders", content=many, headers={"Content-Type": "application/x-www-form-urlencoded"}
        ),
        await client.post("/orders", content=b"\xff\xfe{not a form"),
        await client.post(returns_path, content=many),
        await client.post(returns_path, content=b"qty-x=" + b"9" * 5000),
        await client.post("/dashboard/session", content=many),
    ]
    assert [a.status_code for a in answers] == [404, 404, 422, 422, 401]
    assert all("Traceback" not in a.text for a in answers)

"""The agents' dashboard (issue 19, item 7): signed in with a staff token kept in an HttpOnly
cookie, the search, and an order's timeline with its notes, tags and audit trail."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ordergate.bootstrap import Sandboxes
from ordergate.pages.charts import duration, polyline
from ordergate.usecases.services import Services
from tests.builders import a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import execute
from tests.test_inventory import katana, sold_unheard
from tests.test_shortfalls import two_mug_orders
from tests.test_status_page import text_of

AGENT = a_token("agent")
ANN = a_token("customer", email="ann@example.com")
NOTE = "mutation($input: AddNoteInput!) { addNote(input: $input) { userErrors { code } } }"
TAG = "mutation($input: TagsInput!) { addTags(input: $input) { userErrors { code } } }"


async def signed_in(client: httpx.AsyncClient, token: str = AGENT) -> httpx.Response:
    return await client.post("/dashboard/session", data={"token": token})


async def place(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    body = await execute(client, operation("PlaceOrder"), {"input": an_order_input(**overrides)}, token=AGENT)
    order: dict[str, Any] = body["data"]["placeOrder"]["order"]
    return order


async def test_only_staff_get_in_and_the_token_stays_out_of_reach_of_scripts(
    client: httpx.AsyncClient,
) -> None:
    first = await client.get("/dashboard")
    assert "Sign in" in first.text
    assert 'type="password"' in first.text

    refused = await signed_in(client, ANN)
    associate = await signed_in(client, a_token("associate", locations=("DC-DFW",)))
    forged = await signed_in(client, "not.a.token")
    assert (refused.status_code, associate.status_code, forged.status_code) == (403, 403, 401)
    assert "og_staff" not in client.cookies

    accepted = await signed_in(client)
    assert accepted.status_code == 303
    cookie = accepted.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
    assert "Path=/dashboard" in cookie
    home = await client.get("/dashboard")
    assert "Find an order" in home.text
    assert "agent-test (agent)" in text_of(home.text)

    await client.post("/dashboard/session/end")
    assert "Sign in" in (await client.get("/dashboard")).text


async def test_the_search_finds_orders_and_opens_one_with_its_history(client: httpx.AsyncClient) -> None:
    wanted = await place(client, externalReference="BC-7777")
    await place(client)
    await execute(
        client,
        NOTE,
        {"input": {"targetType": "ORDER", "targetId": wanted["id"], "body": "VIP <b>call</b>"}},
        token=AGENT,
    )
    await execute(
        client,
        TAG,
        {"input": {"targetType": "ORDER", "targetId": wanted["id"], "tags": ["vip"]}},
        token=AGENT,
    )
    await signed_in(client)

    results = await client.get("/dashboard", params={"q": "BC-7777"})
    rows = re.findall(r'<a href="(/dashboard/orders/[^"]+)">([^<]+)</a>', results.text)
    assert [number for _, number in rows] == [wanted["number"]]

    page = await client.get(rows[0][0])
    seen = text_of(page.text)
    assert f"Order {wanted['number']}" in seen
    assert "agent-test: VIP <b>call</b>" not in page.text  # escaped, not markup
    assert "agent-test: VIP &lt;b&gt;call&lt;/b&gt;" in page.text
    assert "Order placed We received your order." in seen
    assert "addNote by agent-test (agent)" in seen
    assert "placeOrder by agent-test (agent)" in seen
    assert "<td>Order</td><td>status</td><td></td><td>CONFIRMED</td>" in page.text  # the placement's diff
    assert '<span class="tag">vip</span>' in page.text


async def test_without_a_session_an_order_page_sends_to_sign_in(client: httpx.AsyncClient) -> None:
    order = await place(client)
    answer = await client.get(f"/dashboard/orders/{order['id']}")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard"


async def test_the_last_30_days_are_drawn_from_network_metrics(client: httpx.AsyncClient) -> None:
    for _ in range(2):
        await place(client)
    await signed_in(client)
    today = datetime.now(UTC).date()
    answer = await execute(
        client,
        "query($from: Date!, $to: Date!) { networkMetrics(from: $from, to: $to) { totals { orders } } }",
        {"from": (today - timedelta(days=29)).isoformat(), "to": today.isoformat()},
        token=AGENT,
    )
    orders = answer["data"]["networkMetrics"]["totals"]["orders"]

    home = (await client.get("/dashboard")).text

    cards = dict(re.findall(r'<li class="figure"><p>([^<]+)</p><p class="value">([^<]+)</p>', home))
    assert orders >= 2
    assert cards["Orders"] == str(orders)
    assert set(cards) >= {"Revenue", "Split rate", "On time", "Order to ship, p50 / p90", "Refused for stock"}
    [line] = re.findall(r'aria-label="Orders per day"><polyline points="([^"]+)"', home)
    points = [tuple(map(float, point.split(","))) for point in line.split()]
    assert len(points) == 30
    assert points[-1][1] < points[0][1]  # today's orders stand above a day without any


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "n/a"),
        (0, "0 s"),
        (59, "59 s"),
        (60, "1 min"),
        (3599, "59 min"),
        (3600, "1.0 h"),
        (5400, "1.5 h"),
        (172_000, "47.8 h"),
        (172_800, "2.0 d"),
    ],
)
def test_a_card_s_duration_reads_in_seconds_minutes_hours_or_days(seconds: int | None, shown: str) -> None:
    assert duration(seconds) == shown


def test_a_sparkline_spans_the_box_with_the_largest_value_on_top() -> None:
    assert polyline([]) == ""
    assert polyline([0, 5, 10]) == "2.0,38.0 100.0,20.0 198.0,2.0"
    assert polyline([3]) == "2.0,2.0"
    assert polyline([0, 0]) == "2.0,38.0 198.0,38.0"


async def test_the_home_page_shows_stock_a_count_left_short_with_the_orders_holding_it(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    await signed_in(client)
    assert "Stock a count left short" not in (await client.get("/dashboard")).text
    older, newer = await two_mug_orders(client)
    sold_unheard(services, sandboxes, "MUG-BLUE", "DC-DFW")  # nowhere to move them

    await katana(sandboxes).set_on_hand("MUG-BLUE", "DC-DFW", 3)

    home = await client.get("/dashboard")
    seen = text_of(home.text)
    assert "Stock a count left short" in seen
    numbers = {await number_of(client, order_id): order_id for order_id in (older, newer)}
    row = re.search(r"<tr><td>MUG-BLUE</td><td>DC-DFW</td>(.*?)</tr>", home.text, re.S)
    assert row is not None
    assert text_of(row.group(1)).startswith("3 4 1 ")  # on hand, allocated, missing
    assert re.search(r'<td><time datetime="[^"]+">\d{4}-\d\d-\d\d \d\d:\d\d UTC</time></td>', row.group(1))
    cards = dict(re.findall(r'<li class="figure"><p>([^<]+)</p><p class="value">([^<]+)</p>', home.text))
    assert cards["Positions gone short"] == "1"  # today's spell, still going on
    assert cards["Time short, p50 / p90"] == "n/a / n/a"
    linked = re.findall(r'<a href="/dashboard/orders/([^"]+)">([^<]+)</a> \((\d+), ([^)]+)\)', row.group(1))
    newest, oldest = sorted(numbers, reverse=True)
    assert linked == [
        (numbers[newest], newest, "2", "Not started"),
        (numbers[oldest], oldest, "2", "Not started"),
    ]


async def number_of(client: httpx.AsyncClient, order_id: str) -> str:
    body = await execute(
        client, "query($id: ID!) { order(id: $id) { number } }", {"id": order_id}, token=AGENT
    )
    return str(body["data"]["order"]["number"])

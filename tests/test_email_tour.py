"""The tour's emails, with the gateway's workers running as `ordergate serve` runs them: place an
order, ship it, and the sandbox's mail page shows the confirmation and the shipping email, each
with the order's status link."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from ordergate.usecases.services import Services
from tests.server import gateway
from tests.test_shipping import packed, ship

DEADLINE_SECONDS = 15.0


async def mail_until(client: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    """The sink's messages once there are `count`, newest first (the relay sends in the background)."""
    async with asyncio.timeout(DEADLINE_SECONDS):
        while True:
            found: list[dict[str, Any]] = (await client.get("/sandbox/mail/messages.json")).json()
            if len(found) >= count:
                return found
            await asyncio.sleep(0.05)


async def test_placing_and_shipping_an_order_shows_both_emails_at_sandbox_mail(
    client: httpx.AsyncClient, services: Services
) -> None:
    order, fo_id = await packed(client)
    await mail_until(client, 1)
    shipped = await ship(client, fo_id)
    shipping, confirmation = await mail_until(client, 2)

    number = order["number"]
    assert confirmation["subject"] == f"Your order {number} is confirmed"
    assert shipping["subject"] == f"Your order {number} has shipped"
    assert shipped["shipment"]["trackingNumber"] in shipping["text"]
    for mail in (confirmation, shipping):
        [link] = [link for link in mail["links"] if f"/orders/{number}?" in link]
        assert services.links.valid(number, parse_qs(urlsplit(link).query)["t"][0])
    listing = await client.get("/sandbox/mail/")
    assert listing.status_code == 200
    assert listing.text.index(f"Your order {number} has shipped") < listing.text.index(
        f"Your order {number} is confirmed"
    )
    page = await client.get(f"/sandbox/mail/{shipping['number']}")
    assert services.links.url(number) in page.text
    assert f'src="/sandbox/mail/{shipping["number"]}/html"' in page.text


async def test_a_gateway_started_on_an_empty_database_emails_from_its_first_order(tmp_path: Path) -> None:
    """As the README's tour runs it: a real server process, migrated at start, its sink on a port
    of its own, the relay sending to it over SMTP."""
    with gateway(tmp_path) as server:
        async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as client:
            order, fo_id = await packed(client)
            await ship(client, fo_id)
            shipping, confirmation = await mail_until(client, 2)

    assert confirmation["subject"] == f"Your order {order['number']} is confirmed"
    assert shipping["subject"] == f"Your order {order['number']} has shipped"
    assert any(f"/orders/{order['number']}?t=" in link for link in shipping["links"])

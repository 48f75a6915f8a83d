"""Email to customers: each event that tells a customer something becomes one email, once,
sent over SMTP to the sandbox's server (read at /sandbox/mail), retried with backoff while the
server is away, visible to agents, and skipped for customers who opted out when it is not
essential. The outbox is driven by hand here (`no_relay`); tests/test_email_tour.py runs it live."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from ordergate.bootstrap import Sandboxes
from ordergate.connectors.mail.smtp import SmtpMailer
from ordergate.models.emails import EMAIL_POSITION
from ordergate.models.events import EventType
from ordergate.models.identity import Principal, Role
from ordergate.models.outbox import EMAIL_MESSAGE, RETRY_BASE
from ordergate.models.scope import OrderScope
from ordergate.usecases import emails
from ordergate.usecases.services import Services
from ordergate.workers.dispatch import EMAILS, dispatch_once
from ordergate.workers.relay import relay_once
from tests.builders import a_token, an_order_input
from tests.clock import moving
from tests.contract import operation
from tests.graphql_client import error_codes, execute
from tests.server import free_port
from tests.test_backorders import WOOL, katana
from tests.test_backorders import place as place_wool
from tests.test_backorders import read as read_order
from tests.test_inventory import only_at
from tests.test_shipping import DALLAS, packed, ship

pytestmark = pytest.mark.no_relay

AGENT = a_token("agent")
ANN = a_token("customer", email="ann@example.com")
HANDLERS = {EMAIL_MESSAGE: emails.send}
EVERYTHING = OrderScope(everything=True)

EMAILS_OF = """
query Emails($id: ID!) {
  order(id: $id) { number emails { kind to status attempts lastError result nextAttemptAt } }
}
"""
OPT_OUT = """
mutation OptOut($input: SetEmailOptOutInput!) {
  setEmailOptOut(input: $input) { customer { id email emailOptOut } userErrors { code field message } }
}
"""


async def send_due(services: Services) -> None:
    """What the gateway's workers do after a commit: dispatch the new events, send the emails."""
    await dispatch_once(services, EMAILS)
    await relay_once(services, HANDLERS)


async def inbox(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    answer = await client.get("/sandbox/mail/messages.json")
    assert answer.status_code == 200
    found: list[dict[str, Any]] = answer.json()
    return found


async def email_tasks(services: Services, order_id: str) -> list[emails.EmailRecord]:
    return await emails.order_emails(services, Principal(subject="agent-test", role=Role.AGENT), order_id)


async def test_an_order_placed_and_shipped_emails_its_confirmation_and_its_shipping_once(
    client: httpx.AsyncClient, services: Services
) -> None:
    order, fo_id = await packed(client)
    await send_due(services)
    shipped = await ship(client, fo_id)
    await send_due(services)
    await send_due(services)  # the dispatcher and the relay again: nothing new to send

    mails = await inbox(client)
    assert [mail["subject"] for mail in reversed(mails)] == [
        f"Your order {order['number']} is confirmed",
        f"Your order {order['number']} has shipped",
    ]
    status_link = services.links.url(order["number"])
    assert all(status_link in mail["links"] for mail in mails)
    assert all(mail["to"] == ["ann@example.com"] for mail in mails)
    shipping = mails[0]
    number = shipped["shipment"]["trackingNumber"]
    assert f"Tracking number: {number}" in shipping["text"]
    assert f"https://tools.usps.com/go/TrackConfirmAction?tLabels={number}" in shipping["links"]
    assert number in shipping["html"]
    assert status_link.replace("&", "&amp;") in shipping["html"]
    records = await email_tasks(services, order["id"])
    assert [(r.kind, r.status, r.task.attempts) for r in records] == [
        ("order_confirmed", "SENT", 1),
        ("shipped", "SENT", 1),
    ]


async def test_dispatching_twice_queues_each_events_email_once_and_a_resend_is_the_same_message(
    client: httpx.AsyncClient, services: Services
) -> None:
    order, _ = await packed(client)
    await dispatch_once(services, EMAILS)
    await dispatch_once(services, EMAILS)
    async with services.store.write() as uow:
        [task] = await uow.outbox.by_kind(EMAIL_MESSAGE)
        assert await uow.positions.get(EMAIL_POSITION) == await uow.events.head()
    await relay_once(services, HANDLERS)
    async with services.store.write() as uow:  # as replaying it would: due again, from scratch
        found = await uow.outbox.by_id(task.id)
        assert found is not None
        assert found.done_at is not None
        uow.outbox.requeue(found, services.clock())
    await relay_once(services, HANDLERS)

    first, again = await inbox(client)
    assert first["messageId"] == again["messageId"]
    event_id = str(task.payload["event_id"])
    assert first["messageId"] == f"<{event_id}.order_confirmed@shop.example>"
    assert len(await email_tasks(services, order["id"])) == 1


async def test_a_customer_who_opted_out_still_gets_essential_email_but_not_the_rest(
    client: httpx.AsyncClient, services: Services
) -> None:
    order, _ = await packed(client)
    body = await execute(client, OPT_OUT, {"input": {"optOut": True}}, token=ANN)
    assert body["data"]["setEmailOptOut"]["customer"]["emailOptOut"] is True
    await _append(services, order["id"], EventType.SHIPMENT_DELIVERED)
    await send_due(services)

    assert [mail["subject"] for mail in await inbox(client)] == [f"Your order {order['number']} is confirmed"]
    records = await email_tasks(services, order["id"])
    assert [(r.kind, r.status) for r in records] == [("order_confirmed", "SENT"), ("delivered", "SKIPPED")]

    customer_id = body["data"]["setEmailOptOut"]["customer"]["id"]
    back = await execute(
        client, OPT_OUT, {"input": {"optOut": False, "customerId": customer_id}}, token=AGENT
    )
    assert back["data"]["setEmailOptOut"]["customer"]["emailOptOut"] is False
    await _append(services, order["id"], EventType.SHIPMENT_DELIVERED)
    await send_due(services)
    assert (await inbox(client))[0]["subject"] == f"Your parcel for order {order['number']} was delivered"


async def test_an_order_a_storefront_took_is_the_storefronts_to_email_about(
    client: httpx.AsyncClient, services: Services
) -> None:
    order, _ = await packed(client)
    async with services.store.write() as uow:
        found = await uow.orders.lock(order["id"], EVERYTHING)
        assert found is not None
        found.source_ref = "bigcommerce:101"
        uow.save(found)

    await send_due(services)

    assert await inbox(client) == []
    records = await email_tasks(services, order["id"])
    assert [(r.kind, r.status, r.task.result) for r in records] == [
        ("order_confirmed", "SKIPPED", "skipped: the storefront emails about its own orders")
    ]


async def test_a_non_essential_email_carries_a_one_click_opt_out_that_a_link_scanner_cannot_trigger(
    client: httpx.AsyncClient, services: Services
) -> None:
    order, _ = await packed(client)
    await _append(services, order["id"], EventType.SHIPMENT_DELIVERED)
    await send_due(services)
    sent = {mail["subject"].split()[1]: mail for mail in await inbox(client)}  # one relay batch: any order
    delivered, confirmation = sent["parcel"], sent["order"]
    [link] = [link for link in delivered["links"] if "/email/opt-out/" in link]
    headers = dict(delivered["headers"])
    assert headers["List-Unsubscribe"] == f"<{link}>"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "List-Unsubscribe" not in dict(confirmation["headers"])  # essential: nothing to opt out of
    assert not [link for link in confirmation["links"] if "/email/opt-out/" in link]
    path = link.removeprefix(services.links.public_url)

    shown = await client.get(path)
    forged = await client.post(path.replace("?t=", "?t=A"))
    assert shown.status_code == 200
    assert "Stop order updates such as delivery notices to ann@example.com?" in shown.text
    assert forged.status_code == 404
    assert not await _opted_out(services, order["id"])
    done = await client.post(path, content=b"List-Unsubscribe=One-Click")
    assert done.status_code == 200
    assert await _opted_out(services, order["id"])
    await _append(services, order["id"], EventType.SHIPMENT_DELIVERED)
    await send_due(services)
    assert len(await inbox(client)) == 2


async def _opted_out(services: Services, order_id: str) -> bool:
    async with services.store.read() as uow:
        order = (await uow.orders.by_ids([order_id], EVERYTHING))[order_id]
        customer = (await uow.customers.by_ids([order.customer_id]))[order.customer_id]
    return customer.email_opt_out


async def test_a_customer_cannot_change_another_customers_email_preference(client: httpx.AsyncClient) -> None:
    await packed(client)
    ann = await execute(client, OPT_OUT, {"input": {"optOut": True}}, token=ANN)
    ann_id = ann["data"]["setEmailOptOut"]["customer"]["id"]
    bob = a_token("customer", email="bob@example.com")

    other = await execute(client, OPT_OUT, {"input": {"optOut": False, "customerId": ann_id}}, token=bob)

    assert [e["code"] for e in other["data"]["setEmailOptOut"]["userErrors"]] == ["NOT_FOUND"]
    associate = await execute(
        client, OPT_OUT, {"input": {"optOut": False, "customerId": ann_id}}, token=DALLAS
    )
    assert [e["code"] for e in associate["data"]["setEmailOptOut"]["userErrors"]] == ["FORBIDDEN"]


async def test_a_mail_server_that_is_down_is_retried_with_backoff_and_agents_see_why(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    sink_mailer = services.mailer
    services.mailer = SmtpMailer(f"smtp://127.0.0.1:{free_port()}", timeout=2)
    order, _ = await packed(client)
    now = services.clock()
    await send_due(services)

    failing = await execute(client, EMAILS_OF, {"id": order["id"]}, token=AGENT)
    [email] = failing["data"]["order"]["emails"]
    assert (email["kind"], email["status"], email["attempts"]) == ("order_confirmed", "FAILING", 1)
    assert "ConnectError" in email["lastError"] or "onnect" in email["lastError"]
    assert email["nextAttemptAt"] >= (now + RETRY_BASE).isoformat()[:19]
    await relay_once(services, HANDLERS)  # not due yet: no second attempt
    assert [r.task.attempts for r in await email_tasks(services, order["id"])] == [1]

    services.mailer = sink_mailer  # the server is back, and the backoff has passed
    later = now + RETRY_BASE * 2
    services.clock = lambda: later
    await relay_once(services, HANDLERS)
    sent = await execute(client, EMAILS_OF, {"id": order["id"]}, token=AGENT)
    assert [(e["status"], e["attempts"], e["lastError"]) for e in sent["data"]["order"]["emails"]] == [
        ("SENT", 2, None)
    ]
    assert len(await inbox(client)) == 1
    customer = await execute(client, EMAILS_OF, {"id": order["id"]}, token=ANN)
    assert "FORBIDDEN" in error_codes(customer)


async def test_an_order_in_french_is_emailed_in_french(client: httpx.AsyncClient, services: Services) -> None:
    body = await execute(
        client, operation("PlaceOrder"), {"input": an_order_input(locale="fr-CA")}, token=AGENT
    )
    number = body["data"]["placeOrder"]["order"]["number"]
    await send_due(services)

    [mail] = await inbox(client)
    assert mail["subject"] == f"Votre commande {number} est confirmée"
    assert "Bonjour Ann" in mail["text"]
    assert '<html lang="fr">' in mail["html"]


async def test_a_locale_that_is_no_language_tag_is_refused(client: httpx.AsyncClient) -> None:
    body = await execute(
        client, operation("PlaceOrder"), {"input": an_order_input(locale="<fr>")}, token=AGENT
    )

    errors = body["data"]["placeOrder"]["userErrors"]
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID_LOCALE", ["input", "locale"])]


async def _append(services: Services, order_id: str, kind: EventType) -> None:
    async with services.store.write() as uow:
        order = await uow.orders.lock(order_id, EVERYTHING)
        assert order is not None
        shipment_data = {"carrier": "stamps_com", "tracking_number": "9400100000000000000000"}
        await uow.events.append(
            order, kind, actor="test", occurred_at=services.clock() + timedelta(seconds=1), data=shipment_data
        )


async def test_a_promise_moved_later_emails_the_customer_the_new_day_and_the_old(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    """Wool waits for Dallas's purchase order, which comes in two weeks instead of ten days:
    the pass that allocates it moves the order's promise later, and the customer gets one email
    saying so, with both days."""
    await only_at(services, sandboxes, WOOL, "DC-EWR", 0)
    placed = (await place_wool(client, WOOL, 5))["order"]
    await send_due(services)  # the confirmation (and the backorder notice)
    was = date.fromisoformat((await read_order(client, placed["id"]))["estimatedDelivery"])

    with moving(services) as clock:
        clock.advance(14 * 24 * 3600)
        await katana(sandboxes).receive_purchase_order("PO-1002")
        now = date.fromisoformat((await read_order(client, placed["id"]))["estimatedDelivery"])
        await send_due(services)
        await send_due(services)  # nothing is sent twice

    delayed = [m for m in await inbox(client) if "later than we said" in m["subject"]]
    assert now > was
    assert [m["subject"] for m in delayed] == [
        f"Your order {placed['number']} will arrive later than we said"
    ]
    [mail] = delayed
    said = f"It is now expected by {now:%A %d %B %Y}, not {was:%A %d %B %Y}."
    assert said in mail["text"]
    assert [r.kind for r in await email_tasks(services, placed["id"])].count("delayed") == 1

"""Loyalty points earned on capture and taken back on refund; goodwill appeasements refunded
through the payments outbox, within each role's limit and never beyond what was charged."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ordergate.bootstrap import Sandboxes
from ordergate.models.loyalty import points_for
from ordergate.models.outbox import PAYMENT_CAPTURE
from ordergate.settings import Settings, SettingsError
from ordergate.usecases.payments import do_payment_task
from ordergate.usecases.services import Services
from ordergate.workers.handlers import outbox_handlers
from ordergate.workers.relay import relay_once
from tests.builders import a_line, a_token
from tests.flows import send_back
from tests.graphql_client import error_codes, execute
from tests.test_fulfillment import DALLAS, location_ids
from tests.test_payments_flow import detail, place, sandbox, ship, status

pytestmark = pytest.mark.no_relay

AGENT = a_token("agent")
ADMIN = a_token("admin")
ANN = a_token("customer", email="ann@example.com")
BOB = a_token("customer", email="bob@example.com")

LOYALTY = """
query($id: ID!) {
  order(id: $id) {
    customer {
      loyalty { balance entries(first: 10) { totalCount edges { node { points reason orderId } } } }
    }
  }
}
"""
ISSUE = """
mutation($input: IssueAppeasementInput!) {
  issueAppeasement(input: $input) {
    appeasement { id amount { amount currency } reason note issuedBy }
    order { id appeasements { amount { amount } reason note issuedBy issuedAt } }
    userErrors { code field message }
  }
}
"""


async def relay(services: Services) -> None:
    await relay_once(services, outbox_handlers(services))


async def shipped_and_captured(
    client: httpx.AsyncClient, services: Services, **overrides: Any
) -> dict[str, Any]:
    order: dict[str, Any] = (await place(client, **overrides))["order"]
    await ship(client, order)
    await relay(services)
    return order


async def loyalty(client: httpx.AsyncClient, order_id: str, token: str = AGENT) -> dict[str, Any]:
    body = await execute(client, LOYALTY, {"id": order_id}, token=token)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["order"]["customer"]["loyalty"]
    return found


async def issue(
    client: httpx.AsyncClient, order_id: str, amount: str, token: str = AGENT, **overrides: Any
) -> dict[str, Any]:
    variables = {
        "orderId": order_id,
        "amount": amount,
        "reason": "LATE_DELIVERY",
        "idempotencyKey": f"goodwill-{order_id}-{amount}",
        **overrides,
    }
    body = await execute(client, ISSUE, {"input": variables}, token=token)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["issueAppeasement"]
    return payload


async def count(services: Services, sql: str) -> int:
    async with services.store.read() as uow:
        return int((await uow.session.execute(sa.text(sql))).scalar_one())


def refunds(found: dict[str, Any]) -> list[tuple[str, Decimal]]:
    return [(p["status"], Decimal(p["amount"]["amount"])) for p in found["payments"] if p["kind"] == "REFUND"]


async def test_a_capture_earns_a_point_per_whole_unit_captured(
    client: httpx.AsyncClient, services: Services
) -> None:
    order = await shipped_and_captured(client, services)

    account = await loyalty(client, order["id"])

    total = Decimal(order["total"]["amount"])
    assert account["balance"] == int(total)  # rounded down
    assert account["entries"]["totalCount"] == 1
    assert [e["node"] for e in account["entries"]["edges"]] == [
        {"points": int(total), "reason": "CAPTURED", "orderId": order["id"]}
    ]


async def test_a_retried_capture_earns_nothing_twice(client: httpx.AsyncClient, services: Services) -> None:
    order = await shipped_and_captured(client, services)
    async with services.store.read() as uow:
        [task] = await uow.outbox.with_key_prefixes([f"{order['id']}:{PAYMENT_CAPTURE}:"])

    again = await do_payment_task(services, task)
    await relay(services)

    assert again == "recorded already"
    assert (await loyalty(client, order["id"]))["balance"] == int(Decimal(order["total"]["amount"]))
    assert await count(services, "SELECT count(*) FROM loyalty_entries") == 1


async def test_the_customer_sees_their_own_points_and_others_may_not(
    client: httpx.AsyncClient, services: Services
) -> None:
    order = await shipped_and_captured(client, services)
    customer_query = "query($id: ID!) { customer(id: $id) { loyalty { balance } } }"
    customer_id = (
        await execute(
            client, "query($id: ID!) { order(id: $id) { customer { id } } }", {"id": order["id"]}, token=AGENT
        )
    )["data"]["order"]["customer"]["id"]

    own = await loyalty(client, order["id"], token=ANN)
    bob = await execute(client, customer_query, {"id": customer_id}, token=BOB)
    dallas = await execute(client, LOYALTY, {"id": order["id"]}, token=DALLAS)

    assert own["balance"] == int(Decimal(order["total"]["amount"]))
    assert error_codes(bob) == ["NOT_FOUND"]
    assert error_codes(dallas) == ["FORBIDDEN"]
    assert dallas["data"]["order"]["customer"]["loyalty"] is None


async def test_a_returned_unit_takes_back_its_share_of_the_points(
    client: httpx.AsyncClient, services: Services
) -> None:
    order = await shipped_and_captured(client, services, lines=[a_line("MUG-BLUE", 2)])
    mug = (await detail(client, order["id"]))["lines"][0]["id"]
    received = await send_back(
        client, order["id"], mug, (await location_ids(client))["DC-DFW"], receiver=DALLAS
    )
    assert received["userErrors"] == []

    await relay(services)

    total = Decimal(order["total"]["amount"])
    [(_, refunded)] = refunds(await detail(client, order["id"]))
    account = await loyalty(client, order["id"])
    assert account["balance"] == points_for(total - refunded, Decimal("1"))
    reversed_points = [
        e["node"]["points"] for e in account["entries"]["edges"] if e["node"]["reason"] == "REFUNDED"
    ]
    assert reversed_points == [points_for(total - refunded, Decimal("1")) - int(total)]


async def test_goodwill_within_the_agents_limit_is_refunded_and_shown_on_the_order(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order = await shipped_and_captured(client, services)
    total = Decimal(order["total"]["amount"])

    payload = await issue(client, order["id"], "12.34", note="parcel arrived a week late")
    pending = await detail(client, order["id"])
    await relay(services)
    done = await detail(client, order["id"])

    assert payload["userErrors"] == []
    assert payload["appeasement"]["amount"] == {"amount": "12.34", "currency": "USD"}
    assert payload["appeasement"]["reason"] == "LATE_DELIVERY"
    [shown] = payload["order"]["appeasements"]
    assert (shown["amount"]["amount"], shown["reason"], shown["note"]) == (
        "12.34",
        "LATE_DELIVERY",
        "parcel arrived a week late",
    )
    assert shown["issuedBy"] == payload["appeasement"]["issuedBy"]
    assert refunds(pending) == [("PENDING", Decimal("12.34"))]
    assert refunds(done) == [("SUCCEEDED", Decimal("12.34"))]
    assert await status(client, order["id"]) == "PARTIALLY_REFUNDED"
    [intent] = sandbox(sandboxes).intents.values()
    assert intent.refunds == [1234]
    assert (await loyalty(client, order["id"]))["balance"] == points_for(
        total - Decimal("12.34"), Decimal("1")
    )
    timeline = await execute(
        client, "query($id: ID!) { order(id: $id) { timeline { type } } }", {"id": order["id"]}, token=ANN
    )
    assert "APPEASEMENT_ISSUED" in [e["type"] for e in timeline["data"]["order"]["timeline"]]


async def test_the_agents_limit_is_per_order_and_what_is_left_is_shown(
    client: httpx.AsyncClient, services: Services
) -> None:
    """40 + 50 + 50 + 50 was once given on one order by agents limited to 50.00."""
    order = await shipped_and_captured(client, services)

    first = await issue(client, order["id"], "40.00")
    over = await issue(client, order["id"], "10.01")
    rest = await issue(client, order["id"], "10.00")
    after = await issue(client, order["id"], "0.01")
    body = await execute(
        client,
        "query($id: ID!) { order(id: $id) { appeasementAllowance { amount } } }",
        {"id": order["id"]},
        token=AGENT,
    )
    admin = await execute(
        client,
        "query($id: ID!) { order(id: $id) { appeasementAllowance { amount } } }",
        {"id": order["id"]},
        token=ADMIN,
    )
    customer = await execute(
        client,
        "query($id: ID!) { order(id: $id) { appeasementAllowance { amount } } }",
        {"id": order["id"]},
        token=ANN,
    )

    assert first["userErrors"] == []
    assert rest["userErrors"] == []
    assert [e["code"] for e in over["userErrors"]] == ["APPEASEMENT_LIMIT_EXCEEDED"]
    assert "10.00 is left" in over["userErrors"][0]["message"]
    assert [e["code"] for e in after["userErrors"]] == ["APPEASEMENT_LIMIT_EXCEEDED"]
    assert body["data"]["order"]["appeasementAllowance"] == {"amount": "0.00"}
    assert admin["data"]["order"]["appeasementAllowance"] is None  # no limit
    assert customer["data"]["order"]["appeasementAllowance"] is None
    assert await count(services, "SELECT count(*) FROM appeasements") == 2


async def test_goodwill_above_the_agents_limit_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, services: Services
) -> None:
    order = await shipped_and_captured(client, services)
    before = await detail(client, order["id"])

    payload = await issue(client, order["id"], "50.01")

    assert payload["appeasement"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("APPEASEMENT_LIMIT_EXCEEDED", ["input", "amount"])
    ]
    after = await detail(client, order["id"])
    assert after["payments"] == before["payments"]
    assert await count(services, "SELECT count(*) FROM appeasements") == 0
    assert await count(services, "SELECT count(*) FROM outbox WHERE kind = 'payment.refund'") == 0
    assert (
        await count(services, "SELECT count(*) FROM idempotency_keys WHERE operation = 'issueAppeasement'")
        == 0
    )


async def test_an_admin_may_give_more_than_an_agent(client: httpx.AsyncClient, services: Services) -> None:
    order = await shipped_and_captured(client, services)

    payload = await issue(client, order["id"], "75.00", token=ADMIN)
    await relay(services)

    assert payload["userErrors"] == []
    assert refunds(await detail(client, order["id"])) == [("SUCCEEDED", Decimal("75.00"))]


@pytest.mark.parametrize("role", ["customer", "associate", "storefront"])
async def test_other_roles_may_not_give_goodwill(
    client: httpx.AsyncClient, services: Services, role: str
) -> None:
    order = await shipped_and_captured(client, services)

    payload = await issue(client, order["id"], "5.00", token=a_token(role, locations=("DC-DFW",)))

    assert [e["code"] for e in payload["userErrors"]] == ["FORBIDDEN"]
    assert await count(services, "SELECT count(*) FROM appeasements") == 0


async def test_goodwill_never_refunds_more_than_was_charged_to_the_cent(
    client: httpx.AsyncClient, services: Services
) -> None:
    order = await shipped_and_captured(client, services)
    total = Decimal(order["total"]["amount"])
    first = total - Decimal("1.00")

    big = await issue(client, order["id"], str(first), token=ADMIN)  # promised, not yet refunded
    over = await issue(client, order["id"], "1.01", token=ADMIN)
    exact = await issue(client, order["id"], "1.00", token=ADMIN)
    await relay(services)
    after = await issue(client, order["id"], "0.01", token=ADMIN)

    assert big["userErrors"] == exact["userErrors"] == []
    assert [e["code"] for e in over["userErrors"]] == ["REFUND_EXCEEDS_CAPTURED"]
    assert [e["code"] for e in after["userErrors"]] == ["REFUND_EXCEEDS_CAPTURED"]
    found = await detail(client, order["id"])
    assert sorted(amount for _, amount in refunds(found)) == sorted([first, Decimal("1.00")])
    assert await status(client, order["id"]) == "REFUNDED"
    assert (await loyalty(client, order["id"]))["balance"] == 0


async def test_nothing_captured_yet_means_nothing_to_give_back(client: httpx.AsyncClient) -> None:
    order = (await place(client))["order"]

    payload = await issue(client, order["id"], "5.00")

    assert [e["code"] for e in payload["userErrors"]] == ["REFUND_EXCEEDS_CAPTURED"]


@pytest.mark.parametrize("amount", ["0", "-5.00", "0.001", "12.345"])
async def test_an_amount_that_is_not_positive_whole_cents_is_refused(
    client: httpx.AsyncClient, services: Services, amount: str
) -> None:
    order = await shipped_and_captured(client, services)

    payload = await issue(client, order["id"], amount)

    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_AMOUNT", ["input", "amount"])
    ]
    assert await count(services, "SELECT count(*) FROM appeasements") == 0


async def test_an_order_that_is_not_there_is_not_found(client: httpx.AsyncClient) -> None:
    payload = await issue(client, "00000000-0000-0000-0000-000000000000", "5.00")

    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("NOT_FOUND", ["input", "orderId"])]


async def test_a_repeated_key_gives_goodwill_once(client: httpx.AsyncClient, services: Services) -> None:
    order = await shipped_and_captured(client, services)

    first = await issue(client, order["id"], "5.00", idempotencyKey="sorry-1")
    again = await issue(client, order["id"], "5.00", idempotencyKey="sorry-1")
    other = await issue(client, order["id"], "6.00", idempotencyKey="sorry-1")

    assert again["appeasement"]["id"] == first["appeasement"]["id"]
    assert [e["code"] for e in other["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert await count(services, "SELECT count(*) FROM appeasements") == 1
    assert await count(services, "SELECT count(*) FROM outbox WHERE kind = 'payment.refund'") == 1


def test_limits_and_the_earning_rate_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "ORDERGATE_LOYALTY_POINTS_PER_UNIT": "2.5",
            "ORDERGATE_APPEASEMENT_LIMIT_AGENT": "unlimited",
            "ORDERGATE_APPEASEMENT_LIMIT_ADMIN": "500.00",
        }
    )
    defaults = Settings.from_env({})

    assert settings.loyalty_points_per_unit == Decimal("2.5")
    assert (settings.appeasement_limit_agent, settings.appeasement_limit_admin) == (None, Decimal("500.00"))
    assert (defaults.appeasement_limit_agent, defaults.appeasement_limit_admin) == (Decimal("50.00"), None)
    with pytest.raises(SettingsError):
        Settings.from_env({"ORDERGATE_APPEASEMENT_LIMIT_AGENT": "fifty"})


async def test_the_points_ledger_pages_newest_first(client: httpx.AsyncClient, services: Services) -> None:
    order = await shipped_and_captured(client, services)
    await issue(client, order["id"], "10.00")
    await relay(services)
    page = """
    query($id: ID!, $after: String) {
      order(id: $id) {
        customer { loyalty { entries(first: 1, after: $after) {
          totalCount pageInfo { hasNextPage endCursor } edges { node { reason } }
        } } }
      }
    }
    """

    async def entries(after: str | None) -> dict[str, Any]:
        body = await execute(client, page, {"id": order["id"], "after": after}, token=AGENT)
        found: dict[str, Any] = body["data"]["order"]["customer"]["loyalty"]["entries"]
        return found

    first = await entries(None)
    second = await entries(first["pageInfo"]["endCursor"])
    bad = await execute(client, page, {"id": order["id"], "after": "not-a-cursor"}, token=AGENT)

    assert [e["node"]["reason"] for e in first["edges"] + second["edges"]] == ["REFUNDED", "CAPTURED"]
    assert (first["totalCount"], first["pageInfo"]["hasNextPage"], second["pageInfo"]["hasNextPage"]) == (
        2,
        True,
        False,
    )
    assert error_codes(bad) == ["INVALID_CURSOR"]


async def test_the_customer_sees_the_goodwill_but_not_the_agent_s_note_or_name(
    client: httpx.AsyncClient, services: Services
) -> None:
    order = await shipped_and_captured(client, services)
    await issue(client, order["id"], "5.00", note="customer was rude, gave in")

    body = await execute(
        client,
        "query($id: ID!) { order(id: $id) { appeasements { amount { amount } reason note issuedBy } } }",
        {"id": order["id"]},
        token=ANN,
    )

    assert body["data"]["order"]["appeasements"] == [
        {"amount": {"amount": "5.00"}, "reason": "LATE_DELIVERY", "note": None, "issuedBy": None}
    ]

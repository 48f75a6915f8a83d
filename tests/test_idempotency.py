"""A key claimed ahead of the card: while placeOrder is at the payment provider its key is
pending, a repeat waits for the result (or is told IDEMPOTENCY_KEY_IN_USE), and a claim whose
lease ran out is taken over without the late holder changing anything. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from ordergate.auth import mint_token
from ordergate.bootstrap import Sandboxes
from ordergate.connectors.payments.base import Authorization, Capture, PaymentProvider, Refund, Void
from ordergate.models.identity import Role
from ordergate.usecases.services import Services
from tests.builders import SETTINGS, an_order_input
from tests.contract import operation
from tests.graphql_client import execute
from tests.test_payments_flow import AGENT, orders_stored, place, sandbox

pytestmark = pytest.mark.no_relay

LEDGER = "query($id: ID!) { order(id: $id) { paymentStatus payments { kind reference } } }"


class ParkedCard:
    """The configured provider, except that its first authorisation waits until `gate` is set
    (`parked` says it is waiting): the placeOrder making it holds its key all the while."""

    def __init__(self, provider: PaymentProvider) -> None:
        self.provider = provider
        self.parked = asyncio.Event()
        self.gate = asyncio.Event()
        self.authorisations = 0

    async def authorize(
        self, *, order_reference: str, amount: Decimal, currency: str, token: str, idempotency_key: str
    ) -> Authorization:
        self.authorisations += 1
        if self.authorisations == 1:
            self.parked.set()
            await self.gate.wait()
        return await self.provider.authorize(
            order_reference=order_reference,
            amount=amount,
            currency=currency,
            token=token,
            idempotency_key=idempotency_key,
        )

    async def increment(self, reference: str, amount: Decimal, *, idempotency_key: str) -> Authorization:
        return await self.provider.increment(reference, amount, idempotency_key=idempotency_key)

    async def capture(self, reference: str, amount: Decimal, *, idempotency_key: str) -> Capture:
        return await self.provider.capture(reference, amount, idempotency_key=idempotency_key)

    async def refund(self, reference: str, amount: Decimal, *, idempotency_key: str) -> Refund:
        return await self.provider.refund(reference, amount, idempotency_key=idempotency_key)

    async def void(self, reference: str, *, idempotency_key: str) -> Void:
        return await self.provider.void(reference, idempotency_key=idempotency_key)

    async def aclose(self) -> None:
        await self.provider.aclose()


@pytest.fixture
def card(services: Services) -> ParkedCard:
    parked = ParkedCard(services.payments["sandbox"])
    services.payments["sandbox"] = parked
    return parked


@contextmanager
def looked_at_keys(services: Services) -> Iterator[asyncio.Event]:
    """Set once a statement on the idempotency keys has run (and been answered)."""
    looked = asyncio.Event()

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "idempotency_keys" in statement:
            looked.set()

    engine = services.store.write_engine.sync_engine
    event.listen(engine, "after_cursor_execute", seen)
    try:
        yield looked
    finally:
        event.remove(engine, "after_cursor_execute", seen)


async def ledger(client: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    body = await execute(client, LEDGER, {"id": order_id}, token=AGENT)
    order: dict[str, Any] = body["data"]["order"]
    return order


async def test_a_repeat_waits_for_the_first_request_at_the_card_then_gets_its_order(
    client: httpx.AsyncClient, services: Services, card: ParkedCard
) -> None:
    first = asyncio.create_task(place(client, idempotencyKey="at-the-card"))
    await card.parked.wait()
    with looked_at_keys(services) as looked:
        repeat = asyncio.create_task(place(client, idempotencyKey="at-the-card"))
        await looked.wait()  # the repeat has found the key pending
    card.gate.set()

    placed, repeated = await asyncio.gather(first, repeat)

    assert placed["userErrors"] == repeated["userErrors"] == []
    assert repeated["order"]["id"] == placed["order"]["id"]
    assert card.authorisations == 1
    assert await orders_stored(services) == 1


async def test_a_repeat_still_pending_after_the_wait_is_told_the_key_is_in_use(
    client: httpx.AsyncClient, services: Services, card: ParkedCard
) -> None:
    services.policy = dataclasses.replace(services.policy, idempotency_wait=0)
    first = asyncio.create_task(place(client, idempotencyKey="at-the-card"))
    await card.parked.wait()

    busy = await place(client, idempotencyKey="at-the-card")
    card.gate.set()
    placed = await first
    later = await place(client, idempotencyKey="at-the-card")

    assert busy["order"] is None
    assert [(e["code"], e["field"]) for e in busy["userErrors"]] == [
        ("IDEMPOTENCY_KEY_IN_USE", ["input", "idempotencyKey"])
    ]
    assert placed["userErrors"] == later["userErrors"] == []
    assert later["order"]["id"] == placed["order"]["id"]
    assert card.authorisations == 1


async def test_a_claim_past_its_lease_is_taken_over_and_its_late_holder_changes_nothing(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, card: ParkedCard
) -> None:
    first = asyncio.create_task(place(client, idempotencyKey="abandoned"))
    await card.parked.wait()  # as good as crashed, holding the key
    lease_over = services.clock() + services.policy.idempotency_lease
    services.clock = lambda: lease_over

    taken = await place(client, idempotencyKey="abandoned")
    card.gate.set()
    late = await first

    assert taken["userErrors"] == []
    assert [e["code"] for e in late["userErrors"]] == ["IDEMPOTENCY_KEY_IN_USE"]
    assert await orders_stored(services) == 1
    order = await ledger(client, taken["order"]["id"])
    [authorisation] = order["payments"]
    statuses = {ref: intent.status for ref, intent in sandbox(sandboxes).intents.items()}
    # the late holder authorised under its own key, found the key taken, and released its card
    assert statuses.pop(authorisation["reference"]) == "requires_capture"
    assert list(statuses.values()) == ["canceled"]
    assert order["paymentStatus"] == "AUTHORIZED"


async def test_a_storefront_that_re_mints_its_token_and_retries_gets_its_first_order(
    client: httpx.AsyncClient,
) -> None:
    """Idempotency keys are per subject; `ordergate token --role storefront` without --subject
    names the same caller every time, so a retry with a fresh token is still a retry."""
    first_token = mint_token(SETTINGS, role=Role.STOREFRONT, now=datetime.now(UTC) - timedelta(minutes=5))
    second_token = mint_token(SETTINGS, role=Role.STOREFRONT, now=datetime.now(UTC))
    assert first_token != second_token
    order = an_order_input()

    first = await execute(client, operation("PlaceOrder"), {"input": order}, token=first_token)
    retried = await execute(client, operation("PlaceOrder"), {"input": order}, token=second_token)

    placed = first["data"]["placeOrder"]["order"]
    assert placed is not None
    assert retried["data"]["placeOrder"]["order"]["id"] == placed["id"]

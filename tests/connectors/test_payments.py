"""The Stripe-like payment connector against the payments sandbox, over HTTP (httpx's ASGI transport)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest

from ordergate.connectors.errors import UpstreamUnavailable
from ordergate.connectors.payments.base import (
    Authorization,
    Capture,
    PaymentDeclined,
    PaymentRejected,
    from_minor,
    to_minor,
)
from ordergate.connectors.payments.stripe_like import StripeLikeProvider
from ordergate.sandbox.payments import PaymentsSandbox

BASE = "http://payments.test"
KEY = "sk_test_sandbox"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def sandbox() -> PaymentsSandbox:
    return PaymentsSandbox(secret_key=KEY)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def payments(sandbox: PaymentsSandbox, clock: FakeClock) -> AsyncIterator[StripeLikeProvider]:
    provider = StripeLikeProvider.create(
        BASE, KEY, transport=httpx.ASGITransport(app=sandbox.app), clock=clock, sleep=clock.sleep
    )
    yield provider
    await provider.aclose()


async def authorised(
    payments: StripeLikeProvider,
    amount: str = "100.00",
    token: str = "tok_visa",  # noqa: S107 (a test card)
) -> Authorization:
    return await payments.authorize(
        order_reference="ORD-1", amount=Decimal(amount), currency="USD", token=token, idempotency_key="auth-1"
    )


# -- money on the wire ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "units"),
    [
        ("100.00", "USD", 10000),
        ("19.99", "usd", 1999),
        ("0.5", "EUR", 50),
        ("1999", "JPY", 1999),
        ("1E+3", "USD", 100000),
    ],
)
def test_amounts_become_minor_units_exactly(amount: str, currency: str, units: int) -> None:
    assert to_minor(Decimal(amount), currency) == units


@pytest.mark.parametrize(
    ("units", "currency", "amount"), [(1999, "USD", "19.99"), (1999, "JPY", "1999"), (5, "EUR", "0.05")]
)
def test_minor_units_become_amounts_with_the_currency_places(units: int, currency: str, amount: str) -> None:
    result = from_minor(units, currency)

    assert result == Decimal(amount)
    assert str(result) == amount


@pytest.mark.parametrize(
    ("amount", "currency", "reason"),
    [
        ("0.001", "USD", "more than 2 decimal places"),
        ("1.5", "JPY", "more than 0 decimal places"),
        ("NaN", "USD", "not a finite"),
        ("1.00", "XXX", "unsupported currency"),
    ],
)
def test_amounts_the_currency_cannot_carry_are_refused(amount: str, currency: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        to_minor(Decimal(amount), currency)


# -- the flow ------------------------------------------------------------------------------------


async def test_authorise_capture_in_parts_then_refund(
    payments: StripeLikeProvider, sandbox: PaymentsSandbox
) -> None:
    authorization = await authorised(payments)

    first = await payments.capture(authorization.reference, Decimal("60.00"), idempotency_key="cap-1")
    second = await payments.capture(authorization.reference, Decimal("40.00"), idempotency_key="cap-2")
    refund = await payments.refund(authorization.reference, Decimal("30.00"), idempotency_key="ref-1")

    assert authorization == Authorization(
        authorization.reference, Decimal("100.00"), "USD", "requires_capture"
    )
    assert (first, second) == (
        Capture(authorization.reference, Decimal("60.00")),
        Capture(authorization.reference, Decimal("40.00")),
    )
    assert refund.amount == Decimal("30.00")
    intent = sandbox.intents[authorization.reference]
    assert (intent.captures, intent.refunds, intent.status) == ([6000, 4000], [3000], "succeeded")
    assert intent.metadata == {"order": "ORD-1"}


async def test_the_wire_is_form_encoded_with_the_key_and_bearer(sandbox: PaymentsSandbox) -> None:
    seen: list[httpx.Request] = []
    asgi = httpx.ASGITransport(app=sandbox.app)

    async def record(request: httpx.Request) -> None:
        seen.append(request)

    payments = StripeLikeProvider.create(BASE, KEY, transport=asgi, event_hooks={"request": [record]})
    await payments.authorize(
        order_reference="ORD-9",
        amount=Decimal("19.99"),
        currency="USD",
        token="tok_visa",
        idempotency_key="k-9",
    )
    await payments.aclose()

    [request] = seen
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Idempotency-Key"] == "k-9"
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert sandbox.calls[0].form == {
        "amount": "1999",
        "currency": "usd",
        "payment_method": "tok_visa",
        "capture_method": "manual",
        "confirm": "true",
        "metadata[order]": "ORD-9",
    }


async def test_a_capture_above_what_is_left_is_rejected(
    payments: StripeLikeProvider, sandbox: PaymentsSandbox
) -> None:
    authorization = await authorised(payments)
    await payments.capture(authorization.reference, Decimal("60.00"), idempotency_key="cap-1")

    with pytest.raises(PaymentRejected) as raised:
        await payments.capture(authorization.reference, Decimal("40.01"), idempotency_key="cap-2")

    assert raised.value.provider_code == "amount_too_large"
    assert raised.value.status == 400
    assert sandbox.intents[authorization.reference].captures == [6000]


async def test_a_refund_above_what_was_captured_is_rejected(payments: StripeLikeProvider) -> None:
    authorization = await authorised(payments)
    await payments.capture(authorization.reference, Decimal("25.00"), idempotency_key="cap-1")

    with pytest.raises(PaymentRejected) as raised:
        await payments.refund(authorization.reference, Decimal("25.01"), idempotency_key="ref-1")

    assert raised.value.provider_code == "amount_too_large"


async def test_a_void_after_a_partial_capture_releases_the_rest(
    payments: StripeLikeProvider, sandbox: PaymentsSandbox
) -> None:
    authorization = await authorised(payments)
    await payments.capture(authorization.reference, Decimal("60.00"), idempotency_key="cap-1")

    void = await payments.void(authorization.reference, idempotency_key="void-1")

    assert void.reference == authorization.reference
    intent = sandbox.intents[authorization.reference]
    assert (intent.status, intent.amount_capturable, intent.amount_received) == ("canceled", 0, 6000)
    with pytest.raises(PaymentRejected) as raised:
        await payments.capture(authorization.reference, Decimal("1.00"), idempotency_key="cap-2")
    assert raised.value.provider_code == "payment_intent_unexpected_state"


async def test_a_decline_is_payment_declined_with_the_code_and_not_retried(
    payments: StripeLikeProvider, sandbox: PaymentsSandbox
) -> None:
    with pytest.raises(PaymentDeclined) as raised:
        await authorised(payments, token="tok_declined")

    assert raised.value.decline_code == "card_declined"
    assert raised.value.code == "PAYMENT_DECLINED"
    assert len(sandbox.calls) == 1


async def test_a_provider_error_is_upstream_unavailable(
    payments: StripeLikeProvider, sandbox: PaymentsSandbox, clock: FakeClock
) -> None:
    with pytest.raises(UpstreamUnavailable) as raised:
        await authorised(payments, token="tok_error")

    assert raised.value.status == 500
    assert sandbox.intents == {}
    assert len(sandbox.calls) == 3


async def test_a_503_is_retried_with_the_same_key_and_authorises_once(
    payments: StripeLikeProvider, sandbox: PaymentsSandbox, clock: FakeClock
) -> None:
    sandbox.fail_next(1)

    authorization = await authorised(payments)

    assert [call.idempotency_key for call in sandbox.calls] == ["auth-1", "auth-1"]
    assert list(sandbox.intents) == [authorization.reference]
    assert len(clock.slept) == 1


async def test_503_on_every_attempt_is_upstream_unavailable(
    payments: StripeLikeProvider, sandbox: PaymentsSandbox
) -> None:
    sandbox.fail_next(3)

    with pytest.raises(UpstreamUnavailable) as raised:
        await authorised(payments)

    assert raised.value.status == 503
    assert sandbox.intents == {}


async def test_a_retried_capture_with_the_same_key_moves_money_once(
    payments: StripeLikeProvider, sandbox: PaymentsSandbox
) -> None:
    authorization = await authorised(payments)

    first = await payments.capture(authorization.reference, Decimal("60.00"), idempotency_key="cap-1")
    again = await payments.capture(authorization.reference, Decimal("60.00"), idempotency_key="cap-1")

    assert again == first
    assert sandbox.intents[authorization.reference].captures == [6000]


async def test_a_used_key_with_a_different_amount_is_rejected(payments: StripeLikeProvider) -> None:
    authorization = await authorised(payments)
    await payments.capture(authorization.reference, Decimal("60.00"), idempotency_key="cap-1")

    with pytest.raises(PaymentRejected) as raised:
        await payments.capture(authorization.reference, Decimal("50.00"), idempotency_key="cap-1")

    assert raised.value.provider_code == "idempotency_key_in_use"


async def test_a_capture_with_more_precision_than_the_currency_is_refused_before_sending(
    payments: StripeLikeProvider, sandbox: PaymentsSandbox
) -> None:
    authorization = await authorised(payments)

    with pytest.raises(ValueError, match="decimal places"):
        await payments.capture(authorization.reference, Decimal("0.001"), idempotency_key="cap-1")

    assert [call.path for call in sandbox.calls] == ["/v1/payment_intents"]


async def test_a_yen_authorisation_sends_whole_yen(
    payments: StripeLikeProvider, sandbox: PaymentsSandbox
) -> None:
    authorization = await payments.authorize(
        order_reference="ORD-2",
        amount=Decimal("1999"),
        currency="JPY",
        token="tok_visa",
        idempotency_key="jp",
    )

    assert (authorization.amount, authorization.currency) == (Decimal("1999"), "JPY")
    assert sandbox.intents[authorization.reference].amount == 1999


async def test_a_fresh_connector_reads_the_intent_currency_before_capturing(
    payments: StripeLikeProvider, sandbox: PaymentsSandbox
) -> None:
    authorization = await authorised(payments)
    restarted = StripeLikeProvider.create(BASE, KEY, transport=httpx.ASGITransport(app=sandbox.app))

    capture = await restarted.capture(authorization.reference, Decimal("10.00"), idempotency_key="cap-1")
    await restarted.aclose()

    assert capture.amount == Decimal("10.00")
    assert [(call.method, call.path) for call in sandbox.calls[1:]] == [
        ("GET", f"/v1/payment_intents/{authorization.reference}"),
        ("POST", f"/v1/payment_intents/{authorization.reference}/capture"),
    ]

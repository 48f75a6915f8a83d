"""The payments sandbox as any Stripe-like client meets it: auth, intents, idempotency, invariants."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordergate.sandbox.payments import PaymentsSandbox

BASE = "http://payments.test"
KEY = "sk_test_sandbox"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
def sandbox() -> PaymentsSandbox:
    return PaymentsSandbox(secret_key=KEY)


@pytest.fixture
async def provider(sandbox: PaymentsSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app), base_url=BASE, headers=AUTH
    ) as client:
        yield client


async def post(
    client: httpx.AsyncClient, path: str, form: dict[str, Any], key: str | None = None
) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return await client.post(path, data=form, headers=headers)


async def authorised(client: httpx.AsyncClient, amount: int = 10000, key: str = "auth-1") -> str:
    form = {"amount": amount, "currency": "usd", "payment_method": "tok_visa"}
    form |= {"capture_method": "manual", "confirm": "true", "metadata[order]": "ORD-1"}
    response = await post(client, "/v1/payment_intents", form, key)
    assert response.status_code == 200, response.text
    intent_id: str = response.json()["id"]
    return intent_id


async def test_an_approved_card_leaves_the_whole_amount_to_capture(provider: httpx.AsyncClient) -> None:
    intent_id = await authorised(provider)

    intent = (await provider.get(f"/v1/payment_intents/{intent_id}")).json()

    assert intent["status"] == "requires_capture"
    assert (intent["amount"], intent["amount_capturable"], intent["amount_received"]) == (10000, 10000, 0)
    assert intent["currency"] == "usd"
    assert intent["metadata"] == {"order": "ORD-1"}


async def test_partial_captures_then_a_refund_walk_the_intent_to_succeeded(
    provider: httpx.AsyncClient, sandbox: PaymentsSandbox
) -> None:
    intent_id = await authorised(provider)

    first = await post(
        provider,
        f"/v1/payment_intents/{intent_id}/capture",
        {"amount_to_capture": 6000, "final_capture": "false"},
        "c1",
    )
    second = await post(
        provider, f"/v1/payment_intents/{intent_id}/capture", {"amount_to_capture": 4000}, "c2"
    )
    refund = await post(provider, "/v1/refunds", {"payment_intent": intent_id, "amount": 3000}, "r1")

    assert first.json()["status"] == "requires_capture"
    assert first.json()["amount_capturable"] == 4000
    assert second.json()["status"] == "succeeded"
    assert refund.json()["amount"] == 3000
    assert refund.json()["id"].startswith("re_")
    assert sandbox.intents[intent_id].captures == [6000, 4000]
    assert sandbox.intents[intent_id].refunds == [3000]


async def test_a_capture_above_what_is_left_is_refused_with_400(provider: httpx.AsyncClient) -> None:
    intent_id = await authorised(provider)
    partial = {"amount_to_capture": 6000, "final_capture": "false"}
    await post(provider, f"/v1/payment_intents/{intent_id}/capture", partial, "c1")

    response = await post(
        provider, f"/v1/payment_intents/{intent_id}/capture", {"amount_to_capture": 4001}, "c2"
    )

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert response.json()["error"]["code"] == "amount_too_large"


async def test_a_refund_above_what_was_captured_is_refused_with_400(provider: httpx.AsyncClient) -> None:
    intent_id = await authorised(provider)
    await post(provider, f"/v1/payment_intents/{intent_id}/capture", {"amount_to_capture": 2000}, "c1")

    response = await post(provider, "/v1/refunds", {"payment_intent": intent_id, "amount": 2001}, "r1")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "amount_too_large"


async def test_a_final_capture_of_less_releases_the_rest_as_stripe_s_default_does(
    provider: httpx.AsyncClient, sandbox: PaymentsSandbox
) -> None:
    intent_id = await authorised(provider)

    final = await post(
        provider, f"/v1/payment_intents/{intent_id}/capture", {"amount_to_capture": 6000}, "c1"
    )
    late = await post(provider, f"/v1/payment_intents/{intent_id}/capture", {"amount_to_capture": 1}, "c2")

    assert (final.json()["status"], final.json()["amount_capturable"]) == ("succeeded", 0)
    assert sandbox.intents[intent_id].amount_released == 4000
    assert late.json()["error"]["code"] == "payment_intent_unexpected_state"


async def test_a_cancel_after_a_partial_capture_releases_the_rest(
    provider: httpx.AsyncClient, sandbox: PaymentsSandbox
) -> None:
    intent_id = await authorised(provider)
    partial = {"amount_to_capture": 6000, "final_capture": "false"}
    await post(provider, f"/v1/payment_intents/{intent_id}/capture", partial, "c1")

    canceled = await post(provider, f"/v1/payment_intents/{intent_id}/cancel", {}, "v1")
    late = await post(provider, f"/v1/payment_intents/{intent_id}/capture", {"amount_to_capture": 1}, "c2")
    refund = await post(provider, "/v1/refunds", {"payment_intent": intent_id, "amount": 6000}, "r1")

    assert canceled.json()["status"] == "canceled"
    assert (canceled.json()["amount_capturable"], canceled.json()["amount_received"]) == (0, 6000)
    assert sandbox.intents[intent_id].amount_released == 4000
    assert late.status_code == 400
    assert late.json()["error"]["code"] == "payment_intent_unexpected_state"
    assert refund.status_code == 200


@pytest.mark.parametrize(
    ("token", "status", "kind", "code"),
    [
        ("tok_declined", 402, "card_error", "card_declined"),
        ("tok_error", 500, "api_error", "api_error"),
        ("tok_unknown", 400, "invalid_request_error", "resource_missing"),
    ],
)
async def test_test_tokens_behave_as_named(
    provider: httpx.AsyncClient, sandbox: PaymentsSandbox, token: str, status: int, kind: str, code: str
) -> None:
    form = {"amount": 100, "currency": "usd", "payment_method": token, "capture_method": "manual"}
    response = await post(provider, "/v1/payment_intents", form | {"confirm": "true"}, "k")

    assert response.status_code == status
    assert response.json()["error"]["type"] == kind
    assert response.json()["error"]["code"] == code
    assert sandbox.intents == {}


async def test_a_repeated_key_replays_the_first_answer_and_captures_once(
    provider: httpx.AsyncClient, sandbox: PaymentsSandbox
) -> None:
    intent_id = await authorised(provider)
    path = f"/v1/payment_intents/{intent_id}/capture"

    first = await post(provider, path, {"amount_to_capture": 6000}, "c1")
    again = await post(provider, path, {"amount_to_capture": 6000}, "c1")

    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert sandbox.intents[intent_id].captures == [6000]


async def test_a_used_key_with_a_different_body_is_400(
    provider: httpx.AsyncClient, sandbox: PaymentsSandbox
) -> None:
    intent_id = await authorised(provider)
    path = f"/v1/payment_intents/{intent_id}/capture"
    await post(provider, path, {"amount_to_capture": 6000}, "c1")

    response = await post(provider, path, {"amount_to_capture": 5000}, "c1")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_in_use"
    assert sandbox.intents[intent_id].captures == [6000]


async def test_fail_next_answers_503_without_storing_the_answer(
    provider: httpx.AsyncClient, sandbox: PaymentsSandbox
) -> None:
    sandbox.fail_next(1)
    form = {"amount": 100, "currency": "usd", "payment_method": "tok_visa"}
    form |= {"capture_method": "manual", "confirm": "true"}

    failed = await post(provider, "/v1/payment_intents", form, "k")
    retried = await post(provider, "/v1/payment_intents", form, "k")

    assert failed.status_code == 503
    assert failed.json()["error"]["type"] == "api_error"
    assert retried.status_code == 200
    assert len(sandbox.intents) == 1
    assert len(sandbox.calls) == 2


@pytest.mark.parametrize("authorization", ["", "Bearer sk_test_wrong", f"Basic {KEY}"])
async def test_a_request_without_the_secret_key_is_401(sandbox: PaymentsSandbox, authorization: str) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url=BASE) as client:
        response = await client.get("/v1/payment_intents/pi_x", headers={"Authorization": authorization})

    assert response.status_code == 401


async def test_any_bearer_key_is_let_in_when_none_is_configured() -> None:
    sandbox = PaymentsSandbox()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url=BASE) as client:
        response = await client.get("/v1/payment_intents/pi_x", headers={"Authorization": "Bearer anything"})

    assert response.status_code == 404


operations = st.lists(
    st.tuples(st.sampled_from(["capture", "refund", "void"]), st.integers(min_value=1, max_value=12000)),
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(steps=operations)
async def test_no_sequence_captures_above_the_authorisation_or_refunds_above_the_capture(
    steps: list[tuple[str, int]],
) -> None:
    sandbox = PaymentsSandbox()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app), base_url=BASE, headers={"Authorization": "Bearer k"}
    ) as client:
        intent_id = await authorised(client)
        for number, (operation, amount) in enumerate(steps):
            key = f"step-{number}"
            form: dict[str, Any]
            if operation == "capture":
                path, form = f"/v1/payment_intents/{intent_id}/capture", {"amount_to_capture": amount}
            elif operation == "refund":
                path, form = "/v1/refunds", {"payment_intent": intent_id, "amount": amount}
            else:
                path, form = f"/v1/payment_intents/{intent_id}/cancel", {}
            response = await post(client, path, form, key)
            intent = sandbox.intents[intent_id]

            assert response.status_code in (200, 400)
            assert 0 <= intent.amount_refunded <= intent.amount_received <= intent.amount
            assert intent.amount_capturable == (
                intent.amount - intent.amount_received if intent.status == "requires_capture" else 0
            )

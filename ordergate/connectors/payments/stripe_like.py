"""A provider with Stripe's PaymentIntent API (`https://api.stripe.com`), the sandbox's too.

Authorise: `POST /v1/payment_intents` with `capture_method=manual&confirm=true`; capture in parts:
`POST /v1/payment_intents/{id}/capture` with `amount_to_capture` and `final_capture=false`
(multicapture); refund: `POST /v1/refunds`; void, or release what is left after partial captures:
`POST /v1/payment_intents/{id}/cancel`. Requests are form-encoded, answers JSON, money in
integer minor units with a lower-case currency. Every call carries an `Idempotency-Key`, which is
what makes a retried POST safe: the provider answers a repeat with the first result.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from ordergate.connectors.errors import UpstreamProtocolError, UpstreamRejected
from ordergate.connectors.http import CircuitBreaker, UpstreamClient, UpstreamPolicy
from ordergate.connectors.payloads import load_json
from ordergate.connectors.payments.base import (
    Authorization,
    Capture,
    PaymentDeclined,
    PaymentRejected,
    Refund,
    Void,
    from_minor,
    to_minor,
)

STRIPE_URL = "https://api.stripe.com"
UPSTREAM = "payments"
MAX_KEY_LENGTH = 255
CURRENCIES_KEPT = 10_000
FORM = "application/x-www-form-urlencoded"


def stripe_like_policy(base_url: str = STRIPE_URL, name: str = UPSTREAM) -> UpstreamPolicy:
    """A card authorisation may take a while; Stripe's own clients wait up to 80 s."""
    return UpstreamPolicy(
        name=name,
        base_url=base_url,
        connect_timeout=5.0,
        read_timeout=30.0,
        attempts=3,
        backoff_initial=0.5,
        backoff_max=4.0,
        deadline=45.0,
        breaker_threshold=5,
        breaker_cooldown=30.0,
    )


class StripeLikeProvider:
    def __init__(self, client: UpstreamClient) -> None:
        self._client = client
        self._currency_by_intent: OrderedDict[str, str] = OrderedDict()

    @classmethod
    def create(
        cls,
        base_url: str,
        secret_key: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        policy: UpstreamPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        breaker: CircuitBreaker | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
    ) -> StripeLikeProvider:
        client = UpstreamClient(
            policy or stripe_like_policy(base_url),
            headers={"Authorization": f"Bearer {secret_key}", "Accept": "application/json"},
            transport=transport,
            clock=clock,
            wall_clock=wall_clock,
            sleep=sleep,
            breaker=breaker,
            event_hooks=event_hooks,
        )
        return cls(client)

    async def authorize(
        self, *, order_reference: str, amount: Decimal, currency: str, token: str, idempotency_key: str
    ) -> Authorization:
        fields = {
            "amount": str(_positive_minor(amount, currency)),
            "currency": currency.lower(),
            "payment_method": token,
            "capture_method": "manual",
            "confirm": "true",
            "metadata[order]": order_reference,
        }
        intent = await self._post("/v1/payment_intents", fields, idempotency_key)
        reference, wire_currency = _text(intent, "id", self._name), _text(intent, "currency", self._name)
        self._remember(reference, wire_currency)
        return Authorization(
            reference=reference,
            amount=from_minor(_units(intent, "amount", self._name), wire_currency),
            currency=wire_currency.upper(),
            status=_text(intent, "status", self._name),
        )

    async def increment(self, reference: str, amount: Decimal, *, idempotency_key: str) -> Authorization:
        intent_path = f"/v1/payment_intents/{quote(reference, safe='')}"
        currency = await self._currency_of(reference)
        fields = {"amount": str(_positive_minor(amount, currency))}
        intent = await self._post(f"{intent_path}/increment_authorization", fields, idempotency_key)
        wire_currency = _text(intent, "currency", self._name)
        return Authorization(
            reference=_text(intent, "id", self._name),
            amount=from_minor(_units(intent, "amount", self._name), wire_currency),
            currency=wire_currency.upper(),
            status=_text(intent, "status", self._name),
        )

    async def capture(self, reference: str, amount: Decimal, *, idempotency_key: str) -> Capture:
        intent_path = f"/v1/payment_intents/{quote(reference, safe='')}"
        currency = await self._currency_of(reference)
        # Not final: an order captured as it ships keeps the rest of its hold for the next parcel
        # (Stripe's default releases it); what is never captured is released by `void`.
        fields = {"amount_to_capture": str(_positive_minor(amount, currency)), "final_capture": "false"}
        intent = await self._post(f"{intent_path}/capture", fields, idempotency_key)
        return Capture(reference=_text(intent, "id", self._name), amount=amount)

    async def refund(self, reference: str, amount: Decimal, *, idempotency_key: str) -> Refund:
        currency = await self._currency_of(reference)
        fields = {"payment_intent": reference, "amount": str(_positive_minor(amount, currency))}
        refund = await self._post("/v1/refunds", fields, idempotency_key)
        refunded = from_minor(_units(refund, "amount", self._name), _text(refund, "currency", self._name))
        return Refund(reference=_text(refund, "id", self._name), amount=refunded)

    async def void(self, reference: str, *, idempotency_key: str) -> Void:
        path = f"/v1/payment_intents/{quote(reference, safe='')}/cancel"
        intent = await self._post(path, {}, idempotency_key)
        return Void(reference=_text(intent, "id", self._name))

    async def aclose(self) -> None:
        await self._client.aclose()

    @property
    def _name(self) -> str:
        return self._client.policy.name

    async def _currency_of(self, reference: str) -> str:
        """The intent's currency, which an amount's precision is checked against: remembered from
        the authorisation, or read once from the provider."""
        if reference not in self._currency_by_intent:
            try:
                response = await self._client.get(f"/v1/payment_intents/{quote(reference, safe='')}")
            except UpstreamRejected as rejected:
                raise _payment_error(rejected) from rejected
            intent = _object(self._client.read_json(response), self._name)
            self._remember(reference, _text(intent, "currency", self._name))
        return self._currency_by_intent[reference]

    def _remember(self, reference: str, currency: str) -> None:
        self._currency_by_intent[reference] = currency
        if len(self._currency_by_intent) > CURRENCIES_KEPT:
            self._currency_by_intent.popitem(last=False)

    async def _post(self, path: str, fields: Mapping[str, str], idempotency_key: str) -> dict[str, Any]:
        if not idempotency_key or len(idempotency_key) > MAX_KEY_LENGTH:
            raise ValueError(f"an idempotency key is 1 to {MAX_KEY_LENGTH} characters")
        headers = {"Content-Type": FORM, "Idempotency-Key": idempotency_key}
        try:
            # Retried on failure only because the key makes the provider answer a repeat once.
            response = await self._client.post(
                path, content=urlencode(fields).encode(), headers=headers, idempotent=True
            )
        except UpstreamRejected as rejected:
            raise _payment_error(rejected) from rejected
        return _object(self._client.read_json(response), self._name)


def _positive_minor(amount: Decimal, currency: str) -> int:
    units = to_minor(amount, currency)
    if units <= 0:
        raise ValueError(f"a payment amount must be positive, not {amount}")
    return units


def _payment_error(rejected: UpstreamRejected) -> UpstreamRejected:
    try:
        error = load_json(rejected.body)["error"]
        kind, code, message = (
            error.get("type"),
            error.get("decline_code") or error.get("code"),
            error["message"],
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return rejected
    if rejected.status == 402 or kind == "card_error":
        return PaymentDeclined(
            str(code or "card_declined"), str(message), upstream=rejected.upstream, status=rejected.status
        )
    return PaymentRejected(
        rejected.upstream,
        f"{rejected.message}: {message}",
        provider_code=str(code or kind or "rejected"),
        status=rejected.status,
        body=rejected.body,
    )


def _object(body: Any, upstream: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise UpstreamProtocolError(upstream, "the answer is not a JSON object")
    return body


def _text(record: dict[str, Any], name: str, upstream: str) -> str:
    value = record.get(name)
    if not isinstance(value, str) or not value:
        raise UpstreamProtocolError(upstream, f"the answer has no {name}")
    return value


def _units(record: dict[str, Any], name: str, upstream: str) -> int:
    value = record.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise UpstreamProtocolError(upstream, f"the answer's {name} is not an integer")
    return value

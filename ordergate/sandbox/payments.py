"""A stateful stand-in for a Stripe-like PaymentIntent API, in Stripe's wire format.

Served below its mount: `POST /v1/payment_intents` (manual capture, confirmed at once),
`GET /v1/payment_intents/{id}`, `POST /v1/payment_intents/{id}/capture` (`amount_to_capture`, in
parts with `final_capture=false` as Stripe's multicapture takes them, never above what is left
authorised; a final capture, Stripe's default, releases the rest),
`POST /v1/payment_intents/{id}/cancel` (releases what is not captured, after partial captures
too), `POST /v1/refunds` (`payment_intent`, `amount`, never above what is captured and not yet
refunded). Form-encoded requests, JSON answers, money in integer minor units. Test tokens:
`tok_visa` is approved, `tok_declined` answers 402 `card_declined`, `tok_error` 500 `api_error`.
Bearer auth with the configured secret key (any key when none is). Like Stripe, the first answer
to an `Idempotency-Key` is replayed to every repeat, and a different request with a used key is
refused; answers forced by `fail_next` are not stored, so a retry goes through.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

REQUIRES_CAPTURE = "requires_capture"
SUCCEEDED = "succeeded"
CANCELED = "canceled"
TOKENS = {"tok_visa", "tok_declined", "tok_error"}
INCREMENT_LIMIT = 1_000_000  # minor units: raising an authorisation above 10,000.00 is declined

Handler = Callable[["Call"], "Answer"]


@dataclass
class Intent:
    """A PaymentIntent. `captures` and `refunds` list each movement in minor units."""

    id: str
    amount: int
    currency: str
    metadata: dict[str, str]
    status: str = REQUIRES_CAPTURE
    captures: list[int] = field(default_factory=list)
    refunds: list[int] = field(default_factory=list)

    @property
    def amount_received(self) -> int:
        return sum(self.captures)

    @property
    def amount_refunded(self) -> int:
        return sum(self.refunds)

    @property
    def amount_capturable(self) -> int:
        return self.amount - self.amount_received if self.status == REQUIRES_CAPTURE else 0

    @property
    def amount_released(self) -> int:
        """What the card's hold let go uncaptured: by a cancel, or by a final capture of less
        than was authorised (the operator's view; Stripe shows it as amount less received)."""
        return self.amount - self.amount_received if self.status != REQUIRES_CAPTURE else 0


@dataclass(frozen=True)
class Call:
    """One request as the sandbox saw it; `form` is the decoded body."""

    method: str
    path: str
    form: dict[str, str]
    idempotency_key: str | None
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


class PaymentError(Exception):
    def __init__(self, status: int, type_: str, code: str, message: str, **extra: str) -> None:
        super().__init__(message)
        self.answer = Answer(status, {"error": {"type": type_, "code": code, "message": message, **extra}})


class PaymentsSandbox:
    """The provider's state and `.app`, the Starlette app that serves it.

    Operator's side: `intents` by id, `calls` (every request received, in order) and
    `fail_next(n)`, which makes the next n requests answer 503 without touching any state.
    """

    def __init__(self, *, secret_key: str | None = None) -> None:
        self.secret_key = secret_key
        self.intents: dict[str, Intent] = {}
        self.calls: list[Call] = []
        self._failures_left = 0
        self._answered: dict[str, tuple[str, Answer]] = {}
        self.app = Starlette(
            routes=[
                Route("/v1/payment_intents", self._endpoint(self._create_intent), methods=["POST"]),
                Route("/v1/payment_intents/{id}", self._endpoint(self._read_intent), methods=["GET"]),
                Route("/v1/payment_intents/{id}/capture", self._endpoint(self._capture), methods=["POST"]),
                Route("/v1/payment_intents/{id}/cancel", self._endpoint(self._cancel), methods=["POST"]),
                Route(
                    "/v1/payment_intents/{id}/increment_authorization",
                    self._endpoint(self._increment),
                    methods=["POST"],
                ),
                Route("/v1/refunds", self._endpoint(self._refund), methods=["POST"]),
            ]
        )

    def to_state(self) -> dict[str, Any]:
        """Everything a restart must keep, as JSON-able data: the intents with their captures
        and refunds, and the first answer to each idempotency key (a retry after a restart is
        still a replay). `calls` and `fail_next` are the operator's, for this run only."""
        return {
            "intents": [
                {
                    "id": intent.id,
                    "amount": intent.amount,
                    "currency": intent.currency,
                    "metadata": intent.metadata,
                    "status": intent.status,
                    "captures": intent.captures,
                    "refunds": intent.refunds,
                }
                for intent in self.intents.values()
            ],
            "answered": [
                {"key": key, "fingerprint": fingerprint, "status": answer.status, "body": answer.body}
                for key, (fingerprint, answer) in self._answered.items()
            ],
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """The state `to_state` gave; raises (changing nothing) on state of another shape."""
        intents = [
            Intent(
                id=str(wire["id"]),
                amount=int(wire["amount"]),
                currency=str(wire["currency"]),
                metadata={str(key): str(value) for key, value in wire["metadata"].items()},
                status=_status(wire["status"]),
                captures=[int(amount) for amount in wire["captures"]],
                refunds=[int(amount) for amount in wire["refunds"]],
            )
            for wire in state["intents"]
        ]
        answered = {
            str(wire["key"]): (str(wire["fingerprint"]), Answer(int(wire["status"]), dict(wire["body"])))
            for wire in state["answered"]
        }
        self.intents = {intent.id: intent for intent in intents}
        self._answered = answered

    def fail_next(self, count: int = 1) -> None:
        self._failures_left = count

    # -- HTTP ------------------------------------------------------------------------------------

    def _endpoint(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            body = await request.body()
            # Nothing below awaits: each request's check, change and record is one step.
            call = Call(
                method=request.method,
                path=request.url.path,
                form=dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)),
                idempotency_key=request.headers.get("idempotency-key"),
                params=dict(request.path_params),
            )
            self.calls.append(call)
            if not self._authorised(request.headers.get("authorization", "")):
                message = "Invalid API Key provided."
                return _respond(Answer(401, {"error": {"type": "invalid_request_error", "message": message}}))
            if self._failures_left > 0:
                self._failures_left -= 1
                message = "The provider is temporarily unavailable."
                return _respond(PaymentError(503, "api_error", "service_unavailable", message).answer)
            if call.method == "GET" or call.idempotency_key is None:
                return _respond(self._answer(handler, call))
            fingerprint = json.dumps([call.path, sorted(call.form.items())])
            if call.idempotency_key in self._answered:
                first_fingerprint, answer = self._answered[call.idempotency_key]
                if first_fingerprint != fingerprint:
                    message = "Keys for idempotent requests can only be used with the same parameters."
                    error = PaymentError(400, "invalid_request_error", "idempotency_key_in_use", message)
                    return _respond(error.answer)
                return _respond(answer, replayed=True)
            answer = self._answer(handler, call)
            self._answered[call.idempotency_key] = (fingerprint, answer)
            return _respond(answer)

        return endpoint

    def _authorised(self, header: str) -> bool:
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not presented:
            return False
        return self.secret_key is None or hmac.compare_digest(presented.encode(), self.secret_key.encode())

    @staticmethod
    def _answer(handler: Handler, call: Call) -> Answer:
        try:
            return handler(call)
        except PaymentError as error:
            return error.answer

    # -- intents ---------------------------------------------------------------------------------

    def _create_intent(self, call: Call) -> Answer:
        amount = _amount(call.form, "amount")
        currency = call.form.get("currency", "").lower()
        if len(currency) != 3 or not currency.isalpha():
            raise _invalid("parameter_invalid_empty", "currency must be a three-letter ISO code", "currency")
        if call.form.get("capture_method") != "manual" or call.form.get("confirm") != "true":
            raise _invalid("parameter_invalid", "this sandbox takes capture_method=manual&confirm=true")
        method = call.form.get("payment_method", "")
        if method == "tok_declined":
            raise PaymentError(402, "card_error", "card_declined", "Your card was declined.")
        if method == "tok_error":
            raise PaymentError(500, "api_error", "api_error", "An error occurred with our connection.")
        if method not in TOKENS:
            raise _invalid("resource_missing", f"No such PaymentMethod: '{method}'", "payment_method")
        metadata = {key[9:-1]: value for key, value in call.form.items() if key.startswith("metadata[")}
        intent = Intent(id=f"pi_{secrets.token_hex(12)}", amount=amount, currency=currency, metadata=metadata)
        self.intents[intent.id] = intent
        return Answer(200, _intent_record(intent))

    def _read_intent(self, call: Call) -> Answer:
        return Answer(200, _intent_record(self._intent(call.params["id"])))

    def _capture(self, call: Call) -> Answer:
        intent = self._intent(call.params["id"])
        if intent.status != REQUIRES_CAPTURE:
            raise _unexpected_state(intent)
        amount = _amount(call.form, "amount_to_capture") if "amount_to_capture" in call.form else None
        amount = intent.amount_capturable if amount is None else amount
        if amount > intent.amount_capturable:
            message = (
                f"amount_to_capture {amount} is more than the {intent.amount_capturable} left to capture"
            )
            raise _invalid("amount_too_large", message, "amount_to_capture")
        final = call.form.get("final_capture", "true")
        if final not in ("true", "false"):
            raise _invalid(
                "parameter_invalid_boolean", "final_capture must be true or false", "final_capture"
            )
        intent.captures.append(amount)
        if final == "true" or intent.amount_capturable == 0:
            intent.status = SUCCEEDED  # what was not captured is released
        return Answer(200, _intent_record(intent))

    def _increment(self, call: Call) -> Answer:
        """Stripe's increment_authorization: `amount` is the new, larger total. The sandbox's
        issuer declines raising any authorisation above INCREMENT_LIMIT."""
        intent = self._intent(call.params["id"])
        if intent.status != REQUIRES_CAPTURE:
            raise _unexpected_state(intent)
        amount = _amount(call.form, "amount")
        if amount <= intent.amount:
            raise _invalid("parameter_invalid_integer", "amount must be more than is authorised", "amount")
        if amount > INCREMENT_LIMIT:
            raise PaymentError(402, "card_error", "card_declined", "Your card was declined.")
        intent.amount = amount
        return Answer(200, _intent_record(intent))

    def _cancel(self, call: Call) -> Answer:
        intent = self._intent(call.params["id"])
        if intent.status != REQUIRES_CAPTURE:
            raise _unexpected_state(intent)
        intent.status = CANCELED
        return Answer(200, _intent_record(intent))

    def _refund(self, call: Call) -> Answer:
        intent = self._intent(call.form.get("payment_intent", ""), "payment_intent")
        refundable = intent.amount_received - intent.amount_refunded
        amount = _amount(call.form, "amount") if "amount" in call.form else refundable
        if refundable == 0:
            raise _invalid("charge_already_refunded", "nothing captured is left to refund", "payment_intent")
        if amount > refundable:
            message = f"amount {amount} is more than the {refundable} captured and not refunded"
            raise _invalid("amount_too_large", message, "amount")
        intent.refunds.append(amount)
        record = {
            "id": f"re_{secrets.token_hex(12)}",
            "object": "refund",
            "amount": amount,
            "currency": intent.currency,
            "payment_intent": intent.id,
            "status": "succeeded",
        }
        return Answer(200, record)

    def _intent(self, intent_id: str, param: str = "intent") -> Intent:
        if intent_id not in self.intents:
            status = 404 if param == "intent" else 400
            message = f"No such payment_intent: '{intent_id}'"
            raise PaymentError(status, "invalid_request_error", "resource_missing", message, param=param)
        return self.intents[intent_id]


def _intent_record(intent: Intent) -> dict[str, Any]:
    return {
        "id": intent.id,
        "object": "payment_intent",
        "amount": intent.amount,
        "amount_capturable": intent.amount_capturable,
        "amount_received": intent.amount_received,
        "amount_refunded": intent.amount_refunded,
        "currency": intent.currency,
        "capture_method": "manual",
        "status": intent.status,
        "metadata": intent.metadata,
    }


def _amount(form: dict[str, str], name: str) -> int:
    value = form.get(name, "")
    if not value.isascii() or not value.isdigit() or int(value) <= 0:
        raise _invalid("parameter_invalid_integer", f"{name} must be a positive integer", name)
    return int(value)


def _invalid(code: str, message: str, param: str | None = None) -> PaymentError:
    extra = {"param": param} if param else {}
    return PaymentError(400, "invalid_request_error", code, message, **extra)


def _unexpected_state(intent: Intent) -> PaymentError:
    message = f"This PaymentIntent's status is {intent.status}; it cannot be captured or canceled."
    return _invalid("payment_intent_unexpected_state", message)


def _respond(answer: Answer, *, replayed: bool = False) -> Response:
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse(answer.body, status_code=answer.status, headers=headers)


def _status(value: Any) -> str:
    if value not in (REQUIRES_CAPTURE, SUCCEEDED, CANCELED):
        raise ValueError(f"{value!r} is not a PaymentIntent status")
    return str(value)

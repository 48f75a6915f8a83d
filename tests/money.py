"""What must hold of an order's money at every moment, whatever happened to it: the invariants the
long-run walk (`tests/simulation.py`) checks after every step.

- the order is priced by the rule: its subtotal is its lines' units still charged for, its tax
  the sum of its lines' and its shipping's, its discount the sum of its lines', its total the
  subtotal less the discount, with shipping and tax;
- the ledger never moves more than it may: captured and released within what was authorised,
  refunded within what was captured;
- the payment status is the one the ledger gives (`models.payments.payment_status`);
- the provider agrees with the ledger: what its intent received and refunded (a payment a
  storefront took is the storefront's to move);
- a settled order paid with us (no unit open or waiting, no payment task pending) is settled
  for its total:
  PAID (captured exactly its total, less what edits and cancellations gave back of a capture
  priced on an earlier total; nothing left authorised), REFUNDED or PARTIALLY_REFUNDED
  after that, or VOIDED (nothing captured, the whole hold released); never stuck AUTHORIZED or
  PARTIALLY_PAID.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from ordergate.models.order import Order, OrderLine, PaymentStatus
from ordergate.models.outbox import OutboxTask
from ordergate.models.payments import PaymentTransaction, payment_status, taken_elsewhere, totals
from ordergate.sandbox.payments import PaymentsSandbox
from ordergate.usecases.payments import correction_keys

SETTLED = frozenset(
    {PaymentStatus.PAID, PaymentStatus.REFUNDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.VOIDED}
)


def money_problems(
    order: Order,
    lines: Sequence[OrderLine],
    ledger: Sequence[PaymentTransaction],
    tasks: Sequence[OutboxTask],
    waiting_units: int,
    provider: PaymentsSandbox | None,
) -> list[str]:
    """Every invariant of the module's docstring the order breaks, in words (none: it is right)."""
    problems: list[str] = []
    charged = sum((line.unit_price * (line.quantity - line.quantity_cancelled) for line in lines), Decimal(0))
    if order.subtotal != charged:
        problems.append(f"subtotal {order.subtotal}, its lines come to {charged}")
    line_tax = sum((line.tax for line in lines), Decimal(0))
    if order.tax != line_tax + order.shipping_tax:
        problems.append(f"tax {order.tax}, lines {line_tax} and shipping {order.shipping_tax}")
    line_discount = sum((line.discount for line in lines), Decimal(0))
    if order.discount != line_discount:
        problems.append(f"discount {order.discount}, its lines carry {line_discount}")
    if order.total != order.subtotal - order.discount + order.shipping_total + order.tax:
        parts = f"{order.subtotal} - {order.discount} + {order.shipping_total} + {order.tax}"
        problems.append(f"total {order.total} is not {parts}")
    money = totals(ledger)
    if money.captured + money.released > money.authorised:
        problems.append(f"captured {money.captured} and released {money.released} of {money.authorised}")
    if money.refunded > money.captured:
        problems.append(f"refunded {money.refunded} of {money.captured} captured")
    derived = payment_status(ledger, order.total)
    if order.payment_status is not derived:
        problems.append(f"payment status {order.payment_status.value}, the ledger says {derived.value}")
    authorisation = next((e for e in ledger if e.kind.value == "AUTHORIZATION"), None)
    if provider is not None and authorisation is not None and not taken_elsewhere(authorisation):
        intent = provider.intents.get(authorisation.reference)
        if intent is None:
            problems.append(f"the provider has no intent {authorisation.reference}")
        elif (intent.amount_received, intent.amount_refunded) != (
            int(money.captured * 100),
            int(money.refunded * 100),
        ):
            problems.append(
                f"the provider received {intent.amount_received} and refunded {intent.amount_refunded} "
                f"cents, the ledger says {money.captured} and {money.refunded}"
            )
    open_units = sum(line.quantity - line.quantity_fulfilled - line.quantity_cancelled for line in lines)
    pending = [task for task in tasks if task.kind.startswith("payment.") and task.done_at is None]
    # A storefront's sale settles at the storefront (a cancellation is refunded there, say): our
    # ledger holds what it reported.
    ours = authorisation is not None and not taken_elsewhere(authorisation)
    if ours and open_units == 0 and waiting_units == 0 and not pending:
        if order.payment_status not in SETTLED:
            problems.append(f"nothing is open or pending, yet the payment is {order.payment_status.value}")
        elif order.payment_status is PaymentStatus.VOIDED and money.captured:
            problems.append("VOIDED with money captured")
        elif money.captured and money.captured - given_back(order, ledger) != order.total:
            problems.append(
                f"settled having captured {money.captured} (given back {given_back(order, ledger)}) "
                f"of a {order.total} order"
            )
        elif money.capturable:
            problems.append(f"settled with {money.capturable} still authorised and never to be captured")
    return problems


def book_problems(
    orders: Mapping[str, Order],
    lines: Mapping[str, Sequence[OrderLine]],
    ledgers: Mapping[str, Sequence[PaymentTransaction]],
    tasks: Mapping[str, Sequence[OutboxTask]],
    waiting: Mapping[str, int],
    provider: PaymentsSandbox | None,
) -> list[str]:
    """`money_problems` of every order, each named by its number."""
    return [
        f"{order.number}: {problem}"
        for order_id, order in orders.items()
        for problem in money_problems(
            order,
            lines.get(order_id, []),
            ledgers.get(order_id, []),
            tasks.get(order_id, []),
            waiting.get(order_id, 0),
            provider,
        )
    ]


def given_back(order: Order, ledger: Sequence[PaymentTransaction]) -> Decimal:
    """Refunds of what was charged beyond a total an edit or a cancellation lowered."""
    keys = correction_keys(order.id)
    return sum((e.amount for e in ledger if e.kind.value == "REFUND" and e.key.startswith(keys)), Decimal(0))

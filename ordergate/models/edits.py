"""An edit to an order, decided: what each line becomes, which lines are added, whether the
address changes, or why the edit is refused and which field says so. Pure: given the order as
loaded (its lines, the units a node has started on, the products an edit adds) and `now`.

The use case (`usecases.edits`) asks this twice with no writing in between (once to preview
the money before the card is raised, once under the order's row lock) and applies the second
answer once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from ordergate.models.address import Address
from ordergate.models.catalog import Product, check_sellable
from ordergate.models.commands import EditOrder
from ordergate.models.errors import InvalidTransition, Problem, ValidationFailed, VersionConflict
from ordergate.models.order import DeliveryMethod, Order, OrderLine, OrderStatus

FINISHED = frozenset({OrderStatus.CANCELLED, OrderStatus.COMPLETED})
ORDER_ID = ("order_id",)


@dataclass(frozen=True)
class LineDiff:
    line_id: str | None  # None: a line the edit adds (its id exists only once committed)
    sku: str
    before: int
    after: int


@dataclass(frozen=True)
class PlannedLine:
    """A line as the edit leaves it: what routing and pricing read. A line taken off the order
    is fully cancelled here (nothing of it open) and goes once the work is planned again."""

    line_id: str | None
    sku: str
    name: str
    position: int
    quantity: int
    unit_price: Decimal
    quantity_fulfilled: int = 0
    quantity_cancelled: int = 0
    removed: bool = False  # taken off by this edit


@dataclass(frozen=True)
class EditPlan:
    lines: tuple[PlannedLine, ...]  # every line as it will be, the added ones last
    changes: tuple[LineDiff, ...]
    address: Address | None

    @property
    def added(self) -> tuple[PlannedLine, ...]:
        return tuple(line for line in self.lines if line.line_id is None)


def plan_edit(
    order: Order,
    lines: Sequence[OrderLine],
    started: Mapping[str, int],
    products: Mapping[str, Product],
    command: EditOrder,
    *,
    may_edit_any: bool,
    edit_window: timedelta,
    now: datetime,
) -> EditPlan:
    """`started`: units per line id a node has started on; `products`: the SKUs the edit adds
    that are not on the order. Raises InvalidTransition, VersionConflict or ValidationFailed."""
    _check_order(order, command, may_edit_any=may_edit_any, edit_window=edit_window, now=now)
    by_id = {line.id: line for line in lines}
    by_sku = {line.sku: line for line in lines}
    wanted = {line.id: line.quantity for line in lines}
    problems = _changed_lines(command, by_id, started, wanted)
    for index, request in enumerate(command.add_lines):
        if request.sku in by_sku:
            wanted[by_sku[request.sku].id] += request.quantity
        else:
            path = ("add_lines", str(index), "sku")
            problems.extend(check_sellable(request.sku, products.get(request.sku), order.currency, path))
    if command.shipping_address is not None and order.delivery_method is not DeliveryMethod.SHIP:
        problems.append(
            Problem("NOT_SHIPPED", "a pickup order has no shipping address", ("shipping_address",))
        )
    if not problems and not any(wanted.values()) and not command.add_lines:
        problems.append(
            Problem("NOTHING_LEFT", "an edit cannot take every line off: cancel the order", ("lines",))
        )
    if problems:
        raise ValidationFailed(problems)
    return _plan(lines, wanted, products, command)


def _check_order(
    order: Order, command: EditOrder, *, may_edit_any: bool, edit_window: timedelta, now: datetime
) -> None:
    if order.status in FINISHED:
        raise InvalidTransition(f"a {order.status.value} order cannot be edited", field=ORDER_ID)
    if order.source_ref is not None:
        raise ValidationFailed(
            [
                Problem(
                    "STOREFRONT_ORDER",
                    "the storefront sold this order and holds its payment: change it there",
                    ORDER_ID,
                )
            ]
        )
    if order.event_seq != command.expected_version:
        raise VersionConflict(
            f"the order is at version {order.event_seq}, not {command.expected_version}: read it again",
            field=("expected_version",),
        )
    if not may_edit_any and now - order.created_at > edit_window:
        raise ValidationFailed(
            [Problem("EDIT_WINDOW_CLOSED", "this order can no longer be changed online", ORDER_ID)]
        )


def _changed_lines(
    command: EditOrder, by_id: Mapping[str, OrderLine], started: Mapping[str, int], wanted: dict[str, int]
) -> list[Problem]:
    """Each line change, into `wanted`; a line that does not exist, or one taken below what has
    left, been cancelled or is being worked on, is a problem."""
    problems: list[Problem] = []
    for index, change in enumerate(command.lines):
        path = ("lines", str(index))
        line = by_id.get(change.line_id)
        if line is None:
            problems.append(Problem("NOT_FOUND", "no such line on this order", (*path, "line_id")))
            continue
        floor = line.quantity_fulfilled + line.quantity_cancelled + started.get(line.id, 0)
        if change.quantity < floor:
            problems.append(
                Problem(
                    "NOT_EDITABLE",
                    f"{floor} of this line have left, been cancelled or are being worked on",
                    (*path, "quantity"),
                )
            )
        wanted[line.id] = change.quantity
    return problems


def _plan(
    lines: Sequence[OrderLine], wanted: Mapping[str, int], products: Mapping[str, Product], command: EditOrder
) -> EditPlan:
    planned = [
        PlannedLine(
            line.id,
            line.sku,
            line.name,
            line.position,
            wanted[line.id] if wanted[line.id] > 0 else line.quantity,
            line.unit_price,
            line.quantity_fulfilled,
            line.quantity if wanted[line.id] == 0 else line.quantity_cancelled,
            removed=wanted[line.id] == 0,
        )
        for line in lines
    ]
    changes = [
        LineDiff(line.id, line.sku, line.quantity, wanted[line.id])
        for line in lines
        if wanted[line.id] != line.quantity
    ]
    on_order = {line.sku for line in lines}
    position = max((line.position for line in lines), default=-1)
    for request in command.add_lines:
        if request.sku in on_order:
            continue
        position += 1
        product = products[request.sku]
        planned.append(
            PlannedLine(None, request.sku, product.name, position, request.quantity, product.price)
        )
        changes.append(LineDiff(None, request.sku, 0, request.quantity))
    return EditPlan(tuple(planned), tuple(changes), command.shipping_address)

"""The fraud screen again, after an order changed in a way that can change its answer (where it
ships, what it comes to): the order's risk is the new assessment, and an order that now crosses
the threshold is held for an agent (HIGH_RISK_OF_FRAUD), its work stopped where it is. A screen
that says less never releases a hold: that stays an agent's call."""

from __future__ import annotations

from datetime import datetime

from ordergate.models.capture import FRAUD_SCREEN
from ordergate.models.fraud import Assessment, screen_again
from ordergate.models.geo import haversine_km
from ordergate.models.order import HoldReason, Order
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases.holds import place_hold
from ordergate.usecases.inventory import Destination, locate
from ordergate.usecases.services import Services


async def screen_after_change(services: Services, uow: UnitOfWork, order: Order, now: datetime) -> Assessment:
    """Screen the (locked) order as it stands now; hold it when it crosses the threshold."""
    address = order.shipping_address
    apart = None
    if order.bill_country_code and address is not None:
        here = locate(services, Destination(order.bill_country_code, order.bill_postal_code))
        there = locate(services, Destination.of(address))
        apart = haversine_km(here, there) if here is not None and there is not None else None
    codes = tuple(c for c in (order.bill_postal_code, address.postal_code if address else None) if c)
    placed_rules = (order.risk_reasons or "").split(",")
    risk = screen_again(placed_rules, order.total, order.email, apart, codes, services.policy.fraud)
    order.risk_score, order.risk_reasons = risk.score, ",".join(risk.rules) or None
    uow.save(order)
    if risk.held:
        holds = (await uow.orders.active_holds_by_order_ids([order.id])).get(order.id, [])
        if not any(hold.reason is HoldReason.HIGH_RISK_OF_FRAUD for hold in holds):
            note = f"fraud score {risk.score} after a change: {', '.join(risk.rules)}"
            await place_hold(uow, order, HoldReason.HIGH_RISK_OF_FRAUD, note, actor=FRAUD_SCREEN, now=now)
    return risk

"""Routing what-if: the figures of a period's orders under the policy in force and a proposed one."""

from __future__ import annotations

import strawberry

from ordergate.models.what_if import Kpis, Simulation
from ordergate.schema.types.common import Money, UserError
from ordergate.schema.types.network import RoutingPolicy


@strawberry.type(description="Orders a policy would refuse, by the code placeOrder would refuse them with.")
class RefusalCount:
    code: str = strawberry.field(description="SPLIT_LIMIT_EXCEEDED or INSUFFICIENT_STOCK.")
    orders: int


@strawberry.type(description="A location's part of the shipments.")
class NodeShare:
    location_code: str
    shipments: int
    share: float = strawberry.field(description="Its shipments / all shipments.")


@strawberry.type(
    description="The replayed orders' figures under one policy. A mean is null when nothing counts toward it."
)
class RoutingKpis:
    orders: int = strawberry.field(description="Orders replayed.")
    routed: int = strawberry.field(description="Orders the policy routes.")
    refused: list[RefusalCount] = strawberry.field(description="Orders it refuses, by reason.")
    split_rate: float | None = strawberry.field(
        description="Routed orders shipping from more than one location / routed orders."
    )
    shipments_per_order: float | None = strawberry.field(description="Shipments / routed orders.")
    shipping_cost_per_order: Money | None = strawberry.field(
        description="Routing's shipping cost estimate of the shipments / routed orders, to the cent."
    )
    distance_per_order_km: float | None = strawberry.field(
        description="Kilometres from each shipping location to the destination, summed per order, "
        "averaged over the routed orders whose destination was placed on the map."
    )
    distance_per_shipment_km: float | None = strawberry.field(
        description="The same kilometres averaged per shipment."
    )
    promise_days: float | None = strawberry.field(
        description="The slowest shipping location's handling and transit days, averaged per order."
    )
    node_shares: list[NodeShare] = strawberry.field(description="Shipments per location, most first.")
    different_from_recorded: int = strawberry.field(
        description="Orders that would ship from other locations (or be refused) than their recorded "
        "decision chose."
    )

    @classmethod
    def from_model(cls, kpis: Kpis, currency: str) -> RoutingKpis:
        cost = kpis.shipping_cost_per_order
        return cls(
            orders=kpis.orders,
            routed=kpis.routed,
            refused=[RefusalCount(code=code, orders=n) for code, n in kpis.refused.items()],
            split_rate=kpis.split_rate,
            shipments_per_order=kpis.shipments_per_order,
            shipping_cost_per_order=None if cost is None else Money.of(cost, currency),
            distance_per_order_km=kpis.distance_per_order_km,
            distance_per_shipment_km=kpis.distance_per_shipment_km,
            promise_days=kpis.promise_days,
            node_shares=[
                NodeShare(location_code=s.code, shipments=s.shipments, share=s.share) for s in kpis.shares
            ],
            different_from_recorded=kpis.different_from_recorded,
        )


@strawberry.type(description="Orders not replayed, by reason.")
class SkippedCount:
    reason: str = strawberry.field(
        description="PICKUP (collected where it was placed for: not routed), NOT_ROUTED (no decision: "
        "held or not routed yet) or NO_SNAPSHOT (decided before decisions kept what they saw, or "
        "from a cart hold)."
    )
    orders: int


@strawberry.type
class SimulateRoutingPayload:
    current_policy: RoutingPolicy | None = None
    current: RoutingKpis | None = strawberry.field(default=None, description="Under the policy in force.")
    proposed: RoutingKpis | None = strawberry.field(default=None, description="Under the proposed policy.")
    changed_orders: int | None = strawberry.field(
        default=None,
        description="Orders the proposed policy ships from other locations (or refuses, or routes) than "
        "the policy in force.",
    )
    skipped: int | None = strawberry.field(
        default=None, description="Orders placed in the period not replayed."
    )
    skipped_reasons: list[SkippedCount] = strawberry.field(default_factory=list)
    user_errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def from_model(cls, simulation: Simulation, currency: str) -> SimulateRoutingPayload:
        return cls(
            current_policy=RoutingPolicy.from_model(simulation.current_policy),
            current=RoutingKpis.from_model(simulation.current.kpis(), currency),
            proposed=RoutingKpis.from_model(simulation.proposed.kpis(), currency),
            changed_orders=simulation.changed,
            skipped=sum(simulation.skipped.values()),
            skipped_reasons=[
                SkippedCount(reason=reason, orders=n) for reason, n in sorted(simulation.skipped.items())
            ],
        )

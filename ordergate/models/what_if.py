"""Routing what-if: a recorded decision replayed under another policy, and the figures of both.

A decision keeps what routing saw (`snapshot`, under `inputs["network"]`): each candidate node
with its type, priority, distance, units of the order's SKUs it could sell, capacity left that
day and the capacity it is scored against, whether it could serve and why not, and its lead
days (handling and transit). `case_of` rebuilds the nodes from a record (None for a decision
recorded without them), `replay` routes them again under a policy, and a `Tally` sums the
outcomes up. Each order is replayed against the stock it saw: what an earlier order would
have left elsewhere under the other policy is not carried over.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ordergate.models.allocation import Want
from ordergate.models.location import LocationType
from ordergate.models.network_policy import RoutingPolicy
from ordergate.models.routing import Node, RoutingDecisionRecord, Weights, route

SNAPSHOT = "network"
SPLIT_LIMIT_EXCEEDED = "SPLIT_LIMIT_EXCEEDED"
INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
CENT = Decimal("0.01")


def snapshot(
    nodes: Sequence[Node], capacity_of: Mapping[str, int], channel: str | None, weights: Weights
) -> dict[str, Any]:
    """What a decision was made on, as JSON: enough to route it again (`case_of`)."""
    return {
        "channel": channel,
        "weights": [weights.distance, weights.cost, weights.capacity, weights.priority],
        "nodes": [
            {
                "id": n.location_id,
                "code": n.code,
                "type": n.type.value,
                "priority": n.priority,
                "km": n.distance_km,
                "available": dict(n.available),
                "left": n.capacity_left,
                "capacity": capacity_of.get(n.location_id, 1),
                "active": n.active,
                "eligible": n.eligible,
                "reason": n.ineligible_reason,
                "lead_days": n.lead_days,
            }
            for n in nodes
        ],
    }


@dataclass(frozen=True)
class Case:
    """One recorded decision, ready to be routed again."""

    order_id: str
    wants: tuple[Want, ...]
    nodes: tuple[Node, ...]
    capacity_of: Mapping[str, int]
    channel: str | None
    recorded: tuple[str, ...]  # the codes of the nodes it chose, sorted


def case_of(record: RoutingDecisionRecord) -> Case | None:
    """The decision as routing saw it, or None when it was recorded without what it saw (before
    decisions kept it, or the units a cart hold had set aside)."""
    seen = record.inputs.get(SNAPSHOT)
    lines = record.inputs.get("lines")
    if not isinstance(seen, dict) or not lines:
        return None
    nodes = tuple(
        Node(
            location_id=str(n["id"]),
            code=str(n["code"]),
            type=LocationType(n["type"]),
            priority=int(n["priority"]),
            distance_km=None if n["km"] is None else float(n["km"]),
            available={str(sku): int(units) for sku, units in dict(n["available"]).items()},
            capacity_left=int(n["left"]),
            active=bool(n["active"]),
            eligible=bool(n["eligible"]),
            ineligible_reason=n["reason"],
            lead_days=None if n["lead_days"] is None else int(n["lead_days"]),
        )
        for n in seen["nodes"]
    )
    return Case(
        order_id=record.order_id,
        wants=tuple(Want(str(sku), int(quantity)) for sku, quantity in lines),
        nodes=nodes,
        capacity_of={str(n["id"]): int(n["capacity"]) for n in seen["nodes"]},
        channel=seen.get("channel"),
        recorded=tuple(sorted(record.chosen)),
    )


@dataclass(frozen=True)
class Outcome:
    """Where a replayed order would ship from (node codes, sorted), or why it would be refused."""

    nodes: tuple[str, ...]
    refused: str | None
    cost: Decimal
    km: tuple[float | None, ...]  # per shipment, in `nodes` order
    lead_days: int | None  # of the slowest node (a full one's wait for room too), when every node's is known


def replay(case: Case, policy: RoutingPolicy) -> Outcome:
    decision = route(
        case.wants,
        case.nodes,
        max_split=policy.split_limit(case.channel),
        weights=policy.weights,
        capacity_of=case.capacity_of,
    )
    if decision.chosen is None:
        reason = SPLIT_LIMIT_EXCEEDED if decision.needs else INSUFFICIENT_STOCK
        return Outcome((), reason, Decimal(0), (), None)
    by_code = {n.code: n for n in case.nodes}
    used = sorted(decision.chosen.nodes)
    leads = [by_code[code].lead_days for code in used]
    waits = [decision.room.get(by_code[code].location_id, 0) for code in used]
    return Outcome(
        nodes=tuple(used),
        refused=None,
        cost=decision.chosen.cost,
        km=tuple(by_code[code].distance_km for code in used),
        lead_days=None
        if any(d is None for d in leads)
        else max(d + w for d, w in zip(leads, waits, strict=True) if d is not None),
    )


@dataclass(frozen=True)
class NodeShare:
    code: str
    shipments: int
    share: float


@dataclass(frozen=True)
class Kpis:
    """The figures of the orders replayed under one policy. A mean is None when nothing counts
    toward it."""

    orders: int
    routed: int
    refused: Mapping[str, int]
    split_rate: float | None  # routed orders shipping from more than one node / routed orders
    shipments_per_order: float | None
    shipping_cost_per_order: Decimal | None
    distance_per_order_km: float | None  # over the orders whose every shipment's distance is known
    distance_per_shipment_km: float | None
    promise_days: float | None  # the slowest node's lead days, over the orders where it is known
    shares: tuple[NodeShare, ...]  # shipments per node, most first
    different_from_recorded: int  # orders shipping from other nodes than the decision chose


@dataclass
class Tally:
    """Outcomes under one policy, summed as they come (a period is replayed in batches)."""

    orders: int = 0
    routed: int = 0
    split: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    shipments: Counter[str] = field(default_factory=Counter)
    cost: Decimal = Decimal(0)
    order_km: list[float] = field(default_factory=list)
    shipment_km: list[float] = field(default_factory=list)
    lead_days: list[int] = field(default_factory=list)
    different: int = 0

    def add(self, case: Case, outcome: Outcome) -> None:
        self.orders += 1
        self.different += outcome.nodes != case.recorded
        if outcome.refused is not None:
            self.refused[outcome.refused] += 1
            return
        self.routed += 1
        self.split += len(outcome.nodes) > 1
        self.shipments.update(outcome.nodes)
        self.cost += outcome.cost
        known = [km for km in outcome.km if km is not None]
        self.shipment_km.extend(known)
        if len(known) == len(outcome.km):
            self.order_km.append(sum(known))
        if outcome.lead_days is not None:
            self.lead_days.append(outcome.lead_days)

    def kpis(self) -> Kpis:
        routed = self.routed or None
        shipments = sum(self.shipments.values())
        return Kpis(
            orders=self.orders,
            routed=self.routed,
            refused=dict(sorted(self.refused.items())),
            split_rate=None if routed is None else self.split / routed,
            shipments_per_order=None if routed is None else shipments / routed,
            shipping_cost_per_order=None
            if routed is None
            else (self.cost / routed).quantize(CENT, rounding=ROUND_HALF_UP),
            distance_per_order_km=_mean(self.order_km),
            distance_per_shipment_km=_mean(self.shipment_km),
            promise_days=_mean([float(d) for d in self.lead_days]),
            shares=tuple(
                NodeShare(code, count, count / shipments)
                for code, count in sorted(self.shipments.items(), key=lambda item: (-item[1], item[0]))
            ),
            different_from_recorded=self.different,
        )


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


@dataclass
class Simulation:
    """The same orders replayed under the policy in force and under the proposed one."""

    current_policy: RoutingPolicy
    proposed_policy: RoutingPolicy
    current: Tally = field(default_factory=Tally)
    proposed: Tally = field(default_factory=Tally)
    changed: int = 0  # orders the proposed policy ships from other nodes than the current one
    skipped: Counter[str] = field(default_factory=Counter)

    def add(self, case: Case) -> None:
        now, then = replay(case, self.current_policy), replay(case, self.proposed_policy)
        self.current.add(case, now)
        self.proposed.add(case, then)
        self.changed += (now.nodes, now.refused) != (then.nodes, then.refused)

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

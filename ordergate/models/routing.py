"""Routing: which nodes serve an order, and why.

Hard filters first (active, ships or offers pickup, serves the channel, has capacity today,
has stock); then plans with as few nodes as can serve the cart, and, up to `max_split` nodes,
plans with more nodes that score better than the best of those (and take no node that could
ship the cart alone): each line whole from one node where one of them has it, else spread
over them. A plan's score is the mean of its nodes'
scores plus SPLIT_PENALTY per node past the first, so one node wins unless splitting is
markedly nearer or cheaper (one node across the country against two nearby). A split size is
not tried when even its best possible score (its best nodes' mean plus its penalty) cannot beat
the plans already found, so an order that one good node serves costs no more to route. When
only a plan with more nodes than `max_split` would serve, the decision says which (`needs`).
Every node is scored on distance to the destination, shipping cost, capacity left today and
network priority (lower score is better), with deterministic tie-breaks, and every candidate
keeps its score or the reasons it was excluded.

A node that has used up today's capacity is passed over while nodes with room can serve the
cart; when only plans that take from full nodes would, the one that starts soonest is chosen,
and each full node in it starts on its next day with room (`Decision.room`: how many days that
is, from how far past its capacity today's orders already are). Stock on a shelf is sold later
rather than refused, and no node with room loses an order to a full one.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from ordergate.models.allocation import Plan, PlanLine, Want
from ordergate.models.errors import Problem
from ordergate.models.ids import new_id
from ordergate.models.location import LocationType

# Per-parcel shipping cost by node type, plus a distance component (a cost table until
# carrier rate estimates feed it).
BASE_COST: dict[LocationType, Decimal] = {
    LocationType.DISTRIBUTION_CENTER: Decimal("6.00"),
    LocationType.STORE: Decimal("8.50"),
    LocationType.DROP_SHIP_VENDOR: Decimal("11.00"),
}
COST_PER_KM = Decimal("0.0025")
UNKNOWN_DISTANCE_KM = 2500.0
MAX_CANDIDATES_FOR_SPLITS = 8
SPLIT_PENALTY = 0.25  # per node past the first


@dataclass(frozen=True)
class Weights:
    distance: float = 0.4
    cost: float = 0.3
    capacity: float = 0.2
    priority: float = 0.1


@dataclass(frozen=True)
class Node:
    location_id: str
    code: str
    type: LocationType
    priority: int
    distance_km: float | None
    available: Mapping[str, int]
    capacity_left: int
    active: bool = True
    eligible: bool = True  # ships (or offers pickup) and serves the channel
    ineligible_reason: str | None = None
    lead_days: int | None = None  # handling and transit to the destination, when known

    @functools.cached_property  # read several times per decision; a node is made per decision
    def shipping_cost(self) -> Decimal:
        distance = Decimal(str(self.distance_km if self.distance_km is not None else UNKNOWN_DISTANCE_KM))
        return (BASE_COST[self.type] + COST_PER_KM * distance).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Evaluation:
    location_id: str
    code: str
    score: float | None
    excluded: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class ScoredPlan:
    plan: Plan
    score: float
    cost: Decimal
    nodes: tuple[str, ...]

    @property
    def split_count(self) -> int:
        return len(self.nodes)


@dataclass(frozen=True)
class Decision:
    chosen: ScoredPlan | None
    plans: tuple[ScoredPlan, ...]
    evaluations: tuple[Evaluation, ...]
    max_split: int
    inputs: dict[str, object] = field(default_factory=dict)
    # When no plan fits within max_split but one with more nodes would: that plan's nodes.
    needs: tuple[str, ...] = ()
    # Full nodes the plans may take from: days until each has room (its promise moves by them).
    room: Mapping[str, int] = field(default_factory=dict)


NO_CAPACITY = "no capacity left today"


def days_until_room(capacity_left: int, capacity: int) -> int:
    """Days before a node starts on an order taken now: 0 while it has capacity left today, else
    one more day for each full day's capacity its queue from today on is already past it."""
    if capacity_left > 0:
        return 0
    return (max(1, capacity) - capacity_left) // max(1, capacity)


def _exclusions(node: Node, wants: Sequence[Want], *, full_ok: bool = False) -> list[str]:
    reasons: list[str] = []
    if not node.active:
        reasons.append("inactive")
    if not node.eligible:
        reasons.append(node.ineligible_reason or "cannot serve this order")
    if node.capacity_left <= 0 and not full_ok:
        reasons.append(NO_CAPACITY)
    if not any(node.available.get(w.sku, 0) > 0 for w in wants):
        reasons.append("no stock of " + ", ".join(w.sku for w in wants))
    return reasons


def _node_score(node: Node, weights: Weights, capacity_of: Mapping[str, int], top_priority: int) -> float:
    distance = (node.distance_km if node.distance_km is not None else UNKNOWN_DISTANCE_KM) / 4000.0
    cost = float(node.shipping_cost) / 25.0
    capacity = 1.0 / (1.0 + max(0, node.capacity_left) / max(1, capacity_of.get(node.location_id, 1)))
    priority = (top_priority - node.priority) / max(1, top_priority)
    return round(
        weights.distance * distance
        + weights.cost * cost
        + weights.capacity * capacity
        + weights.priority * priority,
        6,
    )


def _assign(wants: Sequence[Want], nodes: Sequence[Node]) -> Plan | None:
    """Each line whole from the first node (in the given order) that still covers it; a line no
    node covers whole is spread over the nodes in that order. None when the nodes together do
    not hold the cart."""
    skus = {w.sku for w in wants}  # what is left of the cart's SKUs only: a node may list many more
    left = {n.location_id: {sku: n.available.get(sku, 0) for sku in skus} for n in nodes}
    lines: list[PlanLine] = []
    for want in wants:
        whole = next((n for n in nodes if left[n.location_id].get(want.sku, 0) >= want.quantity), None)
        sources = [whole] if whole is not None else list(nodes)
        needed = want.quantity
        for node in sources:
            take = min(needed, left[node.location_id].get(want.sku, 0))
            if take > 0:
                lines.append(PlanLine(want.sku, node.location_id, take))
                left[node.location_id][want.sku] -= take
                needed -= take
            if needed == 0:
                break
        if needed > 0:
            return None
    return Plan(_merged(lines))


def _merged(lines: Sequence[PlanLine]) -> tuple[PlanLine, ...]:
    """One plan line per (SKU, node), in the order first met."""
    totals: dict[tuple[str, str], int] = {}
    for line in lines:
        totals[(line.sku, line.location_id)] = totals.get((line.sku, line.location_id), 0) + line.quantity
    return tuple(PlanLine(sku, location_id, quantity) for (sku, location_id), quantity in totals.items())


def _with_splits(
    plans: list[ScoredPlan],
    pool: Sequence[Node],
    pool_scores: Sequence[float],
    scored: Callable[[Sequence[Node]], ScoredPlan | None],
    max_split: int,
) -> tuple[list[ScoredPlan], tuple[str, ...]]:
    """`plans` (single-node ones) and, size by size over the `pool` (in score order, its scores
    ascending): while there is no plan yet, every plan of the size (within `max_split`), and
    then, up to `max_split`, those with more nodes that score better than the best plan with
    the fewest. A size whose best possible score (its best nodes' mean plus its penalty) cannot
    beat that ends the search: larger ones cannot either. A plan is not listed when some of its
    nodes alone make a plan at least as good (a node it takes a line from needlessly, as the
    greedy assignment may). With no plan within `max_split`, the nodes of the best plan beyond
    it (`needs`), when there is one."""
    best = min((p.score for p in plans), default=None)
    smaller: list[ScoredPlan] = []  # every plan of the sizes searched so far, listed or not
    for size in range(2, len(pool) + 1):
        if best is not None:
            floor = round(sum(pool_scores[:size]) / size + SPLIT_PENALTY * (size - 1), 6)
            if size > max_split or floor >= best:
                break
        found = [p for p in (scored(group) for group in itertools.combinations(pool, size)) if p is not None]
        found, smaller = [p for p in found if not _needless(p, smaller)], smaller + found
        if best is not None:
            plans = plans + [p for p in found if p.score < best]
        elif size <= max_split:
            plans = found
            best = min((p.score for p in plans), default=None)
        elif found:  # beyond the limit: not a plan, but what would work
            return [], min(found, key=lambda p: (p.score, p.nodes)).nodes
    return plans, ()


def _needless(plan: ScoredPlan, smaller: Sequence[ScoredPlan]) -> bool:
    """Whether a plan on some of `plan`'s nodes scores at least as well: then `plan` ships from
    more nodes for nothing."""
    nodes = set(plan.nodes)
    return any(other.score <= plan.score and set(other.nodes) < nodes for other in smaller)


def route(
    wants: Sequence[Want],
    nodes: Sequence[Node],
    *,
    max_split: int = 2,
    weights: Weights | None = None,
    capacity_of: Mapping[str, int] | None = None,
) -> Decision:
    """The best plan over the nodes with capacity left today; when none serves the cart, the
    plan that also takes from full nodes and starts soonest (then the best scored), its full
    nodes starting on their next day with room."""
    weights = weights or Weights()
    capacity_of = capacity_of or {n.location_id: max(1, n.capacity_left) for n in nodes}
    decision = _route(wants, nodes, max_split, weights, capacity_of, full_ok=False)
    full = [n for n in nodes if n.capacity_left <= 0 and not _exclusions(n, wants, full_ok=True)]
    if decision.chosen is not None or not full:
        return decision
    fallback = _route(wants, nodes, max_split, weights, capacity_of, full_ok=True)
    if fallback.chosen is None:
        return decision
    room = {n.location_id: days_until_room(n.capacity_left, capacity_of.get(n.location_id, 1)) for n in full}
    # Among plans that wait for room, the one that starts soonest: a wait of days outweighs
    # any distance or cost the scores weigh.
    plans = sorted(
        fallback.plans,
        key=lambda p: (max(room.get(loc, 0) for loc in p.plan.locations), p.score, p.split_count, p.nodes),
    )
    taken = set(plans[0].plan.locations)
    evaluations = tuple(
        dataclasses.replace(
            e, reasons=(_full_reason(room[e.location_id], e.location_id in taken), *e.reasons)
        )
        if e.location_id in room
        else e
        for e in fallback.evaluations
    )
    return dataclasses.replace(
        fallback, chosen=plans[0], plans=tuple(plans), evaluations=evaluations, room=room
    )


def insufficient(wants: Sequence[Want], held: Mapping[str, int], verb: str) -> list[Problem]:
    """INSUFFICIENT_STOCK for each line asking for more units than `held` has of its SKU (what
    the nodes that may serve hold of it together; a SKU not in it: none). No plan can serve a
    cart with such a line, however it is split."""
    return [
        Problem(
            "INSUFFICIENT_STOCK",
            f"not enough {want.sku} to {verb} {want.quantity}",
            ("lines", str(i), "quantity"),
        )
        for i, want in enumerate(wants)
        if held.get(want.sku, 0) < want.quantity
    ]


def _full_reason(days: int, taken: bool) -> str:
    later = f"{days} working day{'s' if days != 1 else ''} later"
    if taken:
        return (
            f"{NO_CAPACITY}: no node with room can serve the order, so it is taken here and started {later}"
        )
    return f"{NO_CAPACITY}: it would start {later}"


def _route(
    wants: Sequence[Want],
    nodes: Sequence[Node],
    max_split: int,
    weights: Weights,
    capacity_of: Mapping[str, int],
    *,
    full_ok: bool,
) -> Decision:
    top_priority = max((n.priority for n in nodes), default=0)
    evaluations: dict[str, Evaluation] = {}
    eligible: list[Node] = []
    scores: dict[str, float] = {}
    for node in sorted(nodes, key=lambda n: n.code):
        reasons = _exclusions(node, wants, full_ok=full_ok)
        if reasons:
            evaluations[node.location_id] = Evaluation(
                node.location_id, node.code, None, True, tuple(reasons)
            )
            continue
        scores[node.location_id] = _node_score(node, weights, capacity_of, top_priority)
        eligible.append(node)

    def scored(group: Sequence[Node]) -> ScoredPlan | None:
        ranked = sorted(group, key=lambda n: (scores[n.location_id], n.code))
        plan = _assign(wants, ranked)
        if plan is None or len(plan.locations) != len(group):
            return None
        used = [n for n in ranked if n.location_id in plan.locations]
        score = round(
            sum(scores[n.location_id] for n in used) / len(used) + SPLIT_PENALTY * (len(used) - 1), 6
        )
        return ScoredPlan(
            plan, score, sum((n.shipping_cost for n in used), Decimal(0)), tuple(n.code for n in used)
        )

    singles = [p for p in (scored([n]) for n in eligible) if p is not None]
    # A node that ships the cart alone is in no split: its own plan ships less, and no farther.
    whole = {code for p in singles for code in p.nodes}
    pool = sorted(
        (n for n in eligible if n.code not in whole), key=lambda n: (scores[n.location_id], n.code)
    )[:MAX_CANDIDATES_FOR_SPLITS]
    plans, needs = _with_splits(singles, pool, [scores[n.location_id] for n in pool], scored, max_split)
    plans.sort(key=lambda p: (p.score, p.split_count, p.nodes))
    in_a_plan = {code for p in plans for code in p.nodes}
    for node in eligible:
        if node.code in in_a_plan:
            evaluations[node.location_id] = Evaluation(
                node.location_id, node.code, scores[node.location_id], False, ()
            )
            continue
        covers = [w.sku for w in wants if node.available.get(w.sku, 0) >= w.quantity]
        reason = (
            f"covers only {', '.join(covers)}, and a plan with fewer splits exists"
            if covers
            else "not enough of any line"
        )
        evaluations[node.location_id] = Evaluation(
            node.location_id, node.code, scores[node.location_id], True, (reason,)
        )
    return Decision(
        chosen=plans[0] if plans else None,
        plans=tuple(plans),
        evaluations=tuple(
            sorted(evaluations.values(), key=lambda e: (e.score is None, e.score or 0, e.code))
        ),
        max_split=max_split,
        inputs={"lines": [(w.sku, w.quantity) for w in wants], "max_split": max_split},
        needs=needs,
    )


@dataclass(kw_only=True, eq=False)
class RoutingDecisionRecord:
    """A routing decision as it was made: every candidate's score or exclusion reasons, and
    the inputs, so an agent can answer "why did this ship from there?"."""

    id: str = field(default_factory=new_id)
    order_id: str
    decided_at: datetime
    chosen: list[str] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, order_id: str, decision: Decision, decided_at: datetime) -> RoutingDecisionRecord:
        return cls(
            order_id=order_id,
            decided_at=decided_at,
            chosen=list(decision.chosen.nodes) if decision.chosen else [],
            candidates=[
                {
                    "location_id": e.location_id,
                    "code": e.code,
                    "score": e.score,
                    "excluded": e.excluded,
                    "reasons": list(e.reasons),
                }
                for e in decision.evaluations
            ],
            inputs=dict(decision.inputs),
        )

    @classmethod
    def from_hold(
        cls, order_id: str, plan: Plan, codes: Mapping[str, str], reservation_id: str, decided_at: datetime
    ) -> RoutingDecisionRecord:
        """An order placed from a cart hold goes where the hold was routed: that is its decision."""
        reason = f"held these units for the cart (reservation {reservation_id})"
        return cls(
            order_id=order_id,
            decided_at=decided_at,
            chosen=sorted(codes[location_id] for location_id in plan.locations),
            candidates=[
                {
                    "location_id": loc,
                    "code": codes[loc],
                    "score": None,
                    "excluded": False,
                    "reasons": [reason],
                }
                for loc in plan.locations
            ],
            inputs={
                "lines": [(line.sku, line.quantity) for line in plan.lines],
                "reservation_id": reservation_id,
            },
        )

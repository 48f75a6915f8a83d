"""The routing policy as staff read it and admins set it."""

from __future__ import annotations

from datetime import datetime

import strawberry

from ordergate.models.network_policy import RoutingPolicy as PolicyRecord
from ordergate.models.routing import Weights


@strawberry.type(description="How routing weighs a node: each 0 or more, at least one above 0.")
class RoutingWeights:
    distance: float
    cost: float
    capacity: float
    priority: float


@strawberry.type
class ChannelSplitLimit:
    channel: str
    limit: int


@strawberry.type(
    description="How orders are routed: the weights and how many nodes an order may ship from. Set "
    "through setRoutingPolicy, it holds at the next decision on every replica; version 0 is the settings'."
)
class RoutingPolicy:
    weights: RoutingWeights
    max_split: int
    split_limits: list[ChannelSplitLimit]
    version: int
    updated_by: str | None
    updated_at: datetime | None

    @classmethod
    def from_model(cls, policy: PolicyRecord) -> RoutingPolicy:
        w = policy.weights
        return cls(
            weights=RoutingWeights(
                distance=w.distance, cost=w.cost, capacity=w.capacity, priority=w.priority
            ),
            max_split=policy.max_split,
            split_limits=[
                ChannelSplitLimit(channel=c, limit=n) for c, n in sorted(policy.split_limits.items())
            ],
            version=policy.version,
            updated_by=policy.updated_by,
            updated_at=policy.updated_at,
        )


@strawberry.input
class RoutingWeightsInput:
    distance: float
    cost: float
    capacity: float
    priority: float

    def to_weights(self) -> Weights:
        return Weights(distance=self.distance, cost=self.cost, capacity=self.capacity, priority=self.priority)


@strawberry.input
class ChannelSplitLimitInput:
    channel: str
    limit: int


@strawberry.input(description="The whole policy: what is left out is not kept.")
class SetRoutingPolicyInput:
    weights: RoutingWeightsInput
    max_split: int
    split_limits: list[ChannelSplitLimitInput] = strawberry.field(default_factory=list)

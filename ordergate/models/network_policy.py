"""The routing policy as data: how routing weighs nodes and how many an order may ship from,
set by admins through the API and read by every replica at each decision (no restart)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ordergate.models.errors import Problem, ValidationFailed
from ordergate.models.routing import Weights

MAX_SPLIT = 10  # nodes one order may ship from, at most, whatever a policy says
MAX_CHANNELS = 50


@dataclass(frozen=True)
class RoutingPolicy:
    weights: Weights
    max_split: int  # where a channel has no limit of its own
    split_limits: Mapping[str, int] = field(default_factory=dict)  # per channel
    version: int = 0
    updated_by: str | None = None
    updated_at: datetime | None = None

    def split_limit(self, channel: str | None) -> int:
        return self.split_limits.get(channel or "", self.max_split)


def check_policy(weights: Weights, max_split: int, split_limits: Mapping[str, int]) -> None:
    """INVALID_WEIGHT for a weight that is negative or not finite, or all of them zero;
    INVALID_SPLIT_LIMIT for a limit outside 1 to MAX_SPLIT or an empty channel name."""
    problems = []
    named = {"distance": weights.distance, "cost": weights.cost, "capacity": weights.capacity}
    named["priority"] = weights.priority
    for name, value in named.items():
        if not math.isfinite(value) or value < 0:
            problems.append(
                Problem("INVALID_WEIGHT", "a weight is a finite number, 0 or more", ("weights", name))
            )
    if not problems and sum(named.values()) <= 0:
        problems.append(Problem("INVALID_WEIGHT", "at least one weight must be above 0", ("weights",)))
    if not 1 <= max_split <= MAX_SPLIT:
        problems.append(Problem("INVALID_SPLIT_LIMIT", f"a split limit is 1 to {MAX_SPLIT}", ("max_split",)))
    if len(split_limits) > MAX_CHANNELS:
        problems.append(Problem("INVALID_SPLIT_LIMIT", f"at most {MAX_CHANNELS} channels", ("split_limits",)))
    for index, (channel, limit) in enumerate(split_limits.items()):
        if not channel.strip() or not 1 <= limit <= MAX_SPLIT:
            message = f"a channel's split limit names the channel and is 1 to {MAX_SPLIT}"
            problems.append(Problem("INVALID_SPLIT_LIMIT", message, ("split_limits", str(index))))
    if problems:
        raise ValidationFailed(problems)

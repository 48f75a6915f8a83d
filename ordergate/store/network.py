"""The routing policy row: read at each routing decision, replaced whole by an admin."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.models.network_policy import RoutingPolicy
from ordergate.models.routing import Weights
from ordergate.store import tables
from ordergate.store.audit import changed

ROW = "network"


class NetworkRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def routing_policy(self, *, lock: bool = False) -> RoutingPolicy | None:
        """The policy set through the API, or None (the settings' policy holds)."""
        row = (await self.session.execute(_policy(lock))).mappings().first()
        if row is None:
            return None
        weights = {str(k): float(v) for k, v in dict(row["weights"]).items()}
        return RoutingPolicy(
            weights=Weights(**weights),
            max_split=int(row["max_split"]),
            split_limits={str(k): int(v) for k, v in dict(row["split_limits"]).items()},
            version=int(row["version"]),
            updated_by=str(row["updated_by"]),
            updated_at=row["updated_at"],
        )

    async def save_routing_policy(self, policy: RoutingPolicy, *, by: str, at: datetime) -> RoutingPolicy:
        """Replace the policy whole; its version grows by one."""
        current = await self.routing_policy(lock=True)
        version = (current.version if current else 0) + 1
        values = {
            "weights": {
                "distance": policy.weights.distance,
                "cost": policy.weights.cost,
                "capacity": policy.weights.capacity,
                "priority": policy.weights.priority,
            },
            "max_split": policy.max_split,
            "split_limits": dict(policy.split_limits),
            "version": version,
            "updated_by": by,
            "updated_at": at,
        }
        before: dict[str, Any] = {}
        if current is not None:
            before = {"weights": vars(current.weights), "max_split": current.max_split}
            before["split_limits"] = dict(current.split_limits)
        for name in ("weights", "max_split", "split_limits"):
            changed(self.session, "RoutingPolicy", ROW, name, before.get(name), values[name])
        if current is None:
            await self.session.execute(sa.insert(tables.routing_policy).values(id=ROW, **values))
        else:
            await self.session.execute(
                sa.update(tables.routing_policy).where(tables.routing_policy.c.id == ROW).values(**values)
            )
        return RoutingPolicy(policy.weights, policy.max_split, dict(policy.split_limits), version, by, at)


@functools.cache
def _policy(lock: bool) -> sa.Select[Any]:
    """`routing_policy`'s statement, built once per process: every placement reads it."""
    query = sa.select(tables.routing_policy).where(tables.routing_policy.c.id == ROW)
    return query.with_for_update() if lock else query

"""The network's configuration through the API: the routing policy (admins), effective at the
next decision on every replica, since each decision reads it; every change is audited."""

from __future__ import annotations

from collections.abc import Mapping

from ordergate.models.errors import Forbidden
from ordergate.models.identity import Permission, Principal
from ordergate.models.network_policy import RoutingPolicy, check_policy
from ordergate.models.routing import Weights
from ordergate.usecases.services import Services


async def routing_policy(services: Services, principal: Principal) -> RoutingPolicy:
    """The policy in force: the one set through the API, else the settings' (version 0)."""
    if not principal.can(Permission.READ_ALL_ORDERS):
        raise Forbidden("only staff read the routing policy")
    async with services.store.read() as uow:
        stored = await uow.network.routing_policy()
    return stored or RoutingPolicy(Weights(), services.policy.max_split, dict(services.policy.split_limits))


async def set_routing_policy(
    services: Services,
    principal: Principal,
    weights: Weights,
    max_split: int,
    split_limits: Mapping[str, int],
) -> RoutingPolicy:
    if not principal.can(Permission.MANAGE_NETWORK):
        raise Forbidden("only admins change the routing policy")
    check_policy(weights, max_split, split_limits)
    policy = RoutingPolicy(weights, max_split, {k.strip(): v for k, v in split_limits.items()})
    async with services.store.write() as uow:
        return await uow.network.save_routing_policy(policy, by=principal.subject, at=services.clock())

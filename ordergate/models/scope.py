"""Which orders a caller may see: the same rule for reads, lists, counts and subscriptions."""

from __future__ import annotations

from dataclasses import dataclass

from ordergate.models.identity import Permission, Principal


@dataclass(frozen=True)
class OrderScope:
    everything: bool = False
    email: str | None = None
    location_codes: tuple[str, ...] = ()

    @property
    def nothing(self) -> bool:
        return not self.everything and self.email is None and not self.location_codes


def order_scope(principal: Principal) -> OrderScope:
    if principal.can(Permission.READ_ALL_ORDERS):
        return OrderScope(everything=True)
    if principal.can(Permission.READ_OWN_ORDERS) and principal.email:
        return OrderScope(email=principal.email.strip().lower())
    if principal.can(Permission.READ_LOCATION_ORDERS) and principal.locations:
        return OrderScope(location_codes=principal.locations)
    return OrderScope()

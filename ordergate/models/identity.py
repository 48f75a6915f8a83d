"""Who is calling and what each role may do, as a table."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    STOREFRONT = "storefront"
    CUSTOMER = "customer"
    ASSOCIATE = "associate"
    AGENT = "agent"
    ADMIN = "admin"


class Permission(StrEnum):
    READ_CATALOG = "read_catalog"
    READ_LOCATIONS = "read_locations"
    PLACE_ORDER = "place_order"
    READ_OWN_ORDERS = "read_own_orders"
    READ_LOCATION_ORDERS = "read_location_orders"
    READ_ALL_ORDERS = "read_all_orders"
    READ_CUSTOMERS = "read_customers"
    READ_ORDER_COUNTS = "read_order_counts"
    SUBSCRIBE_ALL_ORDERS = "subscribe_all_orders"
    MANAGE_HOLDS = "manage_holds"
    FULFIL = "fulfil"
    ROUTE_ORDERS = "route_orders"
    CANCEL_OWN_ORDERS = "cancel_own_orders"  # units nobody has started on yet
    CANCEL_ORDERS = "cancel_orders"  # any unit not yet shipped or handed over
    REQUEST_RETURNS = "request_returns"  # their own orders, within the return window
    MANAGE_RETURNS = "manage_returns"  # approve, decline, receive; request for anyone, any time
    MANAGE_WEBHOOKS = "manage_webhooks"
    EDIT_OWN_ORDERS = "edit_own_orders"  # unstarted units, within the policy's edit window
    EDIT_ORDERS = "edit_orders"  # unstarted units of any open order
    ISSUE_APPEASEMENTS = "issue_appeasements"  # goodwill refunds, up to the role's limit
    MANAGE_CATALOG = "manage_catalog"  # what may be sold beyond the units on hand
    ANNOTATE = "annotate"  # staff notes and tags on what the caller may see
    READ_AUDIT = "read_audit"  # the audit trail: who changed what
    MANAGE_NETWORK = "manage_network"  # the routing policy (admins)
    MANAGE_CUSTOMERS = "manage_customers"  # a customer's email preferences
    READ_METRICS = "read_metrics"  # network KPIs over every order
    READ_STAFF_EVENTS = "read_staff_events"  # staff-only events, on timelines and subscriptions


_EVERYONE = {Permission.READ_CATALOG, Permission.READ_LOCATIONS}

GRANTS: dict[Role, frozenset[Permission]] = {
    Role.STOREFRONT: frozenset(_EVERYONE | {Permission.PLACE_ORDER}),
    Role.CUSTOMER: frozenset(
        _EVERYONE
        | {
            Permission.PLACE_ORDER,
            Permission.READ_OWN_ORDERS,
            Permission.CANCEL_OWN_ORDERS,
            Permission.REQUEST_RETURNS,
            Permission.EDIT_OWN_ORDERS,
        }
    ),
    Role.ASSOCIATE: frozenset(
        _EVERYONE
        | {
            Permission.READ_LOCATION_ORDERS,
            Permission.FULFIL,
            Permission.ANNOTATE,
            Permission.READ_STAFF_EVENTS,
        }
    ),
    Role.AGENT: frozenset(
        _EVERYONE
        | {
            Permission.PLACE_ORDER,
            Permission.READ_ALL_ORDERS,
            Permission.READ_CUSTOMERS,
            Permission.READ_ORDER_COUNTS,
            Permission.SUBSCRIBE_ALL_ORDERS,
            Permission.MANAGE_HOLDS,
            Permission.FULFIL,
            Permission.ROUTE_ORDERS,
            Permission.CANCEL_ORDERS,
            Permission.EDIT_ORDERS,
            Permission.MANAGE_RETURNS,
            Permission.ISSUE_APPEASEMENTS,
            Permission.ANNOTATE,
            Permission.READ_AUDIT,
            Permission.MANAGE_CUSTOMERS,
            Permission.READ_METRICS,
            Permission.READ_STAFF_EVENTS,
        }
    ),
    Role.ADMIN: frozenset(Permission),
}


@dataclass(frozen=True)
class Principal:
    """An authenticated caller, from a verified token."""

    subject: str
    role: Role
    email: str | None = None
    locations: tuple[str, ...] = ()

    def can(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]

    @property
    def sees_all_orders(self) -> bool:
        return self.can(Permission.READ_ALL_ORDERS)

    def works_at(self, location_code: str) -> bool:
        """Staff who see every order work everywhere; an associate works at their locations."""
        return self.sees_all_orders or location_code in self.locations

    def owns_email(self, email: str | None) -> bool:
        return (
            self.role is Role.CUSTOMER
            and self.email is not None
            and email is not None
            and self.email.casefold() == email.casefold()
        )

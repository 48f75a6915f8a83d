"""Small builders for test data and callers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from ordergate.auth import mint_token
from ordergate.models.identity import Role
from ordergate.settings import Settings

SETTINGS = Settings()


def a_token(
    role: Role | str,
    *,
    email: str | None = None,
    locations: tuple[str, ...] = (),
    subject: str | None = None,
    now: datetime | None = None,
    ttl_seconds: int | None = None,
    settings: Settings = SETTINGS,
) -> str:
    role = Role(role)
    if role is Role.CUSTOMER and email is None:
        email = "ann@example.com"
    return mint_token(
        settings,
        role=role,
        now=now or datetime.now(UTC),
        subject=subject or f"{role.value}-test",
        email=email,
        locations=locations,
        ttl_seconds=ttl_seconds,
    )


def an_address(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Ann Lee",
        "line1": "500 Congress Ave",
        "city": "Austin",
        "region": "TX",
        "postalCode": "78701",
        "countryCode": "US",
        **overrides,
    }


def a_line(sku: str = "MUG-BLUE", quantity: int = 2) -> dict[str, Any]:
    return {"sku": sku, "quantity": quantity}


def an_order_input(**overrides: Any) -> dict[str, Any]:
    """A valid PlaceOrderInput (contract field names), shipped to Austin, TX."""
    order: dict[str, Any] = {
        "idempotencyKey": f"key-{uuid.uuid4()}",
        "channel": "web",
        "customer": {"email": "ann@example.com", "firstName": "Ann", "lastName": "Lee"},
        "lines": [a_line("MUG-BLUE", 2), a_line("KNIFE-CHEF-8", 1)],
        "deliveryMethod": "SHIP",
        "shippingAddress": an_address(),
    }
    order.update(overrides)
    return order

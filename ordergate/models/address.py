"""The one postal address: where an order ships, where a node ships from and takes returns,
what a storefront or a carrier sends us. Every layer speaks it; each connector maps it to its
vendor's shape, and the store keeps an order's in its own columns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Address:
    name: str
    line1: str
    city: str
    postal_code: str
    country_code: str
    line2: str | None = None
    region: str | None = None
    phone: str | None = None
    company: str | None = None

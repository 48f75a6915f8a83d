"""The local catalogue: what can be sold, at what price."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from ordergate.models.errors import Problem
from ordergate.models.ids import new_id
from ordergate.models.supply import ProductPolicy, SellingPolicy


@dataclass(kw_only=True, eq=False)
class Product:
    id: str = field(default_factory=new_id)
    sku: str
    name: str
    price: Decimal
    currency: str
    active: bool = True
    returnable: bool = True
    selling_policy: SellingPolicy = SellingPolicy.ON_HAND
    release_on: date | None = None  # a pre-order's release date
    policy_channels: list[str] = field(default_factory=list)  # empty: the policy holds in every channel
    created_at: datetime
    updated_at: datetime

    @property
    def policy(self) -> ProductPolicy:
        return ProductPolicy(self.selling_policy, self.release_on, tuple(self.policy_channels))


def check_sellable(sku: str, product: Product | None, currency: str, path: tuple[str, ...]) -> list[Problem]:
    """Why `sku` cannot go on an order in `currency`, addressed to `path`; empty when it can."""
    if product is None:
        return [Problem("UNKNOWN_SKU", f"no product has SKU {sku}", path)]
    if not product.active:
        return [Problem("PRODUCT_UNAVAILABLE", f"{sku} is not for sale", path)]
    if product.currency != currency:
        return [Problem("CURRENCY_MISMATCH", f"{sku} is priced in {product.currency}", path)]
    return []

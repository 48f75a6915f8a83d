"""The local catalogue: what can be sold, at what price."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ordergate.models.errors import Problem
from ordergate.models.ids import new_id


@dataclass(kw_only=True, eq=False)
class Product:
    id: str = field(default_factory=new_id)
    sku: str
    name: str
    price: Decimal
    currency: str
    active: bool = True
    returnable: bool = True
    created_at: datetime
    updated_at: datetime


def check_sellable(sku: str, product: Product | None, currency: str, path: tuple[str, ...]) -> list[Problem]:
    """Why `sku` cannot go on an order in `currency`, addressed to `path`; empty when it can."""
    if product is None:
        return [Problem("UNKNOWN_SKU", f"no product has SKU {sku}", path)]
    if not product.active:
        return [Problem("PRODUCT_UNAVAILABLE", f"{sku} is not for sale", path)]
    if product.currency != currency:
        return [Problem("CURRENCY_MISMATCH", f"{sku} is priced in {product.currency}", path)]
    return []

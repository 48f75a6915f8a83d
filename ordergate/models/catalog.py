"""The local catalogue: what can be sold, at what price."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlmodel import Field, SQLModel

from ordergate.models.columns import MONEY, UTCDateTime, new_id
from ordergate.models.errors import Problem


class Product(SQLModel, table=True):
    __tablename__ = "products"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sku: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=255)
    price: Decimal = Field(sa_type=MONEY)
    currency: str = Field(max_length=3)
    active: bool = True
    returnable: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


def check_sellable(sku: str, product: Product | None, currency: str, path: tuple[str, ...]) -> list[Problem]:
    """Why `sku` cannot go on an order in `currency`, addressed to `path`; empty when it can."""
    if product is None:
        return [Problem("UNKNOWN_SKU", f"no product has SKU {sku}", path)]
    if not product.active:
        return [Problem("PRODUCT_UNAVAILABLE", f"{sku} is not for sale", path)]
    if product.currency != currency:
        return [Problem("CURRENCY_MISMATCH", f"{sku} is priced in {product.currency}", path)]
    return []

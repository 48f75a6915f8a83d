"""The audit trail: who changed what, when, from which request, field by field.

An entry is written in the same transaction as the change it describes (so there is never a
change without its entry, nor an entry for a change that rolled back), one per write
transaction of a state-changing request, and never updated or deleted (the table refuses it).
Customers never see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from ordergate.models.ids import new_id

MAX_CHANGES = 200  # field changes kept per entry; beyond, the entry says how many were left out
MAX_VALUE = 500  # characters of one value kept
SECRET_FIELDS = frozenset({"secret", "token", "password", "api_key", "card_token", "payment_token"})
REDACTED = "[redacted]"


@dataclass(frozen=True)
class Actor:
    """Who acts in a request, and through which operation."""

    subject: str
    role: str
    operation: str
    request_id: str | None = None


@dataclass(kw_only=True, eq=False)
class AuditEntry:
    id: str = field(default_factory=new_id)
    occurred_at: datetime
    actor: str
    role: str
    operation: str
    request_id: str | None = None
    order_id: str | None = None  # the order the change is about, where there is one
    changes: list[dict[str, Any]] = field(default_factory=list)
    omitted: int = 0  # field changes beyond MAX_CHANGES


def audit_value(name: str, value: Any) -> Any:
    """A field's value as the trail keeps it: JSON's kinds, secrets redacted, long text cut."""
    if value is None:
        return None
    if name.lower() in SECRET_FIELDS or name.lower().endswith("_secret"):
        return REDACTED
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bool | int):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def change(record: str, record_id: str, name: str, before: Any, after: Any) -> dict[str, Any]:
    return {
        "record": record,
        "id": record_id,
        "field": name,
        "before": audit_value(name, before),
        "after": audit_value(name, after),
    }

"""Customers as ordergate knows them; the storefront's view is joined in later."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ordergate.models.ids import new_id


def normalise_email(email: str) -> str:
    return email.strip().lower()


@dataclass(kw_only=True, eq=False)
class Customer:
    id: str = field(default_factory=new_id)
    email: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    external_id: str | None = None
    created_at: datetime
    # Opted out of non-essential email (models.emails): what they must hear still comes
    email_opt_out: bool = False

    @property
    def display_name(self) -> str:
        name = " ".join(part for part in (self.first_name, self.last_name) if part)
        return name or self.email

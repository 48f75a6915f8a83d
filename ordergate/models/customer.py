"""Customers as ordergate knows them; the storefront's view is joined in later."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from ordergate.models.columns import UTCDateTime, new_id


def normalise_email(email: str) -> str:
    return email.strip().lower()


class Customer(SQLModel, table=True):
    __tablename__ = "customers"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    email: str = Field(max_length=320, unique=True, index=True)
    first_name: str | None = Field(default=None, max_length=128)
    last_name: str | None = Field(default=None, max_length=128)
    phone: str | None = Field(default=None, max_length=32)
    external_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)

    @property
    def display_name(self) -> str:
        name = " ".join(part for part in (self.first_name, self.last_name) if part)
        return name or self.email

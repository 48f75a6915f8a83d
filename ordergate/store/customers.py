"""Customers, found by id or by normalised email."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from ordergate.models.customer import Customer


class CustomerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_ids(self, ids: Sequence[str]) -> dict[str, Customer]:
        if not ids:
            return {}
        rows = await self.session.execute(select(Customer).where(col(Customer.id).in_(set(ids))))
        return {c.id: c for c in rows.scalars()}

    async def by_email(self, email: str) -> Customer | None:
        rows = await self.session.execute(select(Customer).where(col(Customer.email) == email))
        return rows.scalars().first()

    async def get_or_add(self, candidate: Customer) -> Customer:
        """The customer with the candidate's email; the candidate is stored if none exists,
        and a concurrent insert of the same email is resolved to the winner's row."""
        existing = await self.by_email(candidate.email)
        if existing is not None:
            return existing
        try:
            async with self.session.begin_nested():
                self.session.add(candidate)
        except IntegrityError:
            winner = await self.by_email(candidate.email)
            if winner is None:
                raise
            return winner
        return candidate

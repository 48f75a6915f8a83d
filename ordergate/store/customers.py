"""Customers, found by id or by normalised email."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import select

from ordergate.models.customer import Customer
from ordergate.models.order import OrderStatus
from ordergate.store import tables
from ordergate.store.engine import by_keys, insert_for
from ordergate.store.records import fetch


class CustomerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_ids(self, ids: Sequence[str]) -> dict[str, Customer]:
        if not ids:
            return {}
        rows = await fetch(
            self.session, Customer, by_keys(Customer, tables.customers.c.id), {"ids": list(set(ids))}
        )
        return {c.id: c for c in rows}

    async def by_email(self, email: str) -> Customer | None:
        rows = await self.session.execute(_by_email(), {"email": email})
        return rows.scalars().first()

    async def get_or_add(self, candidate: Customer) -> Customer:
        """The customer with the candidate's email; the candidate is stored if none exists,
        and a concurrent insert of the same email is resolved to the winner's row."""
        existing = await self.by_email(candidate.email)
        if existing is not None:
            return existing
        # one INSERT ... ON CONFLICT DO NOTHING instead of a savepoint around the ORM's insert
        # (four statements): the row is written now, and the candidate is the ORM's from here on
        row = {column.name: getattr(candidate, column.name) for column in tables.customers.columns}
        added = await self.session.execute(_add(insert_for(self.session)), row)
        if added.first() is None:  # another transaction added that email since the read
            winner = await self.by_email(candidate.email)
            if winner is None:
                raise LookupError(f"no customer {candidate.email!r} after a conflict on it")
            return winner
        make_transient_to_detached(candidate)  # written: its identity is the row's
        self.session.add(candidate)  # persistent, as the ORM's insert would have left it
        return candidate

    async def search(
        self, text: str | None, first: int, after: tuple[datetime, str] | None
    ) -> tuple[list[Customer], bool]:
        """Newest first; `text` matches the start of the email or of either name, any case."""
        query = select(Customer)
        if text:
            pattern = text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(
                sa.or_(
                    tables.customers.c.email.like(pattern, escape="\\"),
                    sa.func.lower(tables.customers.c.first_name).like(pattern, escape="\\"),
                    sa.func.lower(tables.customers.c.last_name).like(pattern, escape="\\"),
                )
            )
        if after is not None:
            query = query.where(
                sa.tuple_(tables.customers.c.created_at, tables.customers.c.id)
                < sa.tuple_(after[0], after[1])
            )
        query = query.order_by(tables.customers.c.created_at.desc(), tables.customers.c.id.desc()).limit(
            first + 1
        )
        rows = list((await self.session.execute(query)).scalars())
        return rows[:first], len(rows) > first

    async def totals(self, ids: Sequence[str]) -> dict[str, tuple[int, Decimal]]:
        """Orders and lifetime value (orders not cancelled) per customer."""
        if not ids:
            return {}
        query = (
            select(
                tables.orders.c.customer_id,
                sa.func.count(tables.orders.c.id),
                sa.func.coalesce(
                    sa.func.sum(
                        sa.case(
                            (
                                tables.orders.c.status != OrderStatus.CANCELLED.value,
                                tables.orders.c.total,
                            )
                        )
                    ),
                    0,
                ),
            )
            .where(tables.orders.c.customer_id.in_(set(ids)))
            .group_by(tables.orders.c.customer_id)
        )
        return {
            customer_id: (int(count), Decimal(str(value)))
            for customer_id, count, value in await self.session.execute(query)
        }


@functools.cache
def _add(insert: Any) -> Any:
    """One customer, unless its email is taken, in the dialect `insert` speaks."""
    return (
        insert(tables.customers)
        .on_conflict_do_nothing(index_elements=["email"])
        .returning(tables.customers.c.id)
    )


@functools.cache
def _by_email() -> Any:
    return select(Customer).where(tables.customers.c.email == sa.bindparam("email"))

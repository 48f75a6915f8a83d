"""A customer is added once per email, in one statement, even by two orders at the same time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from ordergate.models.customer import Customer
from ordergate.usecases.services import Services
from tests.test_limits import counting_statements

NOW = datetime(2026, 12, 5, 9, tzinfo=UTC)


def newcomer(first_name: str) -> Customer:
    return Customer(email="first.timer@example.com", first_name=first_name, created_at=NOW)


async def test_a_new_customer_is_written_by_one_statement_and_is_the_orm_s(services: Services) -> None:
    with counting_statements(services) as statements:
        async with services.store.write() as uow:
            added = await uow.customers.get_or_add(newcomer("Ada"))
            added.phone = "+1 555 0100"  # persistent: a change is an UPDATE, not a second INSERT

    kinds = [s.split()[0].upper() for s in statements]
    assert [k for k in kinds if k in ("SELECT", "INSERT", "UPDATE", "SAVEPOINT")] == [
        "SELECT",
        "INSERT",
        "UPDATE",
    ]
    async with services.store.read() as uow:
        found = await uow.customers.by_email("first.timer@example.com")
    assert found is not None
    assert (found.id, found.first_name, found.phone) == (added.id, "Ada", "+1 555 0100")


async def test_two_orders_adding_one_email_at_once_share_its_customer(services: Services) -> None:
    async def second() -> Customer:
        async with services.store.write() as uow:
            return await uow.customers.get_or_add(newcomer("Grace"))

    async with services.store.write() as uow:
        first = await uow.customers.get_or_add(newcomer("Ada"))
        other = asyncio.create_task(second())
        await asyncio.sleep(0.3)  # waiting on the email's index (PostgreSQL) or the write lock (SQLite)
        assert not other.done()
    theirs = await other

    assert theirs.id == first.id
    assert theirs.first_name == "Ada"
    async with services.store.read() as uow:
        assert list(await uow.customers.by_ids([first.id])) == [first.id]
        assert await uow.customers.by_email("first.timer@example.com") is not None

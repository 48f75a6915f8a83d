"""Who reads which events: the staff-only ones reach only those who do the work."""

from __future__ import annotations

import pytest

from ordergate.models.events import CUSTOMER_MESSAGES, INTERNAL_EVENTS, EventType, shown_to
from ordergate.models.identity import Principal, Role

STAFF = [Role.ASSOCIATE, Role.AGENT, Role.ADMIN]


def test_every_event_type_is_written_for_customers_or_for_staff_and_not_both() -> None:
    assert set(CUSTOMER_MESSAGES) | INTERNAL_EVENTS == set(EventType)
    assert not set(CUSTOMER_MESSAGES) & INTERNAL_EVENTS


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.STOREFRONT])
def test_a_customer_reads_the_customer_events_and_none_of_the_staff_only_ones(role: Role) -> None:
    caller = Principal("c", role, email="ann@example.com")

    assert {kind for kind in EventType if shown_to(caller, kind)} == set(CUSTOMER_MESSAGES)


@pytest.mark.parametrize("role", STAFF)
def test_staff_read_every_event(role: Role) -> None:
    caller = Principal("s", role)

    assert all(shown_to(caller, kind) for kind in EventType)

"""The audit trail: who acts in a request (set by whatever takes the request in: a mutation, a
webhook, the status page), and the trail read back by order, by actor and by time, for agents
and admins only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from ordergate.logs import REQUEST_ID
from ordergate.models.audit import Actor, AuditEntry
from ordergate.models.errors import Forbidden
from ordergate.models.identity import Permission, Principal
from ordergate.models.pagination import Page, check_page, decode_time_cursor, encode_cursor
from ordergate.store.audit import ACTOR
from ordergate.usecases.services import Services


@contextmanager
def acting(subject: str, role: str, operation: str) -> Iterator[Actor]:
    """Every write transaction inside is audited as this actor's, with the request's id."""
    actor = Actor(subject=subject, role=role, operation=operation, request_id=REQUEST_ID.get())
    token = ACTOR.set(actor)
    try:
        yield actor
    finally:
        ACTOR.reset(token)


def entry_cursor(entry: AuditEntry) -> str:
    return encode_cursor(entry.occurred_at, entry.id)


async def audit_trail(
    services: Services,
    principal: Principal,
    *,
    order_id: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    first: int = 50,
    after: str | None = None,
) -> Page[AuditEntry]:
    """Entries newest first, by order, actor and time (any of them)."""
    if not principal.can(Permission.READ_AUDIT):
        raise Forbidden("only agents and admins read the audit trail")
    check_page(first, services.policy.page_size_cap)
    key = decode_time_cursor(after) if after else None
    async with services.store.read() as uow:
        rows, has_next = await uow.audit.page(
            order_id=order_id, actor=actor, since=since, until=until, first=first, after=key
        )
    return Page(rows, has_next, None)

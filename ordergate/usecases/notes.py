"""Staff notes and tags on orders, customers and fulfilment orders.

Staff annotate what they may see: an associate the orders and fulfilment orders of their own
nodes, agents and admins anything (customers only with READ_CUSTOMERS). Nobody else reads them:
a customer's order shows no notes, no tags, and no timeline entry for either.
"""

from __future__ import annotations

from ordergate.models.errors import Forbidden, NotFound
from ordergate.models.identity import Permission, Principal
from ordergate.models.notes import Note, Tag, TargetKind, check_note, check_tags
from ordergate.models.scope import order_scope
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases.fulfillment import fulfillment_order_of_yours
from ordergate.usecases.services import Services

TARGET = ("target_id",)


def may_annotate(principal: Principal) -> bool:
    return principal.can(Permission.ANNOTATE)


async def _check_target(uow: UnitOfWork, principal: Principal, kind: TargetKind, target_id: str) -> None:
    """NOT_FOUND unless the caller may see the target (FORBIDDEN for a role that annotates nothing)."""
    if not may_annotate(principal):
        raise Forbidden("only staff write and read notes and tags")
    if kind is TargetKind.FULFILLMENT_ORDER:
        await fulfillment_order_of_yours(uow, principal, target_id, field=TARGET)  # NOT_FOUND if not
        return
    if kind is TargetKind.ORDER:
        found = bool(await uow.orders.by_ids([target_id], order_scope(principal)))
    else:
        found = principal.can(Permission.READ_CUSTOMERS) and bool(await uow.customers.by_ids([target_id]))
    if not found:
        raise NotFound(f"no such {kind.value.lower().replace('_', ' ')} among yours", field=TARGET)


async def add_note(
    services: Services, principal: Principal, kind: TargetKind, target_id: str, body: str
) -> Note:
    text = check_note(body)
    async with services.store.write() as uow:
        await _check_target(uow, principal, kind, target_id)
        note = Note(
            target_kind=kind,
            target_id=target_id,
            body=text,
            author=principal.subject,
            created_at=services.clock(),
        )
        await uow.notes.add_note(note)
    return note


async def tag(
    services: Services, principal: Principal, kind: TargetKind, target_id: str, tags: list[str]
) -> list[Tag]:
    """Adds the tags the target lacks; answers all its tags. Adding one it has is no change."""
    wanted = check_tags(tags)
    now = services.clock()
    async with services.store.write() as uow:
        await _check_target(uow, principal, kind, target_id)
        await uow.notes.add_tags(
            [
                Tag(target_kind=kind, target_id=target_id, tag=t, added_by=principal.subject, added_at=now)
                for t in wanted
            ]
        )
        return (await uow.notes.tags_for(kind, [target_id])).get(target_id, [])


async def untag(
    services: Services, principal: Principal, kind: TargetKind, target_id: str, tags: list[str]
) -> list[Tag]:
    """Removes the tags named (those it does not have are no change); answers what is left."""
    gone = check_tags(tags)
    async with services.store.write() as uow:
        await _check_target(uow, principal, kind, target_id)
        await uow.notes.remove_tags(kind, target_id, gone)
        return (await uow.notes.tags_for(kind, [target_id])).get(target_id, [])

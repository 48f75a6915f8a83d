"""Idempotency for any keyed mutation: the first result is kept and a repeat gets it back."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ordergate.models.errors import IdempotencyKeyReused
from ordergate.models.idempotency import IdempotencyRecord, fingerprint
from ordergate.models.identity import Principal
from ordergate.resolvers.services import Services
from ordergate.store.idempotency import KeyTaken
from ordergate.store.unit_of_work import UnitOfWork


@dataclass
class Claim:
    """A fresh claim (`record` to complete with the result) or a repeat (`result_id`)."""

    record: IdempotencyRecord | None
    result_id: str | None = None

    @property
    def repeated(self) -> bool:
        return self.record is None

    def complete(self, uow: UnitOfWork, result_id: str) -> None:
        if self.record is not None:
            self.record.result_id = result_id
            uow.session.add(self.record)


def scope_of(principal: Principal) -> str:
    return f"{principal.role.value}:{principal.subject}"


async def claim(
    services: Services,
    uow: UnitOfWork,
    principal: Principal,
    operation: str,
    key: str,
    request: Any,
    field: tuple[str, ...] = ("input", "idempotencyKey"),
) -> Claim:
    """Claim `key` first in the transaction: a concurrent repeat waits on it, then replays."""
    payload = (
        dataclasses.asdict(request)
        if dataclasses.is_dataclass(request) and not isinstance(request, type)
        else request
    )
    request_hash = fingerprint({"operation": operation, "request": payload})
    scope = scope_of(principal)
    previous = await uow.idempotency.get(scope, key)
    if previous is None:
        record = IdempotencyRecord(
            scope=scope,
            key=key,
            operation=operation,
            request_hash=request_hash,
            created_at=services.clock(),
        )
        try:
            await uow.idempotency.claim(record)
        except KeyTaken:
            previous = await uow.idempotency.get(scope, key)
        else:
            return Claim(record=record)
    if previous is None or previous.request_hash != request_hash or previous.result_id is None:
        raise IdempotencyKeyReused("this idempotencyKey was used for a different request", field=field)
    return Claim(record=None, result_id=previous.result_id)

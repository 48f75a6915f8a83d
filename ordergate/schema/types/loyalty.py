"""A customer's loyalty points: the balance and the ledger behind it."""

from __future__ import annotations

from datetime import datetime

import strawberry

from ordergate.models.loyalty import LoyaltyEntry as LoyaltyEntryRecord
from ordergate.models.loyalty import LoyaltyReason
from ordergate.schema.context import Info, services
from ordergate.schema.types.common import Connection
from ordergate.usecases import loyalty


@strawberry.type(description="Points earned when money is captured (positive) or taken back on a refund.")
class LoyaltyEntry:
    id: strawberry.ID
    order_id: strawberry.ID
    points: int
    reason: LoyaltyReason
    created_at: datetime

    @classmethod
    def from_model(cls, record: LoyaltyEntryRecord) -> LoyaltyEntry:
        return cls(
            id=strawberry.ID(record.id),
            order_id=strawberry.ID(record.order_id),
            points=record.points,
            reason=record.reason,
            created_at=record.created_at,
        )


@strawberry.type
class LoyaltyAccount:
    customer_id: strawberry.Private[str]

    @strawberry.field(description="Points held now.")
    async def balance(self, info: Info) -> int:
        points, _ = await info.context.loaders.loyalty_by_customer_id.load(self.customer_id)
        return int(points)

    @strawberry.field(description="The points ledger, newest first.")
    async def entries(
        self, info: Info, first: int = 50, after: str | None = None
    ) -> Connection[LoyaltyEntry]:
        page = await loyalty.entries(services(info), self.customer_id, first, after)
        return Connection.of(page, LoyaltyEntry.from_model, loyalty.entry_cursor, after=after)

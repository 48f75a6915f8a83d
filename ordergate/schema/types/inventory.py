"""Availability and holds as the storefront sees them."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from ordergate.models.errors import Problem, ValidationFailed
from ordergate.models.inventory import ReservationStatus
from ordergate.schema.context import Info
from ordergate.schema.types.catalog import Location
from ordergate.usecases.backorders import Promiser
from ordergate.usecases.inventory import SkuStock
from ordergate.usecases.reservations import Hold

MAX_PROMISE_QUANTITY = 100_000


@strawberry.type
class IncomingStock:
    quantity: int
    expected_on: date


@strawberry.type
class LocationAvailability:
    location: Location
    available_to_sell: int
    distance_km: float | None
    incoming: list[IncomingStock] = strawberry.field(description="Open purchase orders due here.")
    backordered: int = strawberry.field(
        description="Units sold against that supply (backorders, pre-orders) and waiting for it."
    )


@strawberry.type
class SkuAvailability:
    sku: str
    available_to_sell: int = strawberry.field(description="Units sellable now across the network.")
    as_of: datetime = strawberry.field(description="When the oldest stock figure in this answer was read.")
    stale: bool = strawberry.field(
        description="True when the ERP could not be read and this is the last snapshot."
    )
    locations: list[LocationAvailability]
    stock: strawberry.Private[SkuStock]
    promiser: strawberry.Private[Promiser]

    @strawberry.field(
        description="The day `quantity` would reach the destination if ordered now in this channel, or "
        "null when it cannot be ordered: the plan placeOrder would make (the units on hand, split over "
        "locations within the split limit, and, where the product's selling policy allows, units "
        "backordered or pre-ordered against incoming supply), so a quantity with a date can be ordered."
    )
    async def promise_date(self, quantity: int = 1) -> date | None:
        if not 1 <= quantity <= MAX_PROMISE_QUANTITY:
            raise ValidationFailed(
                [Problem("INVALID_QUANTITY", f"quantity must be 1 to {MAX_PROMISE_QUANTITY}", ("quantity",))]
            )
        return await self.promiser.promise_date(self.sku, quantity)

    @classmethod
    def from_model(
        cls, stock: SkuStock, promiser: Promiser, built: dict[str, Location] | None = None
    ) -> SkuAvailability:
        """`built`: the locations already built for this answer, by id (every SKU lists the
        same locations; each is built once per answer, not once per SKU)."""
        built = {} if built is None else built
        return cls(
            sku=stock.sku,
            available_to_sell=stock.available,
            as_of=stock.as_of,
            stale=stock.stale,
            locations=[
                LocationAvailability(
                    location=built.get(row.location.id)
                    or built.setdefault(row.location.id, Location.from_model(row.location)),
                    available_to_sell=row.available,
                    distance_km=round(row.distance_km, 1) if row.distance_km is not None else None,
                    incoming=[
                        IncomingStock(quantity=s.quantity, expected_on=s.expected_on) for s in row.incoming
                    ],
                    backordered=row.backordered,
                )
                for row in stock.locations
            ],
            stock=stock,
            promiser=promiser,
        )


@strawberry.type
class ReservationLine:
    sku: str
    quantity: int
    location_id: strawberry.Private[str]

    @strawberry.field
    async def location(self, info: Info) -> Location:
        return Location.from_model(await info.context.loaders.location_by_id.load_present(self.location_id))


@strawberry.type
class Reservation:
    id: strawberry.ID
    status: ReservationStatus
    expires_at: datetime
    lines: list[ReservationLine]

    @classmethod
    def from_model(cls, hold: Hold) -> Reservation:
        return cls(
            id=strawberry.ID(hold.reservation.id),
            status=hold.reservation.status,
            expires_at=hold.reservation.expires_at,
            lines=[
                ReservationLine(sku=line.sku, quantity=line.quantity, location_id=line.location_id)
                for line in hold.lines
            ],
        )

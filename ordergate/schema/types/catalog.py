"""Product, Location and Customer: federation entities keyed by id."""

from __future__ import annotations

from datetime import datetime

import strawberry

from ordergate.models.catalog import Product as ProductRecord
from ordergate.models.customer import Customer as CustomerRecord
from ordergate.models.identity import Permission
from ordergate.models.location import Location as LocationRecord
from ordergate.models.location import LocationType
from ordergate.resolvers import catalog
from ordergate.schema.context import Info, principal
from ordergate.schema.types.common import Address, Money


@strawberry.federation.type(keys=["id"], name="Product")
class Product:
    id: strawberry.ID
    sku: str
    name: str
    price: Money
    active: bool
    returnable: bool

    @classmethod
    def from_model(cls, record: ProductRecord) -> Product:
        return cls(
            id=strawberry.ID(record.id),
            sku=record.sku,
            name=record.name,
            price=Money.of(record.price, record.currency),
            active=record.active,
            returnable=record.returnable,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Product | None:
        if not principal(info).can(Permission.READ_CATALOG):
            return None
        async with info.context.services.store.read() as uow:
            found = (await uow.catalog.products_by_ids([str(id)])).get(str(id))
        return cls.from_model(found) if found else None


@strawberry.federation.type(keys=["id"], name="Location")
class Location:
    id: strawberry.ID
    code: str
    name: str
    type: LocationType
    address: Address
    latitude: float
    longitude: float
    ship_enabled: bool
    pickup_enabled: bool
    channels: list[str]
    capacity_per_day: int
    priority: int
    handling_days: int
    safety_stock: int
    active: bool
    erp_id: str | None = strawberry.field(description="The ERP location this node is joined to.")

    @strawberry.field(description="Fulfilment orders at this location not yet shipped, picked up or closed.")
    async def open_fulfillment_orders(self, info: Info) -> int:
        return await info.context.loaders.open_fulfillment_count_by_location_id.load(str(self.id))

    @classmethod
    def from_model(cls, record: LocationRecord) -> Location:
        return cls(
            id=strawberry.ID(record.id),
            code=record.code,
            name=record.name,
            type=record.type,
            address=Address(
                name=record.name,
                line1=record.line1,
                line2=None,
                city=record.city,
                region=record.region,
                postal_code=record.postal_code,
                country_code=record.country_code,
                phone=None,
            ),
            latitude=record.latitude,
            longitude=record.longitude,
            ship_enabled=record.ships,
            pickup_enabled=record.pickup_enabled,
            channels=list(record.channels),
            capacity_per_day=record.capacity_per_day,
            priority=record.priority,
            handling_days=record.handling_days,
            safety_stock=record.safety_stock,
            active=record.active,
            erp_id=record.erp_id,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Location | None:
        if not principal(info).can(Permission.READ_LOCATIONS):
            return None
        found = await info.context.loaders.location_by_id.load(str(id))
        return cls.from_model(found) if found else None


@strawberry.federation.type(keys=["id"], name="Customer")
class Customer:
    id: strawberry.ID
    email: str
    first_name: str | None
    last_name: str | None
    display_name: str
    phone: str | None
    created_at: datetime

    @classmethod
    def from_model(cls, record: CustomerRecord) -> Customer:
        return cls(
            id=strawberry.ID(record.id),
            email=record.email,
            first_name=record.first_name,
            last_name=record.last_name,
            display_name=record.display_name,
            phone=record.phone,
            created_at=record.created_at,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Customer | None:
        return cls.from_model(await catalog.customer(info.context.services, principal(info), str(id)))

"""Catalogue, locations and customers: reads, and the demo seed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ordergate.models.catalog import Product
from ordergate.models.customer import Customer
from ordergate.models.errors import Forbidden, NotFound, Problem, ValidationFailed
from ordergate.models.identity import Permission, Principal
from ordergate.models.location import Location
from ordergate.models.pagination import Page, check_page, decode_cursor, decode_time_cursor, encode_cursor
from ordergate.models.supply import ProductPolicy, check_policy
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases.services import Services

MAX_SEARCH = 100


def product_cursor(product: Product) -> str:
    return encode_cursor(product.sku)


async def products(services: Services, principal: Principal, first: int, after: str | None) -> Page[Product]:
    if not principal.can(Permission.READ_CATALOG):
        raise Forbidden("this role may not read the catalogue")
    check_page(first, services.policy.page_size_cap)
    after_sku = str(decode_cursor(after, 1)[0]) if after else None
    page = await services.views.product_page(services.store, first, after_sku)
    return Page(page.products, page.has_next, page.total)


async def location_id(services: Services, ref: str | None) -> str | None:
    """The id of the location `ref` names by its id or by its code (`DC-DFW`, any case), from
    the network as the read view has it; `ref` unchanged when no location has it (the caller's
    own check then says that it is unknown, naming it)."""
    if not ref:
        return ref
    network = await services.views.locations(services.store)
    if any(loc.id == ref for loc in network):
        return ref
    wanted = ref.strip().casefold()
    return next((loc.id for loc in network if loc.code.casefold() == wanted), ref)


async def location_of_yours(services: Services, uow: UnitOfWork, principal: Principal, ref: str) -> Location:
    """The location `ref` names, by its id or its code, when the caller works there; NOT_FOUND,
    naming what was asked for, otherwise. An id costs one read; a code, the view's lookup too."""
    location = (await uow.catalog.locations_by_ids([ref])).get(ref)
    if location is None:  # its code, perhaps
        known = await location_id(services, ref) or ref
        location = (await uow.catalog.locations_by_ids([known])).get(known) if known != ref else None
    if location is None or not principal.works_at(location.code):
        raise NotFound(
            f"no location {ref[:64]!r} among yours (give its id or its code)", field=("location_id",)
        )
    return location


async def products_by_skus(services: Services, skus: Sequence[str]) -> list[Product | None]:
    async with services.store.read() as uow:
        found = await uow.catalog.products_by_skus(skus)
    return [found.get(sku) for sku in skus]


async def locations(services: Services, principal: Principal) -> list[Location]:
    if not principal.can(Permission.READ_LOCATIONS):
        raise Forbidden("this role may not read locations")
    async with services.store.read() as uow:
        return await uow.catalog.locations()


async def customer(services: Services, principal: Principal, customer_id: str) -> Customer:
    async with services.store.read() as uow:
        found = (await uow.customers.by_ids([customer_id])).get(customer_id)
    if found is None or not (principal.can(Permission.READ_CUSTOMERS) or principal.owns_email(found.email)):
        raise NotFound("no such customer")
    return found


def customer_cursor(record: Customer) -> str:
    return encode_cursor(record.created_at, record.id)


async def customers(
    services: Services, principal: Principal, search: str | None, first: int, after: str | None
) -> Page[Customer]:
    """Agents and admins look customers up by the start of an email or a name, newest first."""
    if not principal.can(Permission.READ_CUSTOMERS):
        raise Forbidden("this role may not list customers")
    check_page(first, services.policy.page_size_cap)
    if search is not None and len(search) > MAX_SEARCH:
        raise ValidationFailed([Problem("TOO_LONG", f"search at most {MAX_SEARCH} characters", ("search",))])
    key = decode_time_cursor(after) if after else None
    async with services.store.read() as uow:
        rows, has_next = await uow.customers.search(search, first, key)
    return Page(rows, has_next)


async def set_selling_policy(
    services: Services, principal: Principal, sku: str, policy: ProductPolicy
) -> Product:
    """What a product may be sold against besides the units on hand (`models/supply.py`), from
    the next sale on; units already waiting keep their place."""
    if not principal.can(Permission.MANAGE_CATALOG):
        raise Forbidden("only admins set selling policies")
    problems = check_policy(policy)
    if problems:
        raise ValidationFailed(problems)
    async with services.store.write() as uow:
        product = (await uow.catalog.products_by_skus([sku])).get(sku)
        if product is None:
            raise NotFound(f"no product has SKU {sku[:70]}", field=("sku",))
        product.selling_policy = policy.policy
        product.release_on = policy.release_on
        product.policy_channels = list(policy.channels)
        product.updated_at = services.clock()
        uow.save(product)
    return product


async def seed(services: Services, products: Iterable[Product], locations: Iterable[Location]) -> int:
    """Insert the products and locations that are not there yet; returns how many were added."""
    async with services.store.write() as uow:
        return await uow.catalog.add_missing(list(products), list(locations))

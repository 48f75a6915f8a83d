"""Money, addresses, pages and user errors: the small shapes every type uses."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Generic, TypeVar

import strawberry

from ordergate.models.address import Address as DomainAddress
from ordergate.models.errors import Problem
from ordergate.models.money import quantize
from ordergate.models.pagination import Page

if TYPE_CHECKING:
    from ordergate.schema.context import Info

T = TypeVar("T")
R = TypeVar("R")


@strawberry.type
class Money:
    amount: Decimal
    currency: str

    @classmethod
    def of(cls, amount: Decimal, currency: str) -> Money:
        """To the cent, as the domain's `Money` holds it (without building one)."""
        return cls(amount=quantize(amount), currency=currency)


@strawberry.type
class Address:
    name: str
    line1: str
    line2: str | None
    city: str
    region: str | None
    postal_code: str
    country_code: str
    phone: str | None

    @classmethod
    def of(cls, address: DomainAddress) -> Address:
        return cls(
            name=address.name,
            line1=address.line1,
            line2=address.line2,
            city=address.city,
            region=address.region,
            postal_code=address.postal_code,
            country_code=address.country_code,
            phone=address.phone,
        )


@strawberry.type(description="An expected failure: a stable `code`, the input `field` path, a message.")
class UserError:
    code: str
    field: list[str] | None
    message: str

    @classmethod
    def from_problem(cls, problem: Problem) -> UserError:
        return cls(
            code=problem.code,
            field=list(problem.field) if problem.field is not None else None,
            message=problem.message,
        )


INPUT = "input"


def input_path(
    path: Sequence[str] | None, spell: Callable[[str], str], is_argument: Callable[[str], bool]
) -> list[str] | None:
    """Where the client sent what a domain problem names. The domain names the command's own
    fields (`("lines", "2", "sku")`, `("shipping_address", "postal_code")`, `("order_id",)`);
    the client sees each name as the schema spells it (`spell`: its name converter), under the
    `input` argument unless the first name is an argument of the field itself."""
    if path is None:
        return None
    named = [part if part.isdigit() else spell(part) for part in path]
    if path and is_argument(path[0]):
        return named
    return [INPUT, *named] if is_argument(INPUT) else named


def user_errors(problems: Sequence[Problem], info: Info | None = None) -> list[UserError]:
    """`userErrors` for problems the domain found in what `info`'s field was sent."""
    if info is None:
        return [UserError.from_problem(p) for p in problems]
    spell = info.schema.config.name_converter.apply_naming_config

    def is_argument(name: str) -> bool:
        return info.get_argument_definition(name) is not None

    return [
        UserError(code=p.code, field=input_path(p.field, spell, is_argument), message=p.message)
        for p in problems
    ]


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    page_info: PageInfo
    edges: list[Edge[T]]
    total_count: int

    @classmethod
    def of(
        cls,
        page: Page[R],
        wrap: Callable[[R], T],
        cursor: Callable[[R], str],
        *,
        after: str | None,
    ) -> Connection[T]:
        edges = [Edge(cursor=cursor(item), node=wrap(item)) for item in page.items]
        return cls(
            page_info=PageInfo(
                has_next_page=page.has_next,
                has_previous_page=after is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            edges=edges,
            total_count=page.total if page.total is not None else len(edges),
        )

"""Money, addresses, pages and user errors: the small shapes every type uses."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Generic, TypeVar

import strawberry

from ordergate.models.errors import Problem
from ordergate.models.money import Money as DomainMoney
from ordergate.models.pagination import Page

T = TypeVar("T")
R = TypeVar("R")


@strawberry.type
class Money:
    amount: Decimal
    currency: str

    @classmethod
    def of(cls, amount: Decimal, currency: str) -> Money:
        money = DomainMoney(amount, currency)
        return cls(amount=money.amount, currency=money.currency)


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


def user_errors(problems: Sequence[Problem]) -> list[UserError]:
    return [UserError.from_problem(p) for p in problems]


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

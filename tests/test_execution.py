"""The lean path for plain scalar fields answers exactly as Strawberry's own execution does:
values, nulls, errors and their paths."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import strawberry
from strawberry.extensions import SchemaExtension

from ordergate.schema import compiled
from ordergate.schema.execution import LeanExecutionContext, lean_field, lean_resolvers
from ordergate.schema.types.lazy import lazily, read_lazily


@pytest.fixture(autouse=True, params=["plans looped", "plans compiled"])
def plans(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every comparison runs twice: with each plan's steps walked one by one, and with the
    function `schema/compiled.py` writes for its form (written at first sight here)."""
    compiled.forget()
    monkeypatch.setattr(compiled, "COMPILE_AFTER", 1 if request.param == "plans compiled" else 10**9)


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Item:
    name: str
    note: str | None
    colour: Colour
    price: Decimal
    at: datetime
    count: int
    maybe_count: int | None

    @strawberry.field
    def shout(self, times: int = 1) -> str:
        return self.name.upper() * times


def good() -> Item:
    return Item(
        name="mug",
        note=None,
        colour=Colour.BLUE,
        price=Decimal("14.00"),
        at=datetime(2026, 11, 28, tzinfo=UTC),
        count=3,
        maybe_count=None,
    )


def broken(**changes: Any) -> Item:
    item = good()
    for key, value in changes.items():
        object.__setattr__(item, key, value)
    return item


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return [
            good(),
            broken(name=None),  # null for a non-null field
            broken(count="many"),  # the Int serialiser refuses it
            broken(colour="green"),  # not an enum value
            broken(maybe_count=2**40),  # out of Int range, nullable
        ]

    @strawberry.field
    async def later(self) -> Item:
        return good()


QUERY = "{ items { name note colour price at count maybeCount shout(times: 2) __typename } later { name } }"


class Recorder(SchemaExtension):
    """A field middleware (a `resolve` hook): every field must go through it."""

    seen: list[str] = []

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        Recorder.seen.append(info.field_name)
        return _next(root, info, *args, **kwargs)


def answers(*, lean: bool, extensions: list[Any] | None = None) -> dict[str, Any]:
    schema = strawberry.Schema(
        query=Query,
        execution_context_class=LeanExecutionContext if lean else None,
        extensions=extensions or [],
    )
    result = schema.execute_sync(QUERY.replace(" later { name }", ""))
    return {
        "data": result.data,
        "errors": sorted(
            ((e.message, tuple(e.path or ()), str(e.locations)) for e in result.errors or []), key=str
        ),
    }


def test_the_lean_path_answers_as_strawberry_does() -> None:
    lean, plain = answers(lean=True), answers(lean=False)
    assert lean == plain
    assert lean["data"]["items"][0] == {
        "name": "mug",
        "note": None,
        "colour": "BLUE",
        "price": "14.00",
        "at": "2026-11-28T00:00:00+00:00",
        "count": 3,
        "maybeCount": None,
        "shout": "MUGMUG",
        "__typename": "Item",
    }
    assert len(lean["errors"]) == 4


async def test_async_execution_is_unchanged() -> None:
    lean = strawberry.Schema(query=Query, execution_context_class=LeanExecutionContext)
    plain = strawberry.Schema(query=Query)
    first, second = await lean.execute(QUERY), await plain.execute(QUERY)
    assert first.data == second.data
    assert [e.message for e in first.errors or []] == [e.message for e in second.errors or []]


def test_field_middleware_still_sees_every_field() -> None:
    Recorder.seen = []
    answers(lean=True, extensions=[Recorder])
    assert "name" in Recorder.seen
    assert "count" in Recorder.seen


def test_only_plain_scalar_fields_are_lean() -> None:
    schema = strawberry.Schema(query=Query, execution_context_class=LeanExecutionContext)
    item = schema._schema.type_map["Item"]
    assert lean_field(item, "name") is not None  # type: ignore[arg-type]
    assert lean_field(item, "colour") is not None  # type: ignore[arg-type]
    assert lean_field(item, "shout") is None  # type: ignore[arg-type]  # a resolver with arguments
    assert lean_field(item, "__typename") is None  # type: ignore[arg-type]


class Staff(strawberry.BasePermission):
    message = "staff only"

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return False


@strawberry.type
class Parcel:
    weight: int
    contents: list[str] = strawberry.field(default_factory=lambda: ["mug"])
    label: str | None = strawberry.field(resolver=lambda root: f"{root.weight} kg" if root.weight else None)

    @strawberry.field
    def doubled(self) -> int:
        return self.weight * 2

    @strawberry.field
    def path(self, info: strawberry.Info) -> str:
        return ".".join(str(p) for p in info.path.as_list())

    @strawberry.field
    async def later(self, info: strawberry.Info) -> int:
        return self.weight + len(info.field_name)

    @strawberry.field
    def fails(self) -> int | None:
        raise ValueError(f"no scale for {self.weight}")

    @strawberry.field
    def missing(self) -> int:
        return self.weight or None  # type: ignore[return-value]  # a null for a non-null field

    @strawberry.field
    def times(self, n: int) -> int:
        return self.weight * n

    @strawberry.field(permission_classes=[Staff])  # type: ignore[untyped-decorator]
    def secret(self) -> int | None:
        return 42


@strawberry.type
class ParcelQuery:
    @strawberry.field
    def parcels(self) -> list[Parcel | None]:
        return [Parcel(weight=0), Parcel(weight=3)]


PARCELS = "{ parcels { weight contents label doubled path later times(n: 2) fails missing secret } }"


async def parcels(*, lean: bool) -> dict[str, Any]:
    schema = strawberry.Schema(query=ParcelQuery)
    if lean:
        assert lean_resolvers(schema) == 8  # parcels, contents, label, doubled, path, later, fails, missing
    result = await schema.execute(PARCELS)
    return {
        "data": result.data,
        "errors": sorted((e.message, tuple(e.path or ())) for e in result.errors or []),
    }


async def test_resolvers_of_their_object_alone_answer_as_strawberry_s_do() -> None:
    lean, plain = await parcels(lean=True), await parcels(lean=False)
    assert lean == plain
    assert lean["data"]["parcels"][0] is None  # its `missing` was null
    assert lean["data"]["parcels"][1] == {
        "weight": 3,
        "contents": ["mug"],
        "label": "3 kg",
        "doubled": 6,
        "path": "parcels.1.path",
        "later": 8,
        "times": 6,
        "fails": None,
        "missing": 3,
        "secret": None,
    }
    assert ("no scale for 0", ("parcels", 0, "fails")) in lean["errors"]
    assert ("staff only", ("parcels", 1, "secret")) in lean["errors"]


@strawberry.type
class Seen:
    weight: int

    @strawberry.field
    def told(self, info: strawberry.Info) -> str:
        info.context["told"] += 1
        return str(info.context["unit"])

    @strawberry.field
    def described(self, info: strawberry.Info) -> list[str]:
        return [
            info.field_name,
            info.python_name,
            type(info.schema).__name__,
            type(info.return_type).__name__,
            ",".join(getattr(f, "name", "") for f in info.selected_fields),
            str(info.variable_values),
            str(info.path.as_list()),
            info.operation.name.value if info.operation.name else "",
        ]


@strawberry.type
class SeenQuery:
    @strawberry.field
    def seen(self) -> list[Seen]:
        return [Seen(weight=1), Seen(weight=2)]


SEEN = "query Weighing($x: Boolean!) { seen @include(if: $x) { told described } }"


async def seen(*, lean: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], int]:
    schema = strawberry.Schema(query=SeenQuery, execution_context_class=LeanExecutionContext)
    if lean:
        lean_resolvers(schema)
    built = 0
    build = LeanExecutionContext.build_resolve_info

    def counted(self: LeanExecutionContext, *args: Any) -> Any:
        nonlocal built
        built += 1
        return build(self, *args)

    monkeypatch.setattr(LeanExecutionContext, "build_resolve_info", counted)
    context = {"unit": "kg", "told": 0}
    result = await schema.execute(SEEN, context_value=context, variable_values={"x": True})
    assert not result.errors
    assert context["told"] == 2
    return result.data or {}, built


async def test_a_lean_resolver_s_info_is_strawberry_s_and_built_only_when_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lean, built_lean = await seen(lean=True, monkeypatch=monkeypatch)
    plain, built_plain = await seen(lean=False, monkeypatch=monkeypatch)
    assert lean == plain
    assert lean["seen"][1]["described"] == [
        "described",
        "described",
        "Schema",
        "StrawberryList",
        "described",
        "{'x': True}",
        "['seen', 1, 'described']",
        "Weighing",
    ]
    # reading `info.context` (a resolver's dataloaders) builds nothing; the other names build it
    assert built_lean == 2  # `described`, once per item; `told` never
    assert built_plain > built_lean


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Box(Named):
    size: int
    parcels: list[Parcel]  # non-null items: one null empties the whole list
    maybe: list[Parcel | None]

    @strawberry.field
    def inner(self) -> Box | None:
        return (
            Box(name=f"{self.name}/in", size=self.size - 1, parcels=[], maybe=[]) if self.size > 0 else None
        )

    @strawberry.field
    def strict(self) -> Parcel:
        return self.parcels[0] if self.parcels else None  # type: ignore[return-value]  # a null for a non-null field

    @strawberry.field
    def broken(self) -> Parcel | None:
        raise ValueError(f"no parcel in {self.name}")

    @strawberry.field
    def wrong(self) -> Box | None:
        return Parcel(weight=1)  # type: ignore[return-value]  # not a Box: the interface's type check refuses it

    @strawberry.field
    async def later(self, info: strawberry.Info) -> list[Parcel]:
        return [Parcel(weight=len(info.field_name))]

    @strawberry.field
    def where(self, info: strawberry.Info) -> list[str]:
        return [str(p) for p in info.path.as_list()]


@strawberry.type
class BoxQuery:
    @strawberry.field
    def boxes(self) -> list[Box | None]:
        return [
            Box(name="a", size=2, parcels=[Parcel(weight=2)], maybe=[Parcel(weight=0), None]),
            Box(name="b", size=0, parcels=[Parcel(weight=0)], maybe=[]),  # weight 0: `missing` is null
        ]


BOXES = """
query($deep: Boolean!) {
  boxes {
    name size
    parcels { weight missing fails doubled }
    maybe { weight missing label }
    inner @include(if: $deep) { name inner { name size strict { weight } } }
    kept: inner @skip(if: $deep) { size }
    strict { weight path }
    broken { weight }
    wrong { size }
    later { weight later }
    where
    ... on Named { name }
    ...Sized
  }
}
fragment Sized on Box { size inner { size } }
"""


async def boxes(*, lean: bool, deep: bool) -> dict[str, Any]:
    schema = strawberry.Schema(
        query=BoxQuery, execution_context_class=LeanExecutionContext if lean else None, types=[Box]
    )
    if lean:
        lean_resolvers(schema)
    result = await schema.execute(BOXES, variable_values={"deep": deep})
    return {"data": result.data, "errors": [e.formatted for e in result.errors or []]}


@pytest.mark.parametrize("deep", [True, False])
async def test_objects_and_lists_completed_on_the_lean_path_answer_as_graphql_core_does(deep: bool) -> None:
    lean, stock = await boxes(lean=True, deep=deep), await boxes(lean=False, deep=deep)
    assert lean == stock
    paths = [tuple(e["path"]) for e in lean["errors"]]
    assert ("boxes", 0, "broken") in paths
    assert ("boxes", 0, "wrong") in paths
    assert ("boxes", 1, "parcels", 0, "missing") in paths
    first, second = lean["data"]["boxes"]
    assert first["maybe"] == [None, None]
    assert first["where"] == ["boxes", "0", "where"]
    assert second is None  # its `strict` was null


ALIASED = "{ items { import: name class: note def: colour __class__: count x: count } }"


@pytest.mark.parametrize("deep", [False, True])
def test_aliases_are_values_of_the_written_function_not_its_source(
    deep: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Response names that are Python keywords or dunders go out as they were asked for."""
    monkeypatch.setattr(compiled, "COMPILE_AFTER", 2)
    lean = strawberry.Schema(query=Query, execution_context_class=LeanExecutionContext)
    stock = strawberry.Schema(query=Query)
    query = (
        ALIASED if not deep else "{ a: items { ...F } b: items { ...F } } fragment F on Item { def: name }"
    )
    for _ in range(3):  # written at the second sight whatever the fixture says
        got, expected = lean.execute_sync(query), stock.execute_sync(query)
        assert got.data == expected.data
        assert sorted(str(e) for e in got.errors or []) == sorted(str(e) for e in expected.errors or [])
    assert got.data is not None
    assert compiled._FACTORIES  # the third answer came from a written function
    first = got.data["items" if not deep else "a"][0]
    assert first == (
        {"import": "mug", "class": None, "def": "BLUE", "__class__": 3, "x": 3}
        if not deep
        else {"def": "mug"}
    )


def test_a_form_is_written_at_its_second_sight_within_an_execution_s_allowance(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(compiled, "COMPILE_AFTER", 2)
    compiled.forget()
    form = ((0, "name", "str", False, None),)
    allowance = compiled.Allowance()
    assert compiled.factory(form, 0, 1, allowance) is None  # a document sent once pays nothing
    made = compiled.factory(form, 0, 1, allowance)
    assert made is not None
    assert compiled.factory(form, 0, 1, allowance) is made
    assert allowance.left == compiled.PER_EXECUTION - 1

    spent = compiled.Allowance()
    spent.left = 0
    other = ((0, "note", "str", True, None), (1,))
    for _ in range(3):
        assert compiled.factory(other, 0, 1, spent) is None  # run by the loop, not written
    assert compiled.factory(other, 0, 1, compiled.Allowance()) is not None


def test_the_least_recently_used_forms_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiled, "COMPILE_AFTER", 1)
    monkeypatch.setattr(compiled, "KEPT", 2)
    compiled.forget()
    forms = [((0, name, "str", False, None),) for name in ("a", "b", "c")]
    first = compiled.factory(forms[0], 0, 1, compiled.Allowance())
    compiled.factory(forms[1], 0, 1, compiled.Allowance())
    assert compiled.factory(forms[0], 0, 1, compiled.Allowance()) is first  # used again: kept
    compiled.factory(forms[2], 0, 1, compiled.Allowance())
    assert list(compiled._FACTORIES) == [forms[0], forms[2]]


def test_only_identifiers_are_written_into_the_source() -> None:
    assert compiled.identifier("created_at")
    assert not compiled.identifier("class")
    assert not compiled.identifier("__dict__")
    assert not compiled.identifier("a.b")
    assert not compiled.identifier("a; import os")


class Shelf:
    """A record: `label` is a column held in its `__dict__`, `shout` a property (not held)."""

    def __init__(self, label: str, size: int | None) -> None:
        self.label = label
        self.size = size

    @property
    def shout(self) -> str:
        return self.label.upper()


@strawberry.type
class ShelfType:
    label: str
    size: int | None
    shout: str
    at: datetime


read_lazily(ShelfType, "record", ["label", "size", "shout"])


class OddShelf:
    """Not the type's class: read as an attribute, like anything else."""

    label = "odd"
    size = None
    shout = "ODD"
    at = datetime(2026, 12, 1, tzinfo=UTC)


@strawberry.type
class ShelfQuery:
    @strawberry.field(graphql_type=list[ShelfType])  # type: ignore[untyped-decorator]
    def shelves(self) -> list[Any]:
        at = datetime(2026, 12, 5, tzinfo=UTC)
        return [
            lazily(ShelfType, record=Shelf("mugs", 3), at=at),
            lazily(ShelfType, record=Shelf("bowls", None), at=at),
            ShelfType(label="made", size=1, shout="MADE", at=at),  # its own constructor: every field held
            OddShelf(),
            lazily(ShelfType, record=Shelf("broken", "x"), at=at),  # type: ignore[arg-type]  # Int refuses it
        ]


def test_fields_read_off_a_record_answer_as_their_descriptor_does(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiled, "COMPILE_AFTER", 1)
    compiled.forget()
    lean = strawberry.Schema(query=ShelfQuery, execution_context_class=LeanExecutionContext)
    stock = strawberry.Schema(query=ShelfQuery)
    query = "{ shelves { label size shout at } }"
    for _ in range(2):
        got, expected = lean.execute_sync(query), stock.execute_sync(query)
        assert got.data == expected.data
        assert [(e.message, e.path) for e in got.errors or []] == [
            (e.message, e.path) for e in expected.errors or []
        ]
    assert got.data is not None
    assert got.data["shelves"][:4] == [
        {"label": "mugs", "size": 3, "shout": "MUGS", "at": "2026-12-05T00:00:00+00:00"},
        {"label": "bowls", "size": None, "shout": "BOWLS", "at": "2026-12-05T00:00:00+00:00"},
        {"label": "made", "size": 1, "shout": "MADE", "at": "2026-12-05T00:00:00+00:00"},
        {"label": "odd", "size": None, "shout": "ODD", "at": "2026-12-01T00:00:00+00:00"},
    ]
    assert got.data["shelves"][4] == {
        "label": "broken",
        "size": None,
        "shout": "BROKEN",
        "at": "2026-12-05T00:00:00+00:00",
    }
    forms = [form for written in compiled._FACTORIES for form in written if len(form) > 1]
    assert any(form[4] == (ShelfType, "record", "label") for form in forms)  # read off the record

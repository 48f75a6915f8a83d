"""GraphQL objects whose plain fields are read off their record when first asked for.

`from_model` used to copy every field of a record into its Strawberry object (an order's 19),
whatever the operation selected: a board of 100 orders shows 7 of an order's fields, 2 of each
line's. `read_lazily` gives a decorated Strawberry type a descriptor per such field that reads
the record held in the object's `source` attribute the first time the field is read, and keeps
the value in the object (a non-data descriptor: later reads are plain attribute reads);
`lazily` makes an object holding only what it is given. An object made with the type's own
constructor holds every field, as before, and never reaches the descriptors.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, TypeVar

T = TypeVar("T")


class RecordField:
    """One field of a Strawberry object, read from its record's `attribute` on first use."""

    __slots__ = ("attribute", "name", "source")

    def __init__(self, name: str, source: str, attribute: str) -> None:
        self.name = name
        self.source = source
        self.attribute = attribute

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            raise AttributeError(self.name)  # the class has no value for it, as before
        values = instance.__dict__
        record = values[self.source]
        # a loaded column: what the ORM's instrumented attribute returns, without its call
        value = record.__dict__.get(self.attribute, _ABSENT)
        if value is _ABSENT:
            value = getattr(record, self.attribute)  # not loaded, or not a column (a property)
        values[self.name] = value
        return value


_ABSENT = object()


def read_lazily(cls: type[T], source: str, names: Iterable[str], **renamed: str) -> type[T]:
    """Give the Strawberry type `cls` these fields, read from the record in `source` under the
    same name, and the `renamed` ones (field name = record attribute name)."""
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for name, attribute in {**{n: n for n in names}, **renamed}.items():
        if name not in fields or name in cls.__dict__:
            raise TypeError(f"{cls.__name__}.{name} is not a field without a default")
        setattr(cls, name, RecordField(name, source, attribute))
    return cls


def lazily(cls: type[T], **given: Any) -> T:
    """An instance of `cls` holding only `given` (its record among them); its other fields are
    read from the record when first asked for."""
    instance = cls.__new__(cls)
    instance.__dict__.update(given)
    return instance

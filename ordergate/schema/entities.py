"""Apollo Federation's `_entities`: a representation is checked before it is resolved.

A gateway sends `{"__typename": "Order", "id": "..."}` per entity (each of ours is keyed by
its id). One that is not an object, names no entity type of ours, or lacks its key or carries
a key that is not an id (a number, an object, a list, text too long or with characters the
store cannot take) is answered with INVALID_REPRESENTATION at `_entities.<index>` and null
there; the others resolve as usual, with only their key fields, and an entity the caller may
not see is null with NOT_FOUND.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from graphql import GraphQLObjectType, GraphQLSchema, GraphQLUnionType
from strawberry.federation.schema_directives import Key
from strawberry.schema.schema_converter import GraphQLCoreConverter

from ordergate.models.errors import Problem, ValidationFailed
from ordergate.models.text import ID_LENGTH, is_id

Keys = Mapping[str, tuple[str, ...]]


def entity_keys(schema: GraphQLSchema) -> dict[str, tuple[str, ...]]:
    """Each entity type's name and the fields of its (first) key, e.g. `{"Order": ("id",)}`."""
    union = schema.type_map.get("_Entity")
    found: dict[str, tuple[str, ...]] = {}
    for type_ in union.types if isinstance(union, GraphQLUnionType) else ():
        definition = type_.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
        keys = [d for d in definition.directives if isinstance(d, Key)]
        if keys and isinstance(type_, GraphQLObjectType):
            found[type_.name] = tuple(str(keys[0].fields).split())
    return found


def cleaned(representation: object, keys: Keys) -> dict[str, Any] | str:
    """The representation with only `__typename` and its key fields, or what is wrong with it
    (never quoting the client's values)."""
    if not isinstance(representation, dict):
        return "a representation is an object with __typename and the entity's key fields"
    typename = representation.get("__typename")
    if not isinstance(typename, str) or typename not in keys:
        return f"__typename must name an entity: {', '.join(sorted(keys))}"
    for key in keys[typename]:
        if key not in representation:
            return f"{typename} is found by its key field {key}, which is missing"
        value = representation[key]
        if not isinstance(value, str) or not is_id(value):
            return (
                f"{typename}.{key} must be an id: text of 1 to {ID_LENGTH} characters, no control characters"
            )
    return {"__typename": typename, **{key: representation[key] for key in keys[typename]}}


def resolve(
    representations: Sequence[object],
    keys: Keys,
    resolve_valid: Callable[[list[dict[str, Any]]], list[Any]],
) -> list[Any]:
    """Each representation's entity (or an awaitable of it), in order; an invalid one's place
    holds its error, which GraphQL reports at that index."""
    results: list[Any] = [None] * len(representations)
    valid: list[tuple[int, dict[str, Any]]] = []
    for index, representation in enumerate(representations):
        clean = cleaned(representation, keys)
        if isinstance(clean, str):
            results[index] = ValidationFailed(
                [Problem("INVALID_REPRESENTATION", clean, ("representations", str(index)))]
            )
        else:
            valid.append((index, clean))
    if valid:
        resolved = resolve_valid([clean for _, clean in valid])
        for (index, _), result in zip(valid, resolved, strict=True):
            results[index] = result
    return results

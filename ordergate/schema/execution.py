"""Execution with a lean path for plain scalar fields.

Most of what an operation returns is scalars and enums read straight off an object's
attributes (an order's `number`, `status`, `createdAt`): Strawberry gives such a field a
resolver that ignores its `info`, yet graphql-core builds a resolve-info object for every one of
them and walks the generic completion (non-null, list, leaf) to reach the scalar's serialiser.
For a field with no arguments and no resolver of its own whose type is a (non-null) scalar or
enum, `LeanExecutionContext` calls that resolver and the serialiser directly.

Anything out of the ordinary takes graphql-core's own path, so errors, nulls and their paths
come out exactly as before: a null for a non-null field, a value the serialiser refuses, an
exception, an awaitable, arguments, field middleware (a schema extension with a `resolve` hook).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    get_nullable_type,
    is_leaf_type,
)
from graphql.pyutils import Undefined
from strawberry.schema.schema import Schema, StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

# Strawberry's resolver for a field without a resolver function: it reads the attribute and
# takes no notice of its `info` (strawberry.schema.schema_converter.from_resolver).
STRAWBERRY_BASIC_RESOLVER = "_get_basic_result"

LeanField = tuple[Callable[..., Any], GraphQLLeafType, bool]
LeanFields = dict[tuple[str, str], LeanField | None]

# Per schema (weakly, so schemas built in tests come and go): (type name, field name) -> how
# to read the field on the lean path, or None when it must take the full one.
_LEAN: weakref.WeakKeyDictionary[GraphQLSchema, LeanFields] = weakref.WeakKeyDictionary()


def lean_field(parent_type: GraphQLObjectType, name: str) -> LeanField | None:
    definition = parent_type.fields.get(name)
    resolve = definition.resolve if definition is not None else None
    if definition is None or resolve is None or definition.args:
        return None
    field_type = definition.type
    nullable = not isinstance(field_type, GraphQLNonNull)
    leaf = field_type if nullable else field_type.of_type
    basic = getattr(resolve, "__name__", None) == STRAWBERRY_BASIC_RESOLVER
    if basic and getattr(resolve, "_is_default", False) and is_leaf_type(leaf):
        return (resolve, leaf, nullable)
    return None


class LeanExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        self._lean = manager is None or not getattr(manager, "_middleware_resolvers", None)
        fields = _LEAN.get(self.schema)
        if fields is None:
            fields = _LEAN[self.schema] = {}
        self._lean_fields = fields

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        if self._lean:
            node = field_details_list[0].node
            key = (parent_type.name, node.name.value)
            try:
                found = self._lean_fields[key]
            except KeyError:
                found = self._lean_fields[key] = lean_field(parent_type, key[1])
            if found is not None and not node.arguments:
                resolve, leaf, nullable = found
                try:
                    value = resolve(source, None)
                    if value is None:
                        if nullable:
                            return None
                    elif not isinstance(value, Exception) and not self.is_awaitable(value):
                        coerced = leaf.coerce_output_value(value)
                        if coerced is not None and coerced is not Undefined:
                            return coerced
                except Exception:  # noqa: S110 - the full path below meets it again and reports it
                    pass
        return super().execute_field(parent_type, source, field_details_list, path, position_context)


def lean_resolvers(schema: Schema) -> int:
    """Resolver functions that take nothing but their object (and perhaps `info`) called
    directly, without Strawberry's per-call wrapping (argument conversion for no arguments,
    the field-extension chain for no extensions, an awaiting coroutine around an async
    resolver). graphql-core still builds the resolve info, completes, and reports errors and
    nulls on its own path. Fields with arguments, field extensions (permissions) or exception
    handlers, and subscriptions, keep Strawberry's resolver. An object or list field without a
    resolver (a connection's `edges`, an edge's `node`) is read with `getattr` directly; scalar
    ones are left to `LeanExecutionContext`. Returns how many were made lean."""
    converter = schema.schema_converter
    if converter._exception_handler_specs:
        return 0
    made = 0
    for named in schema._schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for definition in named.fields.values():
            field = (definition.extensions or {}).get(converter.DEFINITION_BACKREF)
            if definition.args or field is None:
                continue
            if field.base_resolver is None:
                resolve = _lean_attribute(field, definition, schema.config.default_resolver)
            else:
                resolve = _lean_resolver(field, schema.config.info_class)
            if resolve is not None:
                definition.resolve = resolve
                made += 1
    return made


def _lean_attribute(
    field: StrawberryField, definition: GraphQLField, default_resolver: Any
) -> Callable[..., Any] | None:
    if field.extensions or field.is_subscription or default_resolver is not getattr:
        return None
    if is_leaf_type(get_nullable_type(definition.type)):
        return None  # the execution context's lean path reads these
    name = field.python_name

    def read(source: Any, _info: Any) -> Any:
        return getattr(source, name)

    return read


def _lean_resolver(field: StrawberryField, info_class: type[Any]) -> Callable[..., Any] | None:
    resolver = field.base_resolver
    if resolver is None or field.extensions or field.is_subscription:
        return None
    if resolver.arguments or resolver.parent_parameter:
        return None
    function = resolver.wrapped_func
    if not callable(function):
        return None
    if resolver.root_parameter is not None:
        if resolver.self_parameter is not None or resolver.info_parameter is not None:
            return None
        root = resolver.root_parameter.name

        def resolve_root(source: Any, _info: Any) -> Any:
            return function(**{root: source})

        return resolve_root
    if resolver.self_parameter is None:
        return None
    if resolver.info_parameter is None:

        def resolve_plain(source: Any, _info: Any) -> Any:
            return function(source)

        return resolve_plain
    name = resolver.info_parameter.name

    def resolve_with_info(source: Any, info: Any) -> Any:
        return function(source, **{name: info_class(_raw_info=info, _field=field)})

    return resolve_with_info

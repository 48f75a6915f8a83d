"""Execution with a lean path for plain fields.

Most of what an operation returns is scalars and enums read straight off an object's
attributes (an order's `number`, `status`, `createdAt`) and objects and lists that a resolver of
its object alone returns (an order's `lines`, a line's `total`): graphql-core builds a
resolve-info object and a path for every one of them and walks the generic completion
(non-null, list, leaf, object) to reach the serialiser or the next selection set.
`LeanExecutionContext` plans each selection set once per request: a plain scalar is read with
`operator.attrgetter` and serialised in place; a field whose resolver `lean_resolvers` made is
resolved with a resolve info built only when something reads it (`LazyInfo`), and its object or
list of objects completed by a shape found once, straight into the next selection set.

Anything out of the ordinary takes graphql-core's own path, so errors, nulls and their paths
come out exactly as before: a null for a non-null field, a value the serialiser refuses, an
exception, an awaitable, arguments, permissions (field extensions), abstract types, @stream and
@defer, field middleware (a schema extension with a `resolve` hook).
"""

from __future__ import annotations

import functools
import inspect
import operator
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    GraphQLString,
    get_nullable_type,
    is_leaf_type,
)
from graphql.execution.executor import invalid_return_type_error
from graphql.pyutils import Path, Undefined, gather_with_cancel
from graphql.type.scalars import GRAPHQL_MAX_INT, GRAPHQL_MIN_INT
from strawberry.schema.schema import Schema, StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import CustomGraphQLEnumType
from strawberry.types.field import StrawberryField
from strawberry.types.info import Info

from ordergate.schema import compiled
from ordergate.schema.types.lazy import RecordField

# Strawberry's resolver for a field without a resolver function: it reads the attribute and
# takes no notice of its `info` (strawberry.schema.schema_converter.from_resolver).
STRAWBERRY_BASIC_RESOLVER = "_get_basic_result"
STRAWBERRY_DEFINITION = "strawberry-definition"  # GraphQLCoreConverter.DEFINITION_BACKREF

# how to read it, its type, whether it is nullable, the Python type whose values its serialiser
# hands back unchanged (`str` for String and ID, `bool` for Boolean, `int` within Int's range for
# Int), if any, and for an enum of Strawberry's its Python enum and each member's name
# and the attribute it reads, when it is read with `getattr` (the only kind `compiled` inlines)
LeanField = tuple[
    Callable[..., Any], GraphQLLeafType, bool, type | None, type | None, dict[Any, str] | None, str | None
]
LeanFields = dict[tuple[str, str], LeanField | None]

# Per schema (weakly, so schemas built in tests come and go): (type name, field name) -> how
# to read the field on the lean path, or None when it must take the full one.
_LEAN: weakref.WeakKeyDictionary[GraphQLSchema, LeanFields] = weakref.WeakKeyDictionary()

# The resolvers `lean_resolvers` made, and whether each reads its `info`.
_LEAN_RESOLVERS: weakref.WeakKeyDictionary[Callable[..., Any], bool] = weakref.WeakKeyDictionary()


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
        read, attribute = _reader(definition, resolve)
        return (read, leaf, nullable, _UNCHANGED.get(leaf), *_enum_names(leaf), attribute)
    return None


_UNCHANGED: dict[GraphQLLeafType, type] = {
    GraphQLString: str,
    GraphQLID: str,
    GraphQLBoolean: bool,
    GraphQLInt: int,
}


def _enum_names(leaf: GraphQLLeafType) -> tuple[type | None, dict[Any, str] | None]:
    """For an enum Strawberry made from a Python enum, that enum and the name its serialiser
    gives each member (found as it finds it: the first value equal to the member's)."""
    if not isinstance(leaf, CustomGraphQLEnumType):
        return None, None
    names: dict[Any, str] = {}
    members: list[Any] = list(leaf.wrapped_cls)
    for member in members:
        name = next((n for n, v in leaf.values.items() if member.value == v.value), None)
        if name is not None:
            names[member] = name
    return leaf.wrapped_cls, names


def _reader(definition: GraphQLField, resolve: Callable[..., Any]) -> tuple[Callable[[Any], Any], str | None]:
    """How to read the field off its object: `operator.attrgetter` of the attribute when
    Strawberry's basic resolver would read it with the default resolver (`getattr`), else that
    resolver without an info; and the attribute's name, when it is a plain identifier."""
    field = (definition.extensions or {}).get(STRAWBERRY_DEFINITION)
    if isinstance(field, StrawberryField) and field.default_resolver is getattr:
        name = field.python_name
        return operator.attrgetter(name), name if compiled.identifier(name) else None
    return functools.partial(resolve, info=None), None


class LazyInfo(Info[Any, Any]):
    """graphql-core's resolve info for one field, built the first time anything reads it, and the
    Strawberry `Info` a lean resolver is given, in one object: a resolver that takes `info` but
    answers from what its object holds never pays for either (one object made per field, not
    two), and one that reads `info.context` (its dataloaders) or `info.path` does not build the
    resolve info for it. Strawberry's own names (`schema`, `return_type`, `selected_fields`...)
    answer as Strawberry's `Info` does; graphql-core's other names (`field_nodes`, `parent_type`,
    ...) are read off the built resolve info. graphql-core itself is only ever given `built()`."""

    __slots__ = ("_built", "_context", "_definition", "_details", "_parent", "_where")

    def __init__(
        self,
        context: LeanExecutionContext,
        field: GraphQLField,
        details: Any,
        parent: GraphQLObjectType,
        path: Path,
    ) -> None:
        self._context = context
        self._definition = field
        self._details = details
        self._parent = parent
        self._where = path
        self._built: GraphQLResolveInfo[Any] | None = None

    def built(self) -> GraphQLResolveInfo[Any]:
        if self._built is None:
            nodes = [d.node for d in self._details]
            self._built = self._context.build_resolve_info(self._definition, nodes, self._parent, self._where)
        return self._built

    @property
    def _raw_info(self) -> GraphQLResolveInfo[Any]:  # type: ignore[override]
        return self.built()

    @property
    def _field(self) -> StrawberryField:  # type: ignore[override]
        field: StrawberryField = (self._definition.extensions or {})[STRAWBERRY_DEFINITION]
        return field

    @property
    def context(self) -> Any:
        return self._context.context_value

    @property
    def path(self) -> Path:
        return self._where

    # identity, not the dataclass's comparison of built infos
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy, pickle and the like ask for dunders: not forwarded
            raise AttributeError(name)
        return getattr(self.built(), name)

    def null_error(self) -> TypeError:
        """graphql-core's error for a null in a non-null place of this field."""
        name = self._details[0].node.name.value
        return TypeError(f"Cannot return null for non-nullable field {self._parent}.{name}.")


# A lean resolver's field, whether it takes `info`, and the shape of what it returns: whether it
# is non-null, the object type of it or of its items (None: not an object or a list of them, or a
# type whose check must be awaited), and whether it is a list.
Shape = tuple[bool, GraphQLObjectType | None, bool]
# ... and, once found, the plan of the selection set its objects are completed with (the same
# for every object it returns in this execution): a one-item list, empty until then.
LeanStep = tuple[GraphQLField, bool, Shape, list[Any]]
SCALAR, RESOLVER, FULL = 0, 1, 2
# How each field of a selection set runs: its response name, its field details, and SCALAR with
# a LeanField, RESOLVER with a LeanStep, or FULL (graphql-core's own path) with None.
Step = tuple[str, Any, int, Any]
# A selection set's steps, and the function `compiled` wrote for plans of their form, if any.
Plan = tuple[list[Step], Callable[..., tuple[dict[str, Any], list[str]]] | None]


class LeanExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        self._lean = manager is None or not getattr(manager, "_middleware_resolvers", None)
        fields = _LEAN.get(self.schema)
        if fields is None:
            fields = _LEAN[self.schema] = {}
        self._lean_fields = fields
        # per selection set of this execution (graphql-core memoises them, and each is kept
        # alive here with its plan, so its id is not reused meanwhile): its fields' steps
        self._plans: dict[int, tuple[Any, Plan]] = {}
        self._allowance = compiled.Allowance()

    def _found(self, parent_type: GraphQLObjectType, name: str) -> LeanField | None:
        key = (parent_type.name, name)
        try:
            return self._lean_fields[key]
        except KeyError:
            found = self._lean_fields[key] = lean_field(parent_type, name)
            return found

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
            found = self._found(parent_type, node.name.value)
            if found is not None and not node.arguments:
                value = _read(found, source)
                if value is not Undefined:
                    return value
        return super().execute_field(parent_type, source, field_details_list, path, position_context)

    def _plan(self, parent_type: GraphQLObjectType, fields: Any) -> Plan:
        kept = self._plans.get(id(fields))
        if kept is not None and kept[0] is fields:
            return kept[1]
        steps: list[Step] = [
            (name, details, *self._step(parent_type, details)) for name, details in fields.items()
        ]
        plan = (steps, _runner(parent_type, steps, self._allowance))
        self._plans[id(fields)] = (fields, plan)
        return plan

    def _step(self, parent_type: GraphQLObjectType, details: Any) -> tuple[int, Any]:
        if any(d.node.arguments or d.fragment_variable_values for d in details):
            return (FULL, None)
        name = details[0].node.name.value
        found = self._found(parent_type, name)
        if found is not None:
            return (SCALAR, found)
        definition = parent_type.fields.get(name)
        if definition is None or definition.args or definition.resolve not in _LEAN_RESOLVERS:
            return (FULL, None)
        if any(_streamed(d.node) for d in details):
            return (FULL, None)
        return (RESOLVER, (definition, _LEAN_RESOLVERS[definition.resolve], _shape(definition.type), []))

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's `execute_fields`, each field on the path its plan gives it: a plain
        scalar read and serialised in place (no path, no info), a lean resolver's value completed
        by `_complete`; anything else, or anything out of the ordinary, by graphql-core."""
        if not self._lean or position_context is not None:  # deferred delivery: graphql-core's
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        return self._execute_steps(
            parent_type, source_value, path, self._plan(parent_type, grouped_field_set)
        )

    def _execute_steps(
        self, parent_type: GraphQLObjectType, source_value: Any, path: Path | None, plan: Plan
    ) -> Any:
        steps, run = plan
        if run is not None:
            results, waiting = run(self, parent_type, source_value, path)
        else:
            results = {}
            waiting = []
            try:
                for step in steps:
                    self._run_step(parent_type, source_value, path, step, results, waiting)
            except Exception:
                self._settle(results, waiting)
                raise
        if not waiting:
            return results
        return _gathered(results, waiting)

    def _run_step(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        step: Step,
        results: dict[str, Any],
        waiting: list[str],
    ) -> None:
        """One field of a selection set into `results` (its name into `waiting` when what it
        gives is awaitable)."""
        name, details, kind, found = step
        if kind == SCALAR:
            result = _read(found, source_value)
            if result is not Undefined:
                results[name] = result
                return
        field_path = _path(Path, (path, name, parent_type.name))
        if kind != RESOLVER:
            result = super().execute_field(parent_type, source_value, details, field_path, None)
        else:
            result = self._execute_lean(parent_type, source_value, details, field_path, found)
        if result is not Undefined:
            results[name] = result
            if type(result) not in _SYNC and _awaitable(result, self.is_awaitable):
                waiting.append(name)

    def _settle(self, results: dict[str, Any], waiting: list[str]) -> None:
        if waiting:
            self.settle_in_background([results[name] for name in waiting])

    def _execute_lean(
        self, parent_type: GraphQLObjectType, source: Any, details: Any, path: Path, step: LeanStep
    ) -> Any:
        """graphql-core's `execute_field` for a lean resolver (no arguments, no middleware), the
        resolve info built only if the resolver, a type check or an error reads it. What it
        returns is completed here when its shape was found once (an object, or a list of them,
        of a type known when the plan was made; `planned` keeps the plan of their selection
        set once found), else by `_complete`."""
        definition, takes_info, shape, planned = step
        return_type: Any = definition.type
        info = LazyInfo(self, definition, details, parent_type, path)
        try:
            resolve: Callable[..., Any] = definition.resolve  # type: ignore[assignment]
            result = resolve(source, info if takes_info else None)
            kind = type(result)
            if kind not in _SYNC and _awaitable(result, self.is_awaitable):
                return self.complete_awaitable_value(return_type, details, info.built(), path, result, None)
            nonnull, object_type, is_list = shape
            if object_type is None or isinstance(result, Exception):
                completed = self._complete(return_type, details, info, path, result)
            elif result is None or result is Undefined:
                if nonnull:
                    raise info.null_error()
                return None
            elif not is_list:
                if object_type.is_type_of is None and planned:  # `_complete_object`, in short
                    completed = self._execute_steps(object_type, result, path, planned[0])
                else:
                    completed = self._complete_object(object_type, details, info, path, result, planned)
            elif kind is not list:
                completed = self._complete(return_type, details, info, path, result)
            else:
                item_type = return_type.of_type.of_type if nonnull else return_type.of_type
                completed = self._complete_list(item_type, details, info, path, result, object_type, planned)
            if type(completed) not in _SYNC and _awaitable(completed, self.is_awaitable):
                return self._settled(completed, return_type, details, path)
            return completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, details, path)
            return None

    def _complete_object(
        self,
        object_type: GraphQLObjectType,
        details: Any,
        info: LazyInfo,
        path: Path,
        result: Any,
        planned: list[Any] | None = None,
    ) -> Any:
        if object_type.is_type_of is not None and not object_type.is_type_of(result, info):  # type: ignore[arg-type]
            raise invalid_return_type_error(object_type, result, details)
        if planned:
            return self._execute_steps(object_type, result, path, planned[0])
        fields, deferred, _ = self.collect_subfields(object_type, details)
        if deferred:
            return self.collect_and_execute_subfields(object_type, details, path, result, None)
        steps = self._plan(object_type, fields)
        if planned is not None:
            planned.append(steps)
        return self._execute_steps(object_type, result, path, steps)

    def _complete(self, return_type: Any, details: Any, info: LazyInfo, path: Path, result: Any) -> Any:
        """graphql-core's `complete_value` for an object or a list; graphql-core's own for the rest."""
        if isinstance(result, Exception):
            raise result
        if isinstance(return_type, GraphQLNonNull):
            completed = self._complete(return_type.of_type, details, info, path, result)
            if completed is None:
                raise info.null_error()
            return completed
        if result is None or result is Undefined:
            return None
        if isinstance(return_type, GraphQLList) and isinstance(result, list):
            return self._complete_list(return_type.of_type, details, info, path, result)
        if isinstance(return_type, GraphQLObjectType) and _plain_type_check(return_type):
            return self._complete_object(return_type, details, info, path, result)
        if is_leaf_type(return_type):
            return self.complete_leaf_value(return_type, result)  # graphql-core's, without an info
        return self.complete_value(return_type, details, info.built(), path, result, None)

    def _complete_list(
        self,
        item_type: Any,
        details: Any,
        info: LazyInfo,
        path: Path,
        items: list[Any],
        object_type: GraphQLObjectType | None = None,
        planned: list[Any] | None = None,
    ) -> Any:
        """graphql-core's `complete_iterable_value` and `complete_list_item_value` for a list;
        `object_type`, when given, is the (checked) object type of its items."""
        completed: list[Any] = []
        waiting: list[int] = []
        is_awaitable = self.is_awaitable
        run = _planned_run(object_type, planned)
        try:
            for index, item in enumerate(items):
                item_path = _path(Path, (path, index, None))
                if type(item) not in _SYNC and _awaitable(item, is_awaitable):
                    waiting.append(index)
                    completed.append(
                        self.complete_awaitable_list_item_value(
                            item, item_type, details, info.built(), item_path, None
                        )
                    )
                    continue
                try:
                    if object_type is None or item is None or isinstance(item, Exception):
                        value = self._complete(item_type, details, info, item_path, item)
                    elif run is not None:  # `_complete_object` with its plan's function, called here
                        results, fields_waiting = run(self, object_type, item, item_path)
                        value = _gathered(results, fields_waiting) if fields_waiting else results
                    else:
                        value = self._complete_object(object_type, details, info, item_path, item, planned)
                        run = _planned_run(object_type, planned)
                    if type(value) not in _SYNC and _awaitable(value, is_awaitable):
                        value = self._settled(value, item_type, details, item_path)
                        waiting.append(index)
                except Exception as raw_error:
                    self.handle_field_error(raw_error, item_type, details, item_path)
                    value = None
                completed.append(value)
        except Exception:
            if waiting:
                self.settle_in_background([completed[index] for index in waiting])
            raise
        if not waiting:
            return completed
        return _gathered_list(completed, waiting)

    async def _settled(self, completed: Awaitable[Any], return_type: Any, details: Any, path: Path) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, details, path)
            return None


# graphql-core's `Path(prev, key, typename)` (a named tuple) without its constructor's frame:
# one is made for every object field and list item completed
_path = tuple.__new__

# Types whose values are never awaitable: the built-ins completion meets, and object types
# Strawberry made (each added the first time one of its values is found not to be awaitable).
_SYNC: set[type] = {dict, list, str, int, float, bool, type(None)}


def _awaitable(value: Any, is_awaitable: Callable[[Any], bool]) -> bool:
    if is_awaitable(value):
        return True
    kind = type(value)
    if hasattr(kind, "__strawberry_definition__") and not hasattr(kind, "__await__"):
        _SYNC.add(kind)
    return False


def _read(found: LeanField, source: Any) -> Any:
    """A plain scalar field's serialised value, or Undefined when graphql-core must take it (a
    null for a non-null field, a value the serialiser refuses, an exception)."""
    read, leaf, nullable, unchanged, enum, names, _ = found
    try:
        value = read(source)
        kind = type(value)
        if kind is unchanged and (kind is not int or GRAPHQL_MIN_INT <= value <= GRAPHQL_MAX_INT):
            return value
        if kind is enum and names is not None and value in names:
            return names[value]
        if value is None:
            return None if nullable else Undefined
        if isinstance(value, Exception):
            return Undefined
        coerced = leaf.coerce_output_value(value)
    except Exception:
        return Undefined  # the full path meets it again and reports it
    return Undefined if coerced is None else coerced


_MISS = object()  # what a compiled read that raised holds: never a value that goes out


def _planned_run(object_type: GraphQLObjectType | None, planned: list[Any] | None) -> Any:
    """The function of the plan objects of this type are completed with, when they need no type
    check and it has one."""
    if object_type is None or not planned or object_type.is_type_of is not None:
        return None
    return planned[0][1]


def _runner(
    parent_type: GraphQLObjectType, steps: list[Step], allowance: compiled.Allowance
) -> Callable[..., tuple[dict[str, Any], list[str]]] | None:
    """The function `compiled` wrote for plans of this form, if it has written one."""
    origin = _origin(parent_type)
    forms = tuple(_form(origin, kind, found) for _, _, kind, found in steps)
    make = compiled.factory(forms, SCALAR, RESOLVER, allowance)
    if make is None:
        return None
    context = LeanExecutionContext
    return make(
        steps,
        forms,
        parent_type.name,
        context._run_step,
        context._settle,
        _MISS,
        Undefined,
        GRAPHQL_MIN_INT,
        GRAPHQL_MAX_INT,
        Path,
        _path,
        _SYNC,
        _awaitable,
    )


def _origin(parent_type: GraphQLObjectType) -> type | None:
    """The Python class Strawberry made the object type from."""
    definition = (parent_type.extensions or {}).get(STRAWBERRY_DEFINITION)
    origin = getattr(definition, "origin", None)
    return origin if isinstance(origin, type) else None


def _form(origin: type | None, kind: int, found: Any) -> compiled.Form:
    if kind != SCALAR:
        return (kind,)
    _, _, nullable, unchanged, enum, names, attribute = found
    held = origin.__dict__.get(attribute) if origin is not None and attribute is not None else None
    record = (origin, held.source, held.attribute) if isinstance(held, RecordField) else None
    if unchanged is not None:
        return (kind, attribute, unchanged.__name__, nullable, record)
    out = "enum" if enum is not None and names is not None else "other"
    return (kind, attribute, out, nullable, record)


def _shape(return_type: Any) -> Shape:
    nonnull = isinstance(return_type, GraphQLNonNull)
    inner = return_type.of_type if nonnull else return_type
    is_list = isinstance(inner, GraphQLList)
    item = inner.of_type if is_list else inner
    item_nonnull = is_list and isinstance(item, GraphQLNonNull)
    named = item.of_type if item_nonnull else item
    if isinstance(named, GraphQLObjectType) and _plain_type_check(named):
        return (nonnull, named, is_list)
    return (nonnull, None, is_list)


def _streamed(node: Any) -> bool:
    return any(directive.name.value == "stream" for directive in node.directives or ())


_TYPE_CHECKS: weakref.WeakKeyDictionary[GraphQLObjectType, bool] = weakref.WeakKeyDictionary()


def _plain_type_check(object_type: GraphQLObjectType) -> bool:
    """The type has no `is_type_of`, or one that answers at once (not a coroutine function)."""
    plain = _TYPE_CHECKS.get(object_type)
    if plain is None:
        check = object_type.is_type_of
        plain = _TYPE_CHECKS[object_type] = check is None or not inspect.iscoroutinefunction(check)
    return plain


async def _gathered(results: dict[str, Any], waiting: list[str]) -> dict[str, Any]:
    if len(waiting) == 1:
        results[waiting[0]] = await results[waiting[0]]
    else:
        values = await gather_with_cancel(*(results[name] for name in waiting))
        results.update(zip(waiting, values, strict=True))
    return results


async def _gathered_list(completed: list[Any], waiting: list[int]) -> list[Any]:
    if len(waiting) == 1:
        completed[waiting[0]] = await completed[waiting[0]]
    else:
        values = await gather_with_cancel(*(completed[index] for index in waiting))
        for index, value in zip(waiting, values, strict=True):
            completed[index] = value
    return completed


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
                base = field.base_resolver
                _LEAN_RESOLVERS[resolve] = base is not None and base.info_parameter is not None
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
    if info_class is not Info:
        return None  # a schema's own Info class: Strawberry's resolver makes it
    name = resolver.info_parameter.name
    if _second_positional(function, name):

        def resolve_with_info_second(source: Any, info: Any) -> Any:
            # the lean path's `LazyInfo` is already a Strawberry `Info`; graphql-core's own path
            # (@defer, field middleware) gives its resolve info, which Strawberry would wrap
            return function(source, info if type(info) is LazyInfo else Info(_raw_info=info, _field=field))

        return resolve_with_info_second

    def resolve_with_info(source: Any, info: Any) -> Any:
        strawberry_info = info if type(info) is LazyInfo else Info(_raw_info=info, _field=field)
        return function(source, **{name: strawberry_info})

    return resolve_with_info


def _second_positional(function: Callable[..., Any], name: str) -> bool:
    """`name` is the parameter after `self`, and may be given by position."""
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return False
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return len(parameters) >= 2 and parameters[1].name == name and parameters[1].kind in kinds

"""Strawberry's schema-extension hooks, entered per request without being wrapped again.

For every request, Strawberry makes a context manager for each of its stages (the operation,
parsing, validation, execution) and, inside it, one for every extension's hook of that stage:
it asks what kind of function the hook is and wraps it with `contextlib.contextmanager` (a new
wrapper function, `functools.update_wrapper` and all) each time, ~30 us of a `{ __typename }`'s
~330 us of GraphQL. What kind of function an extension class's hook is never changes, so it is
found once per class and stage here, and a generator hook (every hook of ours, and Strawberry's
own) is entered as the very context manager `contextlib.contextmanager` makes of it, without the
wrapper. Any other hook (a plain function, a coroutine function) is set up by Strawberry, as
before. Entering, leaving and errors are Strawberry's: its stage context managers are used,
only their `get_hook` is this one.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from types import EllipsisType
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.context import (
    ExecutingContextManager,
    ExtensionContextManagerBase,
    OperationContextManager,
    ParsingContextManager,
    ValidationContextManager,
    WrappedHook,
)
from strawberry.extensions.runner import SchemaExtensionsRunner

# (extension class, stage) -> the hook when it is a generator or async generator function (and
# which), None when the class has no hook for the stage, or ... when Strawberry must set it up
Kind = tuple[Any, bool] | EllipsisType | None
_KINDS: dict[tuple[type[SchemaExtension], str], Kind] = {}


def _kind(extension: SchemaExtension, stage: str, default: Any) -> Kind:
    key = (type(extension), stage)
    if key not in _KINDS:
        hook = getattr(type(extension), stage)
        if hook is default:
            _KINDS[key] = None
        elif inspect.isgeneratorfunction(hook):
            _KINDS[key] = (hook, False)
        elif inspect.isasyncgenfunction(hook):
            _KINDS[key] = (hook, True)
        else:
            _KINDS[key] = ...
    return _KINDS[key]


class _KnownHooks(ExtensionContextManagerBase):
    __slots__ = ()

    def get_hook(self, extension: SchemaExtension) -> WrappedHook | None:
        kind = _kind(extension, self.HOOK_NAME, self.default_hook)
        if kind is None:
            return None
        if kind is ...:
            return super().get_hook(extension)
        hook, is_async = kind
        manager: Any = (
            contextlib._AsyncGeneratorContextManager if is_async else contextlib._GeneratorContextManager
        )
        return WrappedHook(
            extension=extension, hook=functools.partial(manager, hook, (extension,), {}), is_async=is_async
        )


class _Operation(_KnownHooks, OperationContextManager):
    __slots__ = ()


class _Validation(_KnownHooks, ValidationContextManager):
    __slots__ = ()


class _Parsing(_KnownHooks, ParsingContextManager):
    __slots__ = ()


class _Executing(_KnownHooks, ExecutingContextManager):
    __slots__ = ()


class KnownHooksRunner(SchemaExtensionsRunner):
    """Strawberry's runner, with its four stages' hooks set up as `_KnownHooks` does."""

    def operation(self) -> OperationContextManager:
        return _Operation(self.extensions)

    def validation(self) -> ValidationContextManager:
        return _Validation(self.extensions)

    def parsing(self) -> ParsingContextManager:
        return _Parsing(self.extensions)

    def executing(self) -> ExecutingContextManager:
        return _Executing(self.extensions)

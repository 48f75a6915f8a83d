"""Schema-extension hooks set up once per class and stage (`schema.hooks`) run as Strawberry's
own runner runs them: the same hooks, in the same order, seeing the same errors, with the same
answers; and the served schema uses it."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext

from ordergate.schema import hooks
from ordergate.schema.build import build_schema

EVENTS: list[str] = []


class Generators(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        EVENTS.append("generators: operation")
        yield
        result = self.execution_context.result
        errors = len(getattr(result, "errors", None) or [])
        EVENTS.append(f"generators: operation done, {errors} errors")

    def on_parse(self) -> Iterator[None]:
        EVENTS.append("generators: parse")
        yield
        EVENTS.append("generators: parsed")

    def on_validate(self) -> Iterator[None]:
        EVENTS.append("generators: validate")
        yield
        EVENTS.append("generators: validated")

    def on_execute(self) -> Iterator[None]:
        EVENTS.append("generators: execute")
        try:
            yield
        except Exception as error:  # an error raised through the stage is seen, and goes on
            EVENTS.append(f"generators: execute raised {error}")
            raise
        EVENTS.append("generators: executed")


class AsyncGenerators(SchemaExtension):
    async def on_operation(self) -> AsyncIterator[None]:
        EVENTS.append("async: operation")
        yield
        EVENTS.append("async: operation done")

    async def on_execute(self) -> AsyncIterator[None]:
        EVENTS.append("async: execute")
        yield
        EVENTS.append("async: executed")


class Plain(SchemaExtension):
    def on_validate(self) -> None:  # type: ignore[override]
        EVENTS.append("plain: validate")

    async def on_execute(self) -> None:  # type: ignore[override]
        EVENTS.append("plain: execute")


class Refusing(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        if self.execution_context.variables and self.execution_context.variables.get("refuse"):
            raise ValueError("refused before execution")
        yield


@strawberry.type
class Query:
    @strawberry.field
    def hello(self, fail: bool = False) -> str:
        if fail:
            raise ValueError("no greeting")
        return "hi"


class StrawberrySchema(strawberry.Schema):
    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        return SchemaExtensionsRunner(execution_context=execution_context, extensions=extensions)


class KnownHooksSchema(strawberry.Schema):
    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        return hooks.KnownHooksRunner(execution_context=execution_context, extensions=extensions)


DOCUMENTS: list[tuple[str, dict[str, Any]]] = [
    ("{ hello }", {}),
    ("query($fail: Boolean!) { hello(fail: $fail) }", {"fail": True}),
    ("{ nothing }", {}),  # refused by validation
    ("{ hello", {}),  # does not parse
    (
        "query($refuse: Boolean!) { hello @include(if: $refuse) }",
        {"refuse": True},
    ),  # a hook raises as execution begins
]


async def answers(schema_class: type[strawberry.Schema]) -> list[tuple[Any, list[str], list[str]]]:
    schema = schema_class(query=Query, extensions=[Generators, AsyncGenerators, Plain, Refusing])
    seen = []
    for document, variables in DOCUMENTS:
        EVENTS.clear()
        try:
            result = await schema.execute(document, variable_values=variables)
            outcome: Any = (result.data, [e.message for e in result.errors or []])
        except Exception as error:  # what Strawberry raises, the hooks' runner must raise too
            outcome = f"raised {type(error).__name__}: {error}"
        seen.append((outcome, list(EVENTS), [document]))
    return seen


async def test_hooks_run_as_strawberry_runs_them() -> None:
    known, strawberrys = await answers(KnownHooksSchema), await answers(StrawberrySchema)

    assert known == strawberrys
    first_events = known[0][1]
    assert first_events[0] == "generators: operation"
    assert "plain: validate" in first_events
    assert "async: executed" in first_events
    assert known[1][0] == (None, ["no greeting"])


def test_a_hook_s_kind_is_found_once_per_class_and_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hooks, "_KINDS", {})
    looked: list[object] = []
    real = inspect.isgeneratorfunction

    def counted(function: object) -> bool:
        looked.append(function)
        return bool(real(function))

    monkeypatch.setattr(inspect, "isgeneratorfunction", counted)
    runner = hooks.KnownHooksRunner(execution_context=None, extensions=[Generators(), Generators()])  # type: ignore[arg-type]
    for _ in range(3):
        assert len(runner.operation().hooks) == 2
        assert len(runner.executing().hooks) == 2

    assert looked == [Generators.on_operation, Generators.on_execute]


def test_the_served_schema_sets_its_hooks_up_once() -> None:
    schema = build_schema()
    runner = schema.create_extensions_runner(None, [])  # type: ignore[arg-type]

    assert isinstance(runner, hooks.KnownHooksRunner)

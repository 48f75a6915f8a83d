"""Selection sets run by a function written for their plan.

The lean path (`schema/execution.py`) plans each selection set once per request and then, for
every object, walks the plan's steps: unpack a step, branch on its kind, call a reader, check
what it read, write it out. A board of 100 orders has ~2,000 scalars and ~1,000 object fields.
Here the plans of one form (which kind each step is; for a plain scalar, how it is read and
which Python type goes out unchanged) share one Python function, written once per process, with
a block per field: a plain scalar's attribute read in place and the common case (a `str` for a
String or ID, a `bool`, an `int` within Int's range, a member of a Strawberry enum, a null where
one is allowed) written straight into the result; a lean resolver's field resolved and completed
as `LeanExecutionContext._execute_lean` does; anything else (a value the serialiser must see, a
read that raised, graphql-core's own path) handed to the lean path's own step, `field`, which
answers exactly as before: nulls, errors and their paths are graphql-core's.

What the code is made of comes from the schema, never from a request: the attribute names are
Python identifiers of Strawberry fields (`identifier`), and the response names (aliases) reach
the function as values, not as source. A form is written the `COMPILE_AFTER`th time it is seen
(a document sent once never pays for it), an execution writes at most `PER_EXECUTION` (a document
of many odd selection sets is run by the plain loop, not compiled at the server's expense), and
at most `KEPT` forms are kept, the least recently used dropped first.
"""

from __future__ import annotations

import keyword
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

# a step's form: (kind,) for a resolver or graphql-core's path; (kind, attribute or None,
# "str" | "int" | "bool" | "enum" | "other", nullable, record) for a plain scalar, where record is
# (the object's class, the attribute holding its record, the record's attribute) for a field
# `lazy.RecordField` reads (None for any other)
Form = tuple[Any, ...]
Factory = Callable[..., Callable[..., Any]]

KEPT = 512
COMPILE_AFTER = 2
PER_EXECUTION = 4
_NULL = "            elif v is None:"
_FACTORIES: OrderedDict[tuple[Form, ...], Factory] = OrderedDict()
_SEEN: OrderedDict[tuple[Form, ...], int] = OrderedDict()


class Allowance:
    """How many more forms one execution may have written."""

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = PER_EXECUTION


def factory(forms: tuple[Form, ...], scalar: int, resolver: int, allowance: Allowance) -> Factory | None:
    """The function maker for plans of these forms; None while it is not written (seen fewer than
    `COMPILE_AFTER` times, or this execution's allowance is spent)."""
    made = _FACTORIES.get(forms)
    if made is not None:
        _FACTORIES.move_to_end(forms)
        return made
    seen = _SEEN.pop(forms, 0) + 1
    if seen < COMPILE_AFTER or allowance.left <= 0:
        _SEEN[forms] = seen
        while len(_SEEN) > KEPT:
            _SEEN.popitem(last=False)
        return None
    allowance.left -= 1
    made = _FACTORIES[forms] = _compile(forms, scalar, resolver)
    while len(_FACTORIES) > KEPT:
        _FACTORIES.popitem(last=False)
    return made


def forget() -> None:
    """Every written function and every sighting (tests)."""
    _FACTORIES.clear()
    _SEEN.clear()


def _read(index: int, attribute: str | None, record: tuple[type, str, str] | None) -> list[str]:
    """Lines that read the field into `v`: the attribute; for a field `lazy.RecordField` reads off
    the object's record, what it would read (the object's own value, else the record's loaded
    column, else the descriptor itself) without calling it."""
    if attribute is None:
        return [f"                v = R{index}(source)"]
    if record is None:
        return [f"                v = source.{attribute}"]
    _, held_in, column = record
    return [
        f"                if type(source) is C{index}:",
        f"                    v = source.__dict__.get({attribute!r}, MISS)",
        "                    if v is MISS:",
        f"                        v = source.__dict__[{held_in!r}].__dict__.get({column!r}, MISS)",
        "                        if v is MISS:",
        f"                            v = source.{attribute}",
        "                else:",
        f"                    v = source.{attribute}",
    ]


def _scalar(index: int, form: Form) -> list[str]:
    """A plain scalar's block: read, the common case written out, the rest to `field`."""
    _, attribute, out, nullable, record = form
    read = _read(index, attribute, record)
    null = [_NULL, f"                results[K{index}] = None"] if nullable else []
    slow = [
        "            else:",
        f"                field(ctx, parent_type, source, path, S{index}, results, waiting)",
    ]
    if out == "other":  # the serialiser sees it
        return [
            "            try:",
            *read,
            "                if v is None or isinstance(v, Exception):",
            "                    r = MISS",
            "                else:",
            f"                    r = SER{index}(v)",
            "            except Exception:",
            "                v = r = MISS",
            "            if r is not MISS and r is not None and r is not UNDEFINED:",
            f"                results[K{index}] = r",
            *null,
            *slow,
        ]
    test = {
        "str": "type(v) is str",
        "bool": "type(v) is bool",
        "int": "type(v) is int and MIN <= v <= MAX",
        "enum": f"type(v) is E{index} and v in N{index}",
    }[out]
    value = f"N{index}[v]" if out == "enum" else "v"
    return [
        "            try:",
        *read,
        "            except Exception:",
        "                v = MISS",
        f"            if {test}:",
        f"                results[K{index}] = {value}",
        *null,
        *slow,
    ]


def identifier(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("__")


def _compile(forms: tuple[Form, ...], scalar: int, resolver: int) -> Factory:
    setup: list[str] = []
    body: list[str] = []
    for index, form in enumerate(forms):
        setup.append(f"    K{index} = steps[{index}][0]; S{index} = steps[{index}]")
        if form[0] == resolver:
            setup.append(f"    D{index} = S{index}[1]; L{index} = S{index}[3]")
            body += [
                f"            at = PATH(Path, (path, K{index}, TN))",
                f"            r = lean(parent_type, source, D{index}, at, L{index})",
                "            if r is not UNDEFINED:",
                f"                results[K{index}] = r",
                "                if type(r) not in SYNC and awaitable(r, is_awaitable):",
                f"                    waiting.append(K{index})",
            ]
        elif form[0] != scalar:
            body.append(f"            field(ctx, parent_type, source, path, S{index}, results, waiting)")
        else:
            setup += [
                f"    F{index} = S{index}[3]; R{index} = F{index}[0]",
                f"    SER{index} = F{index}[1].coerce_output_value",
                f"    E{index} = F{index}[4]; N{index} = F{index}[5]",
                *([f"    C{index} = forms[{index}][4][0]"] if form[4] is not None else []),
            ]
            body += _scalar(index, form)
    source = "\n".join(
        [
            "def make(steps, forms, TN, field, settle, MISS, UNDEFINED, MIN, MAX, Path, PATH, SYNC,",
            "         awaitable):",
            *setup,
            "    def run(ctx, parent_type, source, path):",
            "        results = {}",
            "        waiting = []",
            "        lean = ctx._execute_lean",
            "        is_awaitable = ctx.is_awaitable",
            "        try:",
            *body,
            "        except Exception:",
            "            settle(ctx, results, waiting)",
            "            raise",
            "        return results, waiting",
            "    return run",
        ]
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, "<ordergate plan>", "exec"), namespace)  # noqa: S102 - schema-made code
    made: Factory = namespace["make"]
    return made

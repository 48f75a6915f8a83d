"""Every string the API accepts is one the store can keep, on SQLite and PostgreSQL alike.

The schema is walked, so a new `String` or `ID` input is covered without editing this file:
each one is sent a NUL, an unpaired surrogate and a 100,000-character value, and answered
with a coded userError (mutations) or top-level error (queries) at its path, never INTERNAL.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
)
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ordergate.connectors.payloads import load_json
from ordergate.models.errors import Problem
from ordergate.models.pagination import encode_cursor
from ordergate.models.text import UNSTORABLE, check_text, is_id, scrub
from ordergate.schema.build import build_schema
from ordergate.schema.text import MAXIMA
from ordergate.usecases.services import Services
from tests.builders import a_line, a_token, an_address, an_order_input
from tests.contract import operation
from tests.graphql_client import execute
from tests.test_place_order import row_counts
from tests.test_returns import ANN, line_id, shipped_order, start_return

ADMIN = a_token("admin")
AGENT = a_token("agent")
SCHEMA = build_schema()._schema
NUL = "a\x00"  # short enough for any field: countryCode holds 2
SURROGATE = "\ud800"
HUGE = "x" * 100_000
# Storable, and as long as each column allows: line breaks, a tab, accents, an emoji (one
# character outside the BMP, four bytes of UTF-8), and a NUL-lookalike (U+2400).
RICH = "Ligne 1\nLigne 2\r\n\tété 🙂 ␀ "
SAMPLES: dict[str, Any] = {
    "String": "x",
    "ID": "00000000-0000-0000-0000-000000000000",
    "Int": 1,
    "Float": 1.0,
    "Boolean": False,
    "Decimal": "1.00",
    "DateTime": "2026-01-01T00:00:00+00:00",
    "Date": "2026-01-01",
}


def rich(length: int) -> str:
    """Storable text of exactly `length` characters that ends in a letter (values are stripped)."""
    return (RICH * (length // len(RICH) + 1))[: length - 1] + "z"


# --- walking the schema ---------------------------------------------------------------------


def sample(type_: GraphQLInputType) -> Any:
    """A storable value of `type_` with every field of every input object filled in."""
    if isinstance(type_, GraphQLNonNull):
        return sample(type_.of_type)
    if isinstance(type_, GraphQLList):
        return [sample(type_.of_type)]
    if isinstance(type_, GraphQLInputObjectType):
        return {name: sample(field.type) for name, field in type_.fields.items()}
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    assert isinstance(type_, GraphQLScalarType)
    return SAMPLES[type_.name]


def text_leaves(
    type_: GraphQLInputType, coordinate: str, path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], str, str]]:
    """(path, schema coordinate, "String" or "ID") of every text leaf of a sampled value."""
    if isinstance(type_, GraphQLNonNull):
        yield from text_leaves(type_.of_type, coordinate, path)
    elif isinstance(type_, GraphQLList):
        yield from text_leaves(type_.of_type, coordinate, (*path, "0"))
    elif isinstance(type_, GraphQLInputObjectType):
        for name, field in type_.fields.items():
            yield from text_leaves(field.type, f"{type_.name}.{name}", (*path, name))
    elif isinstance(type_, GraphQLScalarType) and type_.name in ("String", "ID"):
        yield path, coordinate, type_.name


def leaves_of(root: GraphQLObjectType, name: str) -> list[tuple[tuple[str, ...], str, str]]:
    field = root.fields[name]
    return [
        leaf
        for arg_name, arg in field.args.items()
        for leaf in text_leaves(arg.type, f"{root.name}.{name}({arg_name}:)", (arg_name,))
    ]


def fields_with_text(root: GraphQLObjectType | None) -> list[str]:
    return [name for name in (root.fields if root else {}) if root and leaves_of(root, name)]


def put(arguments: dict[str, Any], path: tuple[str, ...], value: str) -> dict[str, Any]:
    changed = copy.deepcopy(arguments)
    target: Any = changed
    for part in path[:-1]:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        target[int(path[-1])] = value
    else:
        target[path[-1]] = value
    return changed


def document(kind: str, root: GraphQLObjectType, name: str, selection: str) -> str:
    field = root.fields[name]
    variables = ", ".join(f"${a}: {arg.type}" for a, arg in field.args.items())
    passed = ", ".join(f"{a}: ${a}" for a in field.args)
    return f"{kind}({variables}) {{ {name}({passed}) {selection} }}"


async def post(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """As a client would send it, with `\\u` escapes (httpx cannot encode an unpaired surrogate)."""
    response = await client.post(
        "/graphql",
        content=json.dumps({"query": query, "variables": variables}),
        headers={"content-type": "application/json", "authorization": f"Bearer {ADMIN}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def expected(kind: str, bad: str) -> str:
    if kind == "ID":
        return "NOT_FOUND"
    return "TOO_LONG" if bad is HUGE else "INVALID_CHARACTERS"


# --- the declarations -----------------------------------------------------------------------


def test_every_string_input_declares_its_maximum() -> None:
    coordinates = {
        coordinate
        for root in (SCHEMA.query_type, SCHEMA.mutation_type, SCHEMA.subscription_type)
        for name in (root.fields if root else {})
        for _, coordinate, kind in leaves_of(root, name)  # type: ignore[arg-type]
        if kind == "String"
    }

    assert coordinates - MAXIMA.keys() == set(), "add these to ordergate.schema.text.MAXIMA"
    assert MAXIMA.keys() - coordinates == set(), "these are no longer in the schema"


def test_every_mutation_can_answer_with_user_errors() -> None:
    assert SCHEMA.mutation_type is not None
    for name, field in SCHEMA.mutation_type.fields.items():
        payload = get_named_type(field.type)
        assert isinstance(payload, GraphQLObjectType), name
        assert "userErrors" in payload.fields, name


def test_free_text_maxima_are_documented_in_the_schema() -> None:
    mutation = SCHEMA.mutation_type
    assert mutation is not None
    reason = mutation.fields["rejectFulfillmentOrder"].args["reason"]
    return_line = SCHEMA.type_map["ReturnLineInput"]
    assert isinstance(return_line, GraphQLInputObjectType)
    return_reason = return_line.fields["reason"]

    assert reason.description == "At most 500 characters."
    assert return_reason.description == "At most 500 characters."


# --- mutations and queries, on both backends -------------------------------------------------


def answers_user_errors(root: GraphQLObjectType | None, name: str) -> bool:
    """Whether a root field's payload carries `userErrors` (every mutation's, and a few queries')."""
    assert root is not None
    payload = get_named_type(root.fields[name].type)
    return isinstance(payload, GraphQLObjectType) and "userErrors" in payload.fields


MUTATIONS = [("mutation", name) for name in fields_with_text(SCHEMA.mutation_type)] + [
    ("query", name)
    for name in fields_with_text(SCHEMA.query_type)
    if answers_user_errors(SCHEMA.query_type, name)
]
QUERIES = [
    name for name in fields_with_text(SCHEMA.query_type) if not answers_user_errors(SCHEMA.query_type, name)
]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(("operation_type", "name"), MUTATIONS)
async def test_a_mutation_refuses_unstorable_text_in_every_string_input_as_user_errors(
    module_client: httpx.AsyncClient, operation_type: str, name: str
) -> None:
    """And a query whose payload has `userErrors` (simulateRouting) answers the same way. One
    gateway serves all of them (`module_client`): each request is refused, so none writes."""
    root = SCHEMA.mutation_type if operation_type == "mutation" else SCHEMA.query_type
    assert root is not None
    query = document(operation_type, root, name, "{ userErrors { code field message } }")
    arguments = {a: sample(arg.type) for a, arg in root.fields[name].args.items()}

    for path, coordinate, kind in leaves_of(root, name):
        for bad in (NUL, SURROGATE, HUGE):
            body = await post(module_client, query, put(arguments, path, bad))

            assert "errors" not in body, (coordinate, body)
            errors = body["data"][name]["userErrors"]
            code = expected(kind, bad)
            assert [(e["code"], e["field"]) for e in errors] == [(code, list(path))], coordinate
            if code == "TOO_LONG":
                assert f"at most {MAXIMA[coordinate]} characters" in errors[0]["message"]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("name", QUERIES)
async def test_a_query_refuses_unstorable_text_with_a_coded_error(
    module_client: httpx.AsyncClient, name: str
) -> None:
    root = SCHEMA.query_type
    assert root is not None
    query = document("query", root, name, "{ __typename }")
    arguments = {a: sample(arg.type) for a, arg in root.fields[name].args.items()}

    for path, coordinate, kind in leaves_of(root, name):
        for bad in (NUL, SURROGATE, HUGE):
            body = await post(module_client, query, put(arguments, path, bad))

            extensions = [e.get("extensions", {}) for e in body["errors"]]
            code = expected(kind, bad)
            assert [(x.get("code"), x.get("field")) for x in extensions] == [(code, list(path))], coordinate
            assert (body["data"] or {}).get(name) is None


async def test_a_forged_cursor_carrying_a_nul_is_refused(client: httpx.AsyncClient) -> None:
    forged = encode_cursor("2026-01-01T00:00:00+00:00", "an\x00id")

    body = await execute(
        client, "query($a: String) { orders(after: $a) { totalCount } }", {"a": forged}, token=ADMIN
    )

    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_CURSOR"]


# --- what may be kept is kept, exactly ------------------------------------------------------


async def test_an_order_keeps_text_as_long_as_its_columns_allow_with_line_breaks_and_emoji(
    client: httpx.AsyncClient,
) -> None:
    name, line1, reference = rich(MAXIMA["AddressInput.name"]), rich(255), rich(128)
    order = an_order_input(shippingAddress=an_address(name=name, line1=line1), externalReference=reference)

    placed = await execute(client, operation("PlaceOrder"), {"input": order}, token=ADMIN)
    found = await execute(
        client,
        "query($id: ID!) { order(id: $id) { externalReference shippingAddress { name line1 } } }",
        {"id": placed["data"]["placeOrder"]["order"]["id"]},
        token=ADMIN,
    )

    assert placed["data"]["placeOrder"]["userErrors"] == []
    assert found["data"]["order"] == {
        "externalReference": reference,
        "shippingAddress": {"name": name, "line1": line1},
    }


async def test_a_refused_order_writes_nothing(client: httpx.AsyncClient, services: Services) -> None:
    before = await row_counts(services)

    body = await execute(
        client, operation("PlaceOrder"), {"input": an_order_input(channel="web\x00")}, token=ADMIN
    )

    assert [e["code"] for e in body["data"]["placeOrder"]["userErrors"]] == ["INVALID_CHARACTERS"]
    assert await row_counts(services) == before


async def test_a_return_reason_of_the_full_length_is_kept_and_one_longer_is_too_long(
    client: httpx.AsyncClient,
) -> None:
    order = await shipped_order(client, [a_line("MUG-BLUE", 2)])
    line = line_id(order, "MUG-BLUE")
    reason = rich(MAXIMA["ReturnLineInput.reason"])

    too_long = await start_return(client, ANN, order["id"], [{"lineId": line, "quantity": 1, "reason": HUGE}])
    kept = await start_return(client, ANN, order["id"], [{"lineId": line, "quantity": 1, "reason": reason}])
    found = await execute(
        client,
        "query($id: ID!) { order(id: $id) { returns { lines { reason } } } }",
        {"id": order["id"]},
        token=AGENT,
    )

    assert [(e["code"], e["field"]) for e in too_long["userErrors"]] == [
        ("TOO_LONG", ["input", "lines", "0", "reason"])
    ]
    assert kept["userErrors"] == []
    assert found["data"]["order"]["returns"] == [{"lines": [{"reason": reason}]}]


async def test_a_hold_note_of_the_full_length_is_kept(client: httpx.AsyncClient) -> None:
    placed = await execute(client, operation("PlaceOrder"), {"input": an_order_input()}, token=ADMIN)
    order_id = placed["data"]["placeOrder"]["order"]["id"]
    note = rich(MAXIMA["HoldOrderInput.note"])

    held = await execute(
        client,
        "mutation($input: HoldOrderInput!) { holdOrder(input: $input) "
        "{ order { holds { note } } userErrors { code } } }",
        {"input": {"orderId": order_id, "reason": "OTHER", "note": note}},
        token=AGENT,
    )

    assert held["data"]["holdOrder"] == {"order": {"holds": [{"note": note}]}, "userErrors": []}


async def test_a_cancellation_keyed_with_a_full_length_unicode_key_goes_through(
    client: httpx.AsyncClient,
) -> None:
    placed = await execute(client, operation("PlaceOrder"), {"input": an_order_input()}, token=ANN)
    order_id = placed["data"]["placeOrder"]["order"]["id"]
    key = rich(MAXIMA["CancelOrderInput.idempotencyKey"])
    cancel = operation("CancelMyOrder")
    variables = {"input": {"orderId": order_id, "reason": "CUSTOMER", "idempotencyKey": key}}

    first = await execute(client, cancel, variables, token=ANN)
    again = await execute(client, cancel, variables, token=ANN)

    assert first["data"]["cancelOrder"]["userErrors"] == []
    assert first["data"]["cancelOrder"]["order"]["status"] == "CANCELLED"
    assert again["data"]["cancelOrder"] == first["data"]["cancelOrder"]


# --- federation: _entities -------------------------------------------------------------------

ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Location { code } } }"
BAD_REPRESENTATIONS = {
    "a number": 7,
    "a string": "Order:1",
    "a list": [{"__typename": "Order", "id": "x"}],
    "no __typename": {"id": "00000000-0000-0000-0000-000000000000"},
    "__typename not text": {"__typename": 5, "id": "x"},
    "an unknown type": {"__typename": "Invoice", "id": "x"},
    "a type that is not an entity": {"__typename": "Money", "id": "x"},
    "no key": {"__typename": "Order"},
    "a numeric key": {"__typename": "Order", "id": 42},
    "an object key": {"__typename": "Order", "id": {"id": "x"}},
    "a list key": {"__typename": "Order", "id": ["x"]},
    "a null key": {"__typename": "Order", "id": None},
    "an empty key": {"__typename": "Customer", "id": ""},
    "an over-long key": {"__typename": "Product", "id": HUGE},
    "a key with a NUL": {"__typename": "Location", "id": NUL},
    "a key with a surrogate": {"__typename": "Order", "id": SURROGATE},
}


@pytest.mark.parametrize("representation", BAD_REPRESENTATIONS.values(), ids=BAD_REPRESENTATIONS.keys())
async def test_a_malformed_representation_is_a_coded_error_beside_the_good_ones(
    client: httpx.AsyncClient, representation: Any
) -> None:
    locations = await execute(client, "{ locations { id code } }", token=ADMIN)
    good = locations["data"]["locations"][0]

    body = await post(client, ENTITIES, {"r": [{"__typename": "Location", "id": good["id"]}, representation]})

    assert body["data"]["_entities"] == [{"__typename": "Location", "code": good["code"]}, None]
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
        (["_entities", 1], "INVALID_REPRESENTATION")
    ]


async def test_fields_beside_the_key_are_ignored(client: httpx.AsyncClient) -> None:
    locations = await execute(client, "{ locations { id code } }", token=ADMIN)
    good = locations["data"]["locations"][0]

    body = await post(client, ENTITIES, {"r": [{"__typename": "Location", "id": good["id"], "extra": [1]}]})

    assert "errors" not in body, body
    assert body["data"] == {"_entities": [{"__typename": "Location", "code": good["code"]}]}


# --- the rule itself --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "codes"),
    [
        ("plain", []),
        ("tab\tnew\nline\rreturn", []),
        ("emoji 🙂 and ␀", []),
        ("nul\x00", ["INVALID_CHARACTERS"]),
        ("bell\x07", ["INVALID_CHARACTERS"]),
        ("escape\x1b", ["INVALID_CHARACTERS"]),
        ("lone \udc00", ["INVALID_CHARACTERS"]),
        ("x" * 41, ["TOO_LONG"]),
        ("\x00" * 41, ["INVALID_CHARACTERS", "TOO_LONG"]),
    ],
)
def test_text_is_storable_without_control_characters_and_within_its_length(
    value: str, codes: list[str]
) -> None:
    problems = check_text(value, ("input", "lines", "0", "reason"), 40)

    assert [p.code for p in problems] == codes
    assert all(p.field == ("input", "lines", "0", "reason") for p in problems)
    assert all(p.message.startswith("reason ") for p in problems)


def test_too_long_says_the_maximum() -> None:
    assert check_text("x" * 11, ("note",), 10) == [
        Problem("TOO_LONG", "note may be at most 10 characters", ("note",))
    ]


@pytest.mark.parametrize(
    ("value", "well_formed"),
    [
        ("00000000-0000-0000-0000-000000000000", True),
        ("missing", True),
        ("", False),
        ("x" * 37, False),
        ("a\x00", False),
    ],
)
def test_an_id_is_short_storable_text(value: str, well_formed: bool) -> None:
    assert is_id(value) is well_formed


def test_upstream_json_loses_unstorable_characters_and_keeps_the_rest() -> None:
    body = b'{"name": "Ann\\u0000 Lee", "lines": [{"sku": "MUG\\u0007", "note": "\\ud800ok\\n"}], "n": 2}'

    assert load_json(body) == {"name": "Ann Lee", "lines": [{"sku": "MUG", "note": "ok\n"}], "n": 2}
    assert scrub(["a\x00", 1, None]) == ["a", 1, None]


# Characters the scrub is about (and their neighbours), mixed into any character at all (joined
# from lists: `st.text` leaves surrogates out of an alphabet it is given).
_TRICKY = [
    "\x00",
    "\x08",
    "\x09",
    "\x0a",
    "\x0c",
    "\x0d",
    "\x1f",
    " ",
    "\\",
    '"',
    "\ud800",
    "\udfff",
    "\ue000",
    "é",
]
_JSON_VALUES = st.recursive(
    st.none()
    | st.integers()
    | st.lists(st.sampled_from(_TRICKY) | st.characters(exclude_categories=()), max_size=8).map("".join),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)


@given(value=_JSON_VALUES, ascii_only=st.booleans(), as_text=st.booleans())
@example(value=["x\ud800"], ascii_only=False, as_text=False)  # a surrogate as raw UTF-8 bytes
@example(value={"a": "x\x08"}, ascii_only=False, as_text=False)  # "\b", an escape
@example(value={"a": "\udfff"}, ascii_only=False, as_text=True)
@settings(max_examples=300, deadline=None, database=None)
def test_a_body_is_scrubbed_whenever_it_could_hold_an_unstorable_character(
    value: Any, ascii_only: bool, as_text: bool
) -> None:
    """Skipping the scrub of a body with nothing to scrub changes no answer: control characters,
    surrogates (escaped or as raw bytes), `\\b` and `\\f` escapes, bodies as bytes or text."""
    text = json.dumps(value, ensure_ascii=ascii_only)
    body: str | bytes = text if as_text else text.encode("utf-8", "surrogatepass")

    loaded = load_json(body)

    assert loaded == scrub(json.loads(text))
    assert not any(UNSTORABLE.search(s) for s in _strings(loaded))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():  # names are not kept, values are
            yield from _strings(item)

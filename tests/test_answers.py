"""Kept answers (`schema.answers`): the same catalogue or availability body from the same caller
is answered from kept bytes, identical to what GraphQL would say, and never once anything it
showed has changed: a commit here, a change another replica announces, the clock past the
views' bound or past a hold's expiry, a stale ERP. Only documents whose every field the views
answer are kept; a kept answer still pays from the caller's budget."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from starlette.applications import Starlette

from ordergate.app import create_app
from ordergate.bootstrap import Sandboxes
from ordergate.models.commands import LineRequest, ReserveInventory
from ordergate.models.identity import Principal, Role
from ordergate.schema.answers import KEPT, AnswerCache, Kept
from ordergate.schema.build import build_schema
from ordergate.settings import Settings
from ordergate.usecases import reservations
from ordergate.usecases.services import Services
from ordergate.usecases.views import Reading, ReadViews
from tests.builders import a_token
from tests.clock import moving
from tests.contract import operation
from tests.services import require_redis
from tests.test_inventory import unreachable_erp
from tests.test_views import eventually, replica

CATALOG = operation("Catalog")
AVAILABILITY = operation("ProductAvailability")
STOREFRONT = a_token("storefront")
AUSTIN = {"countryCode": "US", "postalCode": "78701"}
MUG = "MUG-BLUE"


def answers(app: Starlette) -> AnswerCache:
    cache = app.state.graphql.answers
    assert isinstance(cache, AnswerCache)
    return cache


def steady(app: Starlette) -> None:
    """Views kept for a minute, not a second: on a loaded machine two requests in a row can be
    more than a second apart. The bound itself is tested with a moved clock."""
    app.state.services.views.max_age = 60


async def post(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any],
    token: str | None = STOREFRONT,
    **headers: str,
) -> httpx.Response:
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


async def ats(client: httpx.AsyncClient, sku: str = MUG) -> int:
    response = await post(client, AVAILABILITY, {"skus": [sku], "destination": AUSTIN})
    body = response.json()
    assert "errors" not in body, body
    units: int = body["data"]["availability"][0]["availableToSell"]
    return units


async def hold(services: Services, quantity: int, ttl_seconds: int = 600) -> None:
    await reservations.reserve_inventory(
        services,
        Principal("storefront", Role.STOREFRONT),
        ReserveInventory(
            idempotency_key=uuid4().hex, lines=(LineRequest(MUG, quantity),), ttl_seconds=ttl_seconds
        ),
    )


@pytest.mark.parametrize(
    ("query", "variables"),
    [(CATALOG, {"first": 20}), (AVAILABILITY, {"skus": [MUG, "LAMP-DESK"], "destination": AUSTIN})],
    ids=["catalog", "availability"],
)
@pytest.mark.parametrize("accept", ["application/json", "application/graphql-response+json"])
async def test_the_same_body_from_the_same_caller_is_answered_from_kept_bytes(
    app: Starlette, client: httpx.AsyncClient, query: str, variables: dict[str, Any], accept: str
) -> None:
    steady(app)
    cache = answers(app)
    made = await post(client, query, variables, accept=accept)
    assert made.status_code == 200
    assert "errors" not in made.json()
    assert (cache.kept, cache.hits) == (1, 0)

    served = await post(client, query, variables, accept=accept)

    assert (cache.kept, cache.hits) == (1, 1)
    assert served.status_code == 200
    assert served.content == made.content
    assert served.headers["content-type"] == made.headers["content-type"] == accept
    assert served.json()["extensions"]["cost"]["actualQueryCost"] > 0


async def test_a_hold_committed_here_is_in_the_very_next_answer(
    app: Starlette, client: httpx.AsyncClient, services: Services
) -> None:
    steady(app)
    before = await ats(client)
    assert await ats(client) == before
    assert answers(app).hits == 1

    await hold(services, 3)

    assert await ats(client) == before - 3
    assert answers(app).hits == 1


async def test_a_change_another_replica_announces_is_in_the_next_answer(
    app: Starlette, client: httpx.AsyncClient, services: Services
) -> None:
    await ats(client)
    services.views.changed([MUG], catalog=False)  # what the broker's message does
    await ats(client)
    services.views.drop_all()  # what a resubscribing replica does
    await ats(client)
    assert answers(app).hits == 0
    await post(client, CATALOG, {"first": 5})
    services.views.changed([], catalog=True)
    await post(client, CATALOG, {"first": 5})
    assert answers(app).hits == 0


async def test_nothing_is_served_past_the_views_bound_or_past_a_hold_it_counted(
    app: Starlette, client: httpx.AsyncClient, services: Services
) -> None:
    services.views.max_age = 300  # so that only the hold's expiry can end what was kept...
    services.policy = replace(services.policy, stock_ttl=timedelta(hours=1))  # ...or the ERP's TTL
    with moving(services) as clock:
        await hold(services, 4, ttl_seconds=60)
        held = await ats(client)
        clock.advance(30)
        assert await ats(client) == held
        assert answers(app).hits == 1

        clock.advance(31)  # the hold has expired: its units count again

        assert await ats(client) == held + 4
        assert answers(app).hits == 1
        clock.advance(299)
        assert await ats(client) == held + 4
        assert answers(app).hits == 2
        clock.advance(2)  # past the views' bound
        await ats(client)
        assert answers(app).hits == 2


async def test_a_sku_due_for_a_reread_from_the_erp_is_read_not_served_from_what_was_kept(
    app: Starlette, client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    steady(app)
    before = await ats(client)
    erp = sandboxes.katana
    assert erp is not None
    on_hand = erp.on_hand(MUG, "DC-DFW")
    assert on_hand > 10
    erp.inventory[(erp.variant_for(MUG).id, erp.locations["DC-DFW"])] = on_hand + 5  # nothing announced
    services.freshness.stock_read_at.pop(MUG)  # due for a re-read, as past the TTL

    assert await ats(client) == before + 5
    assert answers(app).hits == 0
    assert await ats(client) == before + 5
    assert answers(app).hits == 1


async def test_another_caller_is_not_served_what_was_kept_for_one(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await post(client, CATALOG, {"first": 5})
    other = await post(client, CATALOG, {"first": 5}, token=a_token("storefront", subject="another-shop"))
    staff = await post(client, CATALOG, {"first": 5}, token=a_token("agent"))
    assert other.status_code == staff.status_code == 200
    assert answers(app).hits == 0
    assert answers(app).kept == 3


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        # a location's open work is read from the orders, not from the views
        (
            "query($s: [String!]!) { availability(skus: $s) { sku locations { location { code "
            "openFulfillmentOrders } } } }",
            {"s": [MUG]},
        ),
        ("{ products(first: 2) { edges { node { sku } } } orders(first: 1) { totalCount } }", {}),
        ("query($s: [String!]!) { availability(skus: $s) { sku } }", {"s": ["not a sku!"]}),
        ("{ __schema { queryType { name } } }", {}),
        ("{ __typename }", {}),  # nothing read from the views: nothing to keep it by
    ],
    ids=["open-work", "orders", "error", "introspection", "typename"],
)
async def test_what_the_views_do_not_answer_is_never_kept(
    app: Starlette, client: httpx.AsyncClient, query: str, variables: dict[str, Any]
) -> None:
    for _ in range(2):
        await post(client, query, variables, token=a_token("admin"))
    assert (answers(app).kept, answers(app).hits) == (0, 0)


async def test_an_answer_from_a_stale_snapshot_is_not_kept(
    app: Starlette, client: httpx.AsyncClient, services: Services
) -> None:
    down = unreachable_erp()
    services.erp, previous = down, services.erp
    try:
        for _ in range(2):
            services.freshness.stock_read_at.clear()
            response = await post(client, AVAILABILITY, {"skus": [MUG]})
            assert response.json()["data"]["availability"][0]["stale"] is True
    finally:
        services.erp = previous
        await down.aclose()
    assert (answers(app).kept, answers(app).hits) == (0, 0)
    services.freshness.stock_read_at.clear()
    response = await post(client, AVAILABILITY, {"skus": [MUG]})
    assert response.json()["data"]["availability"][0]["stale"] is False
    assert answers(app).kept == 1


async def test_a_kept_answer_still_pays_from_the_callers_budget(app: Starlette) -> None:
    steady(app)
    other = create_app(
        replace(app.state.settings, query_budget=100, query_budget_restore_rate=1), app.state.services
    )
    transport = httpx.ASGITransport(app=other)
    async with httpx.AsyncClient(transport=transport, base_url="http://ordergate.test") as client:
        codes = []
        available = []
        for _ in range(12):
            response = await post(client, CATALOG, {"first": 20})
            body = response.json()
            if response.status_code == 429:
                codes.append(body["errors"][0]["extensions"]["code"])
                break
            available.append(body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"])
    assert codes == ["THROTTLED"]
    assert answers(other).hits == len(available) - 1 > 0
    assert available == sorted(available, reverse=True)
    assert len(set(available)) == len(available)  # every answer, kept or not, paid


def test_every_field_a_kept_answer_may_hold_is_read_from_the_views() -> None:
    """A type in KEPT that gains a field with its own resolver must be vetted here first: the
    answer cache would otherwise keep what that resolver reads beyond the views' bound."""
    vetted = {("Query", "products"), ("Query", "availability"), ("SkuAvailability", "promiseDate")}
    schema = build_schema()
    unvetted = []
    for name, fields in KEPT.items():
        definition = schema.get_type_by_name(name)
        assert definition is not None, name
        for field in getattr(definition, "fields", ()):
            graphql_name = schema.config.name_converter.get_graphql_name(field)
            allowed = fields is None or graphql_name in fields
            if allowed and field.base_resolver is not None and (name, graphql_name) not in vetted:
                unvetted.append((name, graphql_name))
    assert unvetted == []


def test_what_is_kept_is_bounded_by_entries_and_bytes() -> None:
    now = datetime.now(UTC)

    def answer(size: int) -> Kept:
        return Kept(b"x" * size, Reading(epoch=0), now, 1, 1, "Q", "Q", b"y" * size)

    def kept(cache: AnswerCache, count: int) -> list[bool]:
        return [cache.get((None, b"%02d" % n), now) is not None for n in range(count)]

    by_entries = AnswerCache(ReadViews(), max_entries=3)
    for n in range(5):
        assert by_entries.put((None, b"%02d" % n), answer(10))
    assert kept(by_entries, 5) == [False] * 2 + [True] * 3  # the least recently used went first

    by_bytes = AnswerCache(ReadViews(), max_entries=100, max_bytes=16 * 100)  # 100 bytes at most each
    assert not by_bytes.put((None, b"huge"), answer(50))  # 2 + 2 x 50 bytes: over a 16th
    for n in range(25):
        assert by_bytes.put((None, b"%02d" % n), answer(40))  # 82 bytes each: 19 fit
    assert by_bytes.size <= by_bytes.max_bytes
    assert kept(by_bytes, 25) == [False] * 6 + [True] * 19


@pytest.mark.redis
async def test_a_hold_committed_on_another_replica_ends_what_this_one_kept_when_redis_says_so(
    services: Services, settings: Settings, database: tuple[str, dict[str, Any]]
) -> None:
    """`services` has seeded the database the two replicas share."""
    require_redis()
    channel = f"ordergate-test-{uuid4().hex}"
    async with replica(settings, database, channel) as a, replica(settings, database, channel) as b:
        b.views.max_age = 3600  # only the announcement can end what B kept
        app = create_app(settings, b)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ordergate.test") as client:
            before = await ats(client)
            assert await ats(client) == before
            assert answers(app).hits == 1

            await hold(a, 3)
            await eventually(lambda: MUG not in b.views._stock, "B dropped the SKU A changed")

            assert await ats(client) == before - 3
            assert answers(app).hits == 1


@pytest.mark.parametrize("change", [{"answer_cache_entries": 0}, {"read_view_ms": 0}])
async def test_nothing_is_kept_when_answers_or_the_views_are_turned_off(
    app: Starlette, change: dict[str, int]
) -> None:
    other = create_app(replace(app.state.settings, **change), app.state.services)
    assert other.state.graphql.answers is None
    transport = httpx.ASGITransport(app=other)
    async with httpx.AsyncClient(transport=transport, base_url="http://ordergate.test") as client:
        first = await post(client, CATALOG, {"first": 5})
        again = await post(client, CATALOG, {"first": 5})
    assert first.json() == again.json()
    assert "errors" not in first.json()

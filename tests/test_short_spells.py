"""Spells of short stock (`usecases.short_spells`): a position the shortfall pass leaves short opens
one, and the node's queue hears which work may come up short; a recount (or the work gone) closes
it, and the work still there hears that too. Operations read when each position went short."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing
from decimal import Decimal
from typing import Any, cast

import httpx
import sqlalchemy as sa

from ordergate.auth import verify_token
from ordergate.bootstrap import Sandboxes
from ordergate.models.events import OrderEvent
from ordergate.models.identity import Principal, Role
from ordergate.models.pagination import encode_cursor
from ordergate.models.short_spells import ShortSpell
from ordergate.schema.build import build_schema
from ordergate.schema.context import Context
from ordergate.settings import Settings
from ordergate.store import tables
from ordergate.usecases import events, inventory, short_spells
from ordergate.usecases.services import Services
from ordergate.workers.loops import stock_pass
from tests.builders import a_line, a_token
from tests.graphql_client import error_codes, execute
from tests.test_fulfillment import location_ids, place
from tests.test_inventory import katana, sold_unheard
from tests.test_shortfalls import short_positions, timeline, two_mug_orders

SHORT, COVERED = "FULFILLMENT_STOCK_SHORT", "FULFILLMENT_STOCK_COVERED"
ASSOCIATE = Principal("associate-dfw", Role.ASSOCIATE, locations=("DC-DFW",))
ANN = a_token("customer", email="ann@example.com")  # the builders' orders are Ann's


async def every_spell(services: Services) -> list[ShortSpell]:
    """Every spell, open and ended, oldest first."""
    columns = tables.short_spells.c
    async with services.store.read() as uow:
        rows = await uow.session.execute(
            sa.select(tables.short_spells).order_by(columns.started_at, columns.id)
        )
    return [
        ShortSpell(row.id, row.sku, row.location_id, row.started_at, row.ended_at, row.most_missing)
        for row in rows
    ]


async def queue_events(
    services: Services, location_id: str, *kinds: str, associate: Principal = ASSOCIATE
) -> list[OrderEvent]:
    """A node's queue as its associate's subscription replays it from the start, up to the node's
    last event: the events of these kinds."""
    async with services.store.read() as uow:
        queue = await uow.events.at_location(0, location_id, 10_000)
    found: list[OrderEvent] = []
    if not queue:
        return found
    stream = cast(
        AsyncGenerator[OrderEvent, None],
        events.follow_location(services, associate, location_id, encode_cursor(0)),
    )
    try:
        while not found or found[-1].cursor < queue[-1].cursor:
            found.append(await asyncio.wait_for(anext(stream), 5))
    finally:
        await stream.aclose()
    return [event for event in found if event.type in kinds]


async def test_a_count_the_pass_cannot_cover_opens_a_spell_and_tells_the_node_s_queue_which_work_may_be_short(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    older, newer = await two_mug_orders(client)
    dallas = (await location_ids(client))["DC-DFW"]
    sold_unheard(services, sandboxes, "MUG-BLUE", "DC-DFW")  # no other node has mugs

    await katana(sandboxes).set_on_hand("MUG-BLUE", "DC-DFW", 1)  # its notice reaches the gateway

    [spell] = await every_spell(services)
    assert (spell.sku, spell.location_id, spell.ended_at, spell.most_missing) == ("MUG-BLUE", dallas, None, 3)
    told = await queue_events(services, dallas, SHORT, COVERED)
    assert sorted(
        (e.order_id, e.type, e.data["sku"], e.data["quantity"], e.data["missing"]) for e in told
    ) == sorted([(older, SHORT, "MUG-BLUE", 2, 3), (newer, SHORT, "MUG-BLUE", 2, 3)])
    assert all(e.location_id == dallas and e.fulfillment_order_id for e in told)
    [position] = [e["node"] for e in (await short_positions(client))["data"]["shortPositions"]["edges"]]
    assert position["shortSince"] is not None
    assert SHORT in await timeline(client, older)  # an agent reads it
    assert SHORT not in [e["type"] for e in await customer_timeline(client, older)]  # the customer does not


async def test_a_recount_closes_the_spell_and_the_work_still_there_hears_it(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    older, newer = await two_mug_orders(client)
    dallas = (await location_ids(client))["DC-DFW"]
    sold_unheard(services, sandboxes, "MUG-BLUE", "DC-DFW")
    await katana(sandboxes).set_on_hand("MUG-BLUE", "DC-DFW", 1)

    await katana(sandboxes).set_on_hand("MUG-BLUE", "DC-DFW", 40)  # a recount finds them

    [spell] = await every_spell(services)
    assert spell.ended_at is not None
    assert spell.ended_at >= spell.started_at
    covered = await queue_events(services, dallas, COVERED)
    assert sorted(e.order_id for e in covered) == sorted([older, newer])
    assert (await short_positions(client))["data"]["shortPositions"]["totalCount"] == 0


async def test_a_shortfall_the_pass_covers_opens_no_spell_and_tells_nobody(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    """Other nodes have mugs: the newer order moves, the older keeps what is there."""
    await two_mug_orders(client)
    dallas = (await location_ids(client))["DC-DFW"]

    await katana(sandboxes).set_on_hand("MUG-BLUE", "DC-DFW", 2)

    assert await every_spell(services) == []
    assert await queue_events(services, dallas, SHORT, COVERED) == []


async def test_looking_again_changes_nothing_and_a_deeper_count_is_recorded_without_telling_again(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    await two_mug_orders(client)
    dallas = (await location_ids(client))["DC-DFW"]
    sold_unheard(services, sandboxes, "MUG-BLUE", "DC-DFW")
    await katana(sandboxes).set_on_hand("MUG-BLUE", "DC-DFW", 2)
    told = await queue_events(services, dallas, SHORT, COVERED)

    again = await short_spells.note_spells(services)
    await katana(sandboxes).set_on_hand("MUG-BLUE", "DC-DFW", 0)  # a second count, lower

    assert not again
    [spell] = await every_spell(services)
    assert (spell.ended_at, spell.most_missing) == (None, 4)
    assert len(told) == 2
    assert [e.cursor for e in await queue_events(services, dallas, SHORT, COVERED)] == [
        e.cursor for e in told
    ]


async def test_a_shortfall_a_request_s_read_found_opens_its_spell_in_the_backorder_loop_s_round(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    """No notice: an availability answer past the TTL read the count; the loop's round notes it."""
    await place(
        client,
        lines=[a_line("MUG-BLUE", 2)],
        deliveryMethod="PICKUP",
        shippingAddress=None,
        pickupLocationId="ST-CHI",
    )
    chicago = (await location_ids(client))["ST-CHI"]
    sandbox = katana(sandboxes)
    sandbox.inventory[(sandbox.variant_for("MUG-BLUE").id, sandbox.locations["ST-CHI"])] = Decimal(0)
    services.freshness.stock_read_at.pop("MUG-BLUE")
    await inventory.refresh_stock(services, ["MUG-BLUE"])
    assert await every_spell(services) == []

    await stock_pass(services)

    [spell] = await every_spell(services)
    assert (spell.location_id, spell.most_missing, spell.ended_at) == (chicago, 2, None)
    chicago_associate = Principal("associate-chi", Role.ASSOCIATE, locations=("ST-CHI",))
    [told] = await queue_events(services, chicago, SHORT, COVERED, associate=chicago_associate)
    assert (told.type, told.data["missing"]) == (SHORT, 2)


async def test_two_replicas_noting_the_same_position_at_once_open_one_spell(services: Services) -> None:
    """The partial unique index keeps one open spell per position: the second `start` opens none."""
    async with services.store.read() as uow:
        dallas = next(loc.id for loc in await uow.catalog.locations() if loc.code == "DC-DFW")
    now = services.clock()
    async with services.store.write() as uow:
        first = await uow.short_spells.start({("MUG-BLUE", dallas): 2}, now)
    async with services.store.write() as uow:
        second = await uow.short_spells.start({("MUG-BLUE", dallas): 3, ("PLATE-DINNER", dallas): 1}, now)
        [ended] = await uow.short_spells.end(
            [(await uow.short_spells.open_spells(["MUG-BLUE"]))[("MUG-BLUE", dallas)].id], now
        )
    async with services.store.write() as uow:
        third = await uow.short_spells.start({("MUG-BLUE", dallas): 1}, now)  # after it ended: a new one

    assert (first, second, third) == (
        [("MUG-BLUE", dallas)],
        [("PLATE-DINNER", dallas)],
        [("MUG-BLUE", dallas)],
    )
    assert ended.most_missing == 2
    assert sorted((s.sku, s.ended_at is None) for s in await every_spell(services)) == [
        ("MUG-BLUE", False),
        ("MUG-BLUE", True),
        ("PLATE-DINNER", True),
    ]


async def customer_timeline(client: httpx.AsyncClient, order_id: str) -> list[dict[str, str]]:
    body = await execute(
        client, "query($id: ID!) { order(id: $id) { timeline { type } } }", {"id": order_id}, token=ANN
    )
    entries: list[dict[str, str]] = body["data"]["order"]["timeline"]
    return entries


QUEUE_LIVE = """
subscription($at: ID!, $after: String) {
  fulfillmentOrderEvents(locationId: $at, after: $after) { type fulfillmentOrder { order { id } shortSkus } }
}
"""


async def test_an_associate_s_queue_subscription_hears_the_spell_open_live_with_the_short_sku(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, settings: Settings
) -> None:
    """Through the schema, as a WebSocket subscriber would: replayed from the start, then live."""
    older, newer = await two_mug_orders(client)
    dallas = (await location_ids(client))["DC-DFW"]
    sold_unheard(services, sandboxes, "MUG-BLUE", "DC-DFW")
    associate = verify_token(settings, a_token("associate", locations=("DC-DFW",)))
    stream = await build_schema(settings).subscribe(
        QUEUE_LIVE,
        variable_values={"at": dallas, "after": encode_cursor(0)},
        context_value=Context(services, associate),
    )
    assert isinstance(stream, AsyncGenerator), stream
    heard: list[dict[str, Any]] = []
    async with aclosing(stream):
        while len(heard) < 2:  # the two orders' work opened at Dallas
            heard.append(await next_event(stream))
        await katana(sandboxes).set_on_hand("MUG-BLUE", "DC-DFW", 1)  # live from here
        while len([e for e in heard if e["type"] == SHORT]) < 2:
            heard.append(await next_event(stream))

    told = [e for e in heard if e["type"] == SHORT]
    assert sorted(e["fulfillmentOrder"]["order"]["id"] for e in told) == sorted([older, newer])
    assert [e["fulfillmentOrder"]["shortSkus"] for e in told] == [["MUG-BLUE"], ["MUG-BLUE"]]


async def next_event(stream: AsyncGenerator[Any, None]) -> dict[str, Any]:
    result = await asyncio.wait_for(anext(stream), 5)
    assert result.errors is None, result.errors
    assert result.data is not None
    event: dict[str, Any] = result.data["fulfillmentOrderEvents"]
    return event


async def test_operations_page_the_positions_short_the_longest_first_and_those_not_noted_yet_last(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    for sku in ("MUG-BLUE", "PLATE-DINNER", "KNIFE-CHEF-8"):
        await place(client, lines=[a_line(sku, 2)])
        sold_unheard(services, sandboxes, sku, "DC-DFW")  # nowhere to move them
    for sku in ("PLATE-DINNER", "MUG-BLUE"):  # the plates went short first
        await katana(sandboxes).set_on_hand(sku, "DC-DFW", 0)
    sandbox = katana(sandboxes)
    sandbox.inventory[(sandbox.variant_for("KNIFE-CHEF-8").id, sandbox.locations["DC-DFW"])] = Decimal(0)
    await inventory.refresh_stock(services, ["KNIFE-CHEF-8"])  # read, no pass yet: not noted

    async def pages(order: str) -> tuple[list[tuple[str, bool]], list[str]]:
        seen: list[tuple[str, bool]] = []
        cursors: list[str] = []
        after = None
        while True:
            found = (await short_positions(client, first=1, after=after, orderBy=order))["data"][
                "shortPositions"
            ]
            seen += [(e["node"]["sku"], e["node"]["shortSince"] is not None) for e in found["edges"]]
            if not found["pageInfo"]["hasNextPage"]:
                return seen, cursors
            after = found["pageInfo"]["endCursor"]
            cursors.append(after)

    longest, longest_cursors = await pages("LONGEST_SHORT")
    by_sku, sku_cursors = await pages("SKU")

    assert longest == [("PLATE-DINNER", True), ("MUG-BLUE", True), ("KNIFE-CHEF-8", False)]
    assert by_sku == [("KNIFE-CHEF-8", False), ("MUG-BLUE", True), ("PLATE-DINNER", True)]
    mixed = [
        await short_positions(client, after=sku_cursors[0], orderBy="LONGEST_SHORT"),
        await short_positions(client, after=longest_cursors[0], orderBy="SKU"),
    ]
    assert [error_codes(body) for body in mixed] == [["INVALID_CURSOR"], ["INVALID_CURSOR"]]

"""The sandboxes keep their state across a restart, beside the store and only as long as it lives:
parcels resume moving, numbers are never handed out twice, and a bad state file is set aside."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from ordergate import bootstrap
from ordergate.app import create_app
from ordergate.bootstrap import Sandboxes, sandbox_state_dir
from ordergate.sandbox.keeper import FORMAT, VERSION, StateKeeper
from ordergate.settings import Settings
from tests.test_tracking import shipped, tracking

STEP = 31.0  # a little more than the sandbox's 30-second tracking step


class Tally:
    """A sandbox that only counts, refusing state whose count is not a whole number."""

    def __init__(self, count: int = 0) -> None:
        self.count = count

    def to_state(self) -> dict[str, Any]:
        return {"count": self.count}

    def restore(self, state: Mapping[str, Any]) -> None:
        if not isinstance(state["count"], int):
            raise TypeError("count must be a whole number")
        self.count = state["count"]


def a_state_file(directory: Path, name: str = "tally", **document: Any) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    body = {"format": FORMAT, "version": VERSION, "sandbox": name, "state": {"count": 7}} | document
    path = directory / f"{name}.json"
    path.write_text(json.dumps(body))
    return path


def set_aside(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir() if path.name != "tally.json")


# -- the keeper --------------------------------------------------------------------------------------


def test_a_kept_sandbox_comes_back_from_what_was_saved(tmp_path: Path) -> None:
    first = StateKeeper(tmp_path)
    tally = Tally(3)
    first.keep("tally", tally)
    tally.count = 5
    assert first.save() == 1

    again = Tally()
    assert StateKeeper(tmp_path).keep("tally", again)

    assert again.count == 5
    document = json.loads((tmp_path / "tally.json").read_text())
    assert (document["format"], document["version"], document["sandbox"]) == (FORMAT, VERSION, "tally")


def test_only_state_that_changed_is_written_again(tmp_path: Path) -> None:
    keeper = StateKeeper(tmp_path)
    tally = Tally()
    keeper.keep("tally", tally)

    written = [keeper.save(), keeper.save()]
    tally.count += 1
    written += [keeper.save(), keeper.save()]

    assert written == [1, 0, 1, 0]
    assert keeper.saves == 2


def test_a_sandbox_whose_state_json_cannot_hold_is_logged_and_the_others_still_saved(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keeper = StateKeeper(tmp_path)
    broken = Tally()
    broken.to_state = lambda: {"count": float("nan")}  # type: ignore[method-assign]
    keeper.keep("broken", broken)
    keeper.keep("tally", Tally(4))

    with caplog.at_level(logging.ERROR, logger="ordergate.sandbox.keeper"):
        assert keeper.save() == 1

    assert [path.name for path in tmp_path.iterdir()] == ["tally.json"]
    assert "sandbox broken: its state could not be saved" in caplog.text


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ("{not json", "corrupt"),
        (json.dumps(["a", "list"]), "corrupt"),
        (
            json.dumps({"format": FORMAT, "version": VERSION + 1, "sandbox": "tally", "state": {}}),
            f"v{VERSION + 1}",
        ),
        (
            json.dumps({"format": FORMAT, "version": VERSION, "sandbox": "tally", "state": {"count": "7"}}),
            "unreadable",
        ),
        (json.dumps({"format": FORMAT, "version": VERSION, "sandbox": "tally", "state": {}}), "unreadable"),
    ],
    ids=["not-json", "not-an-object", "another-version", "refused-by-the-sandbox", "missing-state"],
)
def test_a_state_file_that_cannot_be_used_is_set_aside_and_the_sandbox_starts_fresh(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, document: str, reason: str
) -> None:
    (tmp_path / "tally.json").write_text(document)
    tally = Tally(1)

    with caplog.at_level(logging.WARNING, logger="ordergate.sandbox.keeper"):
        restored = StateKeeper(tmp_path, clock=lambda: 0.0).keep("tally", tally)

    assert not restored
    assert tally.count == 1
    assert set_aside(tmp_path) == [f"tally.json.{reason}-19700101T000000Z"]
    assert (tmp_path / f"tally.json.{reason}-19700101T000000Z").read_text() == document
    assert "set aside" in caplog.text


def test_state_kept_for_a_store_that_is_gone_is_set_aside(tmp_path: Path) -> None:
    a_state_file(tmp_path)
    tally = Tally()

    assert not StateKeeper(tmp_path, stale=True, clock=lambda: 0.0).keep("tally", tally)

    assert tally.count == 0
    assert set_aside(tmp_path) == ["tally.json.stale-19700101T000000Z"]


class Padded(Tally):
    """A tally whose state is long enough that a write in place would be seen half done."""

    PADDING = "x" * 200_000

    def to_state(self) -> dict[str, Any]:
        return {"count": self.count, "padding": self.PADDING}


def test_a_reader_never_meets_a_half_written_file_while_two_processes_save(tmp_path: Path) -> None:
    keepers = [StateKeeper(tmp_path), StateKeeper(tmp_path)]
    # Both start before either writes: a keeper that started after the other's first write would
    # restore that state, and its own first save of the same state would rightly be no write.
    tallies = [Padded(), Padded()]
    for keeper, padded in zip(keepers, tallies, strict=True):
        keeper.keep("tally", padded)

    def saving(keeper: StateKeeper, padded: Padded) -> None:
        for count in range(60):
            padded.count = count
            keeper.save()

    writers = [threading.Thread(target=saving, args=pair) for pair in zip(keepers, tallies, strict=True)]
    for writer in writers:
        writer.start()
    reads, writing = 0, True
    while writing:
        writing = any(writer.is_alive() for writer in writers)
        path = tmp_path / "tally.json"
        if path.exists():
            assert json.loads(path.read_text())["state"]["padding"] == Padded.PADDING
            reads += 1

    assert reads > 0
    assert [path.name for path in tmp_path.iterdir()] == ["tally.json"]  # no temporary file left behind
    assert sum(keeper.saves for keeper in keepers) == 120


def test_what_a_killed_process_left_half_written_is_swept_but_not_what_another_is_writing(
    tmp_path: Path,
) -> None:
    a_state_file(tmp_path)
    left, writing = tmp_path / ".tally.abc123.tmp", tmp_path / ".tally.def456.tmp"
    for stray in (left, writing):
        stray.write_text('{"format": "ordergate.sand')
    os.utime(left, (1000.0, 1000.0))

    assert StateKeeper(tmp_path).keep("tally", Tally())

    assert sorted(path.name for path in tmp_path.iterdir()) == [writing.name, "tally.json"]


async def test_while_serving_changes_are_saved_within_the_interval_and_once_more_on_stop(
    tmp_path: Path,
) -> None:
    keeper = StateKeeper(tmp_path, interval=0.05)
    tally = Tally()
    keeper.keep("tally", tally)
    stop = asyncio.Event()
    saving = asyncio.create_task(keeper.run(stop))

    tally.count = 1
    for _ in range(100):
        await asyncio.sleep(0.02)
        if (tmp_path / "tally.json").exists():
            break
    saved = json.loads((tmp_path / "tally.json").read_text())["state"]["count"]
    tally.count = 2
    stop.set()
    await saving

    assert saved == 1
    assert json.loads((tmp_path / "tally.json").read_text())["state"]["count"] == 2


# -- where it lives ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("database_url", "chosen", "expected"),
    [
        ("sqlite+aiosqlite:///./ordergate.db", None, Path("ordergate.sandbox")),
        ("sqlite+aiosqlite:////var/lib/shop/orders.db", None, Path("/var/lib/shop/orders.sandbox")),
        (
            "sqlite+aiosqlite:////var/lib/shop/orders.sandbox",
            None,
            Path("/var/lib/shop/orders.sandbox.sandbox"),
        ),
        ("sqlite+aiosqlite:///./ordergate.db", "/srv/state", Path("/srv/state")),
        ("sqlite+aiosqlite:///./ordergate.db", "off", None),
        ("sqlite+aiosqlite://", None, None),
        ("sqlite+aiosqlite:///:memory:", None, None),
        ("postgresql+asyncpg://u@db/shop", None, None),
        ("postgresql+asyncpg://u@db/shop", "/srv/state", Path("/srv/state")),
    ],
)
def test_the_state_lives_beside_an_sqlite_file_unless_told_otherwise(
    database_url: str, chosen: str | None, expected: Path | None
) -> None:
    assert sandbox_state_dir(Settings(database_url=database_url, sandbox_state=chosen)) == expected


def test_without_the_sandbox_there_is_no_state_to_keep() -> None:
    assert sandbox_state_dir(Settings(sandbox=False, sandbox_state="/srv/state")) is None


def test_the_setting_reads_off_words_as_off_and_anything_else_as_a_directory() -> None:
    assert Settings.from_env({"ORDERGATE_SANDBOX_STATE": "OFF"}).sandbox_state == "off"
    assert Settings.from_env({"ORDERGATE_SANDBOX_STATE": "false"}).sandbox_state == "off"
    assert Settings.from_env({"ORDERGATE_SANDBOX_STATE": " ./state "}).sandbox_state == "./state"
    assert Settings.from_env({}).sandbox_state is None


# -- as a user sees it: the gateway stopped and started again -----------------------------------------


@pytest.fixture
def restartable(tmp_path: Path, sqlite_template: Path) -> Settings:
    """A gateway on an SQLite file, with the sandbox state where it goes by default: beside it."""
    shutil.copyfile(sqlite_template, tmp_path / "ordergate.db")
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'ordergate.db'}",
        storefront_sync_seconds=0,
        storefront_availability_seconds=0,
        query_budget=0,
    )


@asynccontextmanager
async def gateway(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Sandboxes]]:
    """The gateway built, served and closed whole, as `make serve` runs it."""
    sandboxes = Sandboxes()
    async with bootstrap.opened(settings, sandboxes=sandboxes) as services:
        app = create_app(settings, services, sandboxes)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://ordergate.test"
            ) as client,
        ):
            yield client, sandboxes


async def saved_within(path: Path, text: str, *, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():  # noqa: ASYNC240 (a test polling a small file)
            return True
        await asyncio.sleep(0.05)
    return False


async def test_after_a_restart_a_parcel_moves_on_to_delivered_and_the_next_label_has_a_new_number(
    restartable: Settings, tmp_path: Path
) -> None:
    async with gateway(restartable) as (client, sandboxes):
        order = await shipped(client, "shipengine")
        assert sandboxes.shipengine is not None
        [label] = sandboxes.shipengine.labels.values()
        assert await sandboxes.shipengine.advance(time.time() + STEP) == 1
        before = (await tracking(client, order["id"]))["shipments"][0]
        # Saved while serving, within about a second: what a kill -9 now would leave.
        assert await saved_within(tmp_path / "ordergate.sandbox" / "shipengine.json", '"step":1', seconds=3)

    assert (tmp_path / "ordergate.sandbox" / "shipengine.json").is_file()
    async with gateway(restartable) as (client, sandboxes):
        assert sandboxes.shipengine is not None
        assert sandboxes.shipengine.label_for(label.tracking_number).step == 1
        for step in range(2, 6):
            await sandboxes.shipengine.advance(time.time() + step * STEP)
        after = (await tracking(client, order["id"]))["shipments"][0]
        second = await shipped(client, "shipengine")
        [reshipped] = (await tracking(client, second["id"]))["shipments"]

    assert before["trackingNumber"] == after["trackingNumber"] == label.tracking_number
    assert before["status"] != "DELIVERED"
    assert after["status"] == "DELIVERED"
    assert [event["status"] for event in after["events"]][-1] == "DELIVERED"
    assert len(after["events"]) == len(before["events"]) + 3
    assert reshipped["trackingNumber"] != label.tracking_number


async def test_after_a_restart_the_erp_still_has_the_sales_order_and_its_stock(restartable: Settings) -> None:
    async with gateway(restartable) as (client, sandboxes):
        await shipped(client, "ups")
        assert sandboxes.katana is not None
        orders = [order["id"] for order in sandboxes.katana.sales_orders]
        stock = dict(sandboxes.katana.inventory)

    async with gateway(restartable) as (client, sandboxes):
        assert sandboxes.katana is not None
        assert [order["id"] for order in sandboxes.katana.sales_orders] == orders
        assert sandboxes.katana.inventory == stock

    assert orders


async def test_a_corrupt_state_file_is_set_aside_and_the_gateway_still_starts(
    restartable: Settings, tmp_path: Path
) -> None:
    state = tmp_path / "ordergate.sandbox"
    async with gateway(restartable) as (client, _):
        await shipped(client, "shipengine")
    (state / "shipengine.json").write_text('{"format": "ordergate.sandbox-state", "version": 1, "sand')

    async with gateway(restartable) as (client, sandboxes):
        assert sandboxes.shipengine is not None
        assert sandboxes.shipengine.labels == {}
        assert sandboxes.katana is not None
        assert sandboxes.katana.sales_orders
        await shipped(client, "shipengine")

    [aside] = state.glob("shipengine.json.corrupt-*")
    assert aside.read_text().endswith('"sand')
    assert json.loads((state / "shipengine.json").read_text())["version"] == VERSION


def remove_database(directory: Path) -> None:
    """`rm ordergate.db*`, as a user starting afresh would."""
    for leftover in directory.glob("ordergate.db*"):
        leftover.unlink()


async def test_a_fresh_database_gets_fresh_sandboxes(restartable: Settings, tmp_path: Path) -> None:
    async with gateway(restartable) as (client, _):
        await shipped(client, "shipengine")
    remove_database(tmp_path)

    async with gateway(restartable) as (_, sandboxes):
        assert sandboxes.shipengine is not None
        assert sandboxes.katana is not None
        assert sandboxes.shipengine.labels == {}
        assert sandboxes.katana.sales_orders == []

    assert sorted(path.name.split("-")[0] for path in (tmp_path / "ordergate.sandbox").glob("*.stale-*")) == [
        "bigcommerce.json.stale",
        "katana.json.stale",
        "mail.json.stale",
        "payments.json.stale",
        "shipengine.json.stale",
        "ups.json.stale",
    ]

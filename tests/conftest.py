from __future__ import annotations

import asyncio
import compileall
import importlib
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Coroutine, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette

from ordergate import bootstrap, runtime
from ordergate.app import create_app
from ordergate.bootstrap import Sandboxes
from ordergate.sandbox.seed import demo_locations, demo_products
from ordergate.settings import Settings
from ordergate.store import migrate
from ordergate.store.unit_of_work import Engines, Store
from ordergate.usecases.services import Services, utc_now
from tests.contract import CONTRACT
from tests.services import POSTGRES_URL, require_postgres

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


async def _pg_execute(sql: str) -> None:
    connection = await asyncpg.connect(POSTGRES_URL.replace("postgresql+asyncpg", "postgresql"))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def _migrated(url: str, connect_args: dict[str, Any]) -> None:
    """Migrated to head and seeded with the demo network and catalogue, as every test's first
    start would seed it (a test's own start then finds them all and writes nothing)."""
    store = Store(url, connect_args=connect_args)
    try:
        await migrate.upgrade(store)
        async with store.write() as uow:
            await uow.catalog.add_missing(demo_products(utc_now(), Settings().currency), demo_locations())
    finally:
        await store.dispose()


def _run(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run to completion on a loop of its own (the caller may be inside a test's loop)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated to head and seeded once per process (per xdist worker), copied
    per test."""
    path = tmp_path_factory.mktemp("template") / "ordergate.db"
    _run(_migrated(f"sqlite+aiosqlite:///{path}", {}))
    assert not path.with_name(path.name + "-wal").exists(), "the template's WAL was not checkpointed"
    return path


def _pg_dump(schema: str, *options: str) -> str:
    dump = subprocess.run(
        [
            str(shutil.which("pg_dump")),
            "--dbname",
            POSTGRES_URL.replace("postgresql+asyncpg", "postgresql"),
            "--schema",
            schema,
            "--no-owner",
            "--no-privileges",
            "--inserts",
            *options,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # Recent pg_dumps wrap the script in psql's \restrict meta-commands, which only psql reads.
    return "\n".join(line for line in dump.splitlines() if not line.startswith("\\"))


@dataclass(frozen=True)
class PostgresTemplate:
    """A schema migrated to head: its name, the SQL that makes a copy of it (tables and rows),
    and the SQL that puts a copy's rows back as they were (every table emptied, then the
    template's rows, sequences included, inserted again)."""

    schema: str
    copy: str
    rows: str
    tables: tuple[str, ...]

    def copied(self, name: str) -> str:
        return self.copy.replace(self.schema, name)

    def reset(self, name: str) -> str:
        """Triggers (foreign keys, the audit trail's append-only guard) are off while it runs
        (`session_replication_role`), so tables empty in any order; a lock held by a test that
        did not finish fails it within seconds instead of hanging."""
        emptied = "".join(f'DELETE FROM "{name}"."{table}";' for table in self.tables)  # noqa: S608 - names of ours
        return (
            "BEGIN; SET LOCAL session_replication_role = replica; SET LOCAL lock_timeout = '5s';"
            + emptied
            + self.rows.replace(self.schema, name)
            + ";COMMIT;"
        )


def unseeded_hex(size: int) -> str:
    """A schema name's random part, from the OS: never from `uuid.uuid4`, which a walk seeds
    (`tests.simulation.seeded_ids`). A seeded name came out the same in every run, and the
    schema a killed run left behind then failed every PostgreSQL test of the next run
    (DuplicateSchemaError)."""
    return secrets.token_hex(size)


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[PostgresTemplate | None]:
    """A PostgreSQL schema migrated to head once per process (per xdist worker), and its dump
    (schema and rows, no owners). None without pg_dump: then each test's schema starts empty
    and the app migrates it."""
    require_postgres()
    if shutil.which("pg_dump") is None:
        yield None
        return
    schema = f"tmpl_{unseeded_hex(16)}"
    _run(_pg_execute(f'CREATE SCHEMA "{schema}"'))
    try:
        _run(_migrated(POSTGRES_URL, {"server_settings": {"search_path": schema}}))
        copy, rows = _pg_dump(schema), _pg_dump(schema, "--data-only")
        tables = tuple(sorted(re.findall(rf"CREATE TABLE {schema}\.(\w+) \(", copy)))
        assert tables, "the template's dump names no tables"
        yield PostgresTemplate(schema, copy, rows, tables)
    finally:
        _run(_pg_execute(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(scope="session")
def postgres_schema(postgres_template: PostgresTemplate | None) -> Iterator[str | None]:
    """This worker's schema, copied from the template once and put back to the template's rows
    before each test that uses it (milliseconds, where making and dropping a schema per test
    took a quarter of a second)."""
    if postgres_template is None:
        yield None
        return
    name = f"w_{unseeded_hex(6)}"
    _run(_pg_execute(postgres_template.copied(name)))
    try:
        yield name
    finally:
        _run(_pg_execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))


@pytest.fixture(params=BACKENDS)
async def database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """(url, connect_args) of a database at the migrations' head: this worker's SQLite file,
    copied from one migrated once per worker, or this worker's PostgreSQL schema with the
    template's rows put back: the same url for every test of a worker. Tests marked
    `migrated_from_empty` get an empty one of their own instead, which the app's start migrates
    for real."""
    empty = request.node.get_closest_marker("migrated_from_empty") is not None
    if request.param == "sqlite":
        if empty:
            yield f"sqlite+aiosqlite:///{tmp_path / 'ordergate.db'}", {}
            return
        migrated = request.getfixturevalue("sqlite_template")
        path = migrated.with_name("worker.db")
        # A new file (a new inode) each test: nothing a connection of the last test kept open
        # (its file, its WAL index) is shared with this one's.
        for leftover in (path, *(path.with_name(path.name + end) for end in ("-wal", "-shm", "-journal"))):
            leftover.unlink(missing_ok=True)
        shutil.copyfile(migrated, path)
        yield f"sqlite+aiosqlite:///{path}", {}
        return
    require_postgres()
    template: PostgresTemplate | None = None if empty else request.getfixturevalue("postgres_template")
    if template is not None:
        name = request.getfixturevalue("postgres_schema")
        try:
            await _pg_execute(template.reset(name))
        except asyncpg.PostgresError:  # the last test broke it (a lock left, a table dropped): anew
            await _pg_execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE;' + template.copied(name))
        yield POSTGRES_URL, {"server_settings": {"search_path": name}}
        return
    schema = f"t_{unseeded_hex(6)}"
    await _pg_execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield POSTGRES_URL, {"server_settings": {"search_path": schema}}
    finally:
        await _pg_execute(f'DROP SCHEMA "{schema}" CASCADE')


def settings_for(database_url: str, *, relay: bool = True) -> Settings:
    return Settings(
        database_url=database_url,
        outbox_relay=relay,
        storefront_sync_seconds=0,  # tests import storefront orders when they mean to
        storefront_availability_seconds=0,
        query_budget=0,  # budgets throttle only where tests/test_limits.py turns them on
        sandbox_state="off",  # sandboxes live in memory but where tests/test_sandbox_state.py keeps them
    )


@pytest.fixture
def settings(request: pytest.FixtureRequest, database: tuple[str, dict[str, Any]]) -> Settings:
    """Tests marked `no_relay` drive the outbox themselves, or count statements without it."""
    return settings_for(database[0], relay=request.node.get_closest_marker("no_relay") is None)


@pytest.fixture
def sandboxes() -> Sandboxes:
    return Sandboxes()


@pytest.fixture(scope="session")
def kept_engines() -> dict[tuple[str, str], Engines]:
    """The engines of this worker's databases, one pair per database, given to every test's
    store. A test's services close their connections (`Store.dispose`) as a served process's do
    at shutdown; what an engine keeps is the statements it compiled, so a worker compiles each
    statement once, as a served process does, and not once per test. Measured on
    tests/test_reads.py, test_edits.py, test_inventory.py and test_backorders.py in one process,
    alternated twice: 44.1-46.5 s -> 36.9-39.4 s of wall time (31.9-34.1 -> 24.9-27.2 s of CPU);
    the whole suite on two workers 5:20 -> 4:42.
    Tests that make stores of their own (replicas, a database migrated from empty) get engines
    of their own, so fresh engines are still started and compiled for."""
    return {}


@pytest.fixture
async def services(
    request: pytest.FixtureRequest,
    settings: Settings,
    database: tuple[str, dict[str, Any]],
    sandboxes: Sandboxes,
    kept_engines: dict[tuple[str, str], Engines],
) -> AsyncIterator[Services]:
    url, connect_args = database
    engines = None
    if request.node.get_closest_marker("migrated_from_empty") is None:
        key = (url, repr(connect_args))
        engines = kept_engines.get(key) or kept_engines.setdefault(
            key, Engines.create(url, connect_args=connect_args)
        )
    # A served gateway reads every product's stock as it starts; a test's services read it
    # when the test first asks (most never do: ~35 ms of CPU per test on a slow machine, 8% of
    # the suite). Tests marked `warmed` start as a served gateway does.
    async with bootstrap.opened(
        settings,
        Store(url, connect_args=connect_args, engines=engines),
        sandboxes,
        read_stock=request.node.get_closest_marker("warmed") is not None,
    ) as services:
        yield services


@pytest.fixture
async def app(settings: Settings, services: Services, sandboxes: Sandboxes) -> AsyncIterator[Starlette]:
    app = create_app(settings, services, sandboxes)
    async with app.router.lifespan_context(app):
        yield app


def asgi_client(app: Starlette) -> httpx.AsyncClient:
    """A client that sends its requests to `app` in-process, as a browser would over HTTP."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ordergate.test")


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as c:
        yield c


@pytest.fixture(scope="module", params=BACKENDS)
def module_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(url, connect_args) of a database for one module's tests together (`module_client`): a
    copy of this worker's migrated SQLite file, or a PostgreSQL schema copied from the template,
    dropped when the module is done."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("module") / "ordergate.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{path}", {}
        return
    require_postgres()
    template: PostgresTemplate | None = request.getfixturevalue("postgres_template")
    name = f"m_{unseeded_hex(6)}"
    _run(_pg_execute(template.copied(name) if template is not None else f'CREATE SCHEMA "{name}"'))
    try:
        yield POSTGRES_URL, {"server_settings": {"search_path": name}}
    finally:
        _run(_pg_execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))


@pytest.fixture(scope="module")
def module_sandboxes() -> Sandboxes:
    return Sandboxes()


@pytest.fixture(scope="module")
def module_settings(module_database: tuple[str, dict[str, Any]]) -> Settings:
    """The settings of one module's gateway (`module_client`): no relay, so what the module's
    tests read is not moved under them by outbox work done meanwhile."""
    return settings_for(module_database[0], relay=False)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_services(
    module_settings: Settings, module_database: tuple[str, dict[str, Any]], module_sandboxes: Sandboxes
) -> AsyncIterator[Services]:
    """The services of one module's gateway (`module_client`)."""
    url, connect_args = module_database
    async with bootstrap.opened(
        module_settings, Store(url, connect_args=connect_args), module_sandboxes
    ) as services:
        yield services


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_client(
    module_settings: Settings, module_services: Services, module_sandboxes: Sandboxes
) -> AsyncIterator[httpx.AsyncClient]:
    """One gateway, started as `client`'s is (but for the relay), for all of a module's tests
    that write nothing: reads, and requests refused before anything is written (each such test
    asserts the refusal: a user error, a top-level error or a 401 for every request), or reads
    of what a module-scoped fixture wrote once for them all. Those tests run on the module's
    event loop (`pytest.mark.asyncio(loop_scope="module")`). A start per test cost ~65 ms: 176
    tests of tests/test_strings.py and tests/test_authorization.py now share two (one per
    backend), and the two files took 22-26 s in one process instead of 43-51 s (alternated
    twice); tests/test_order_prefetch.py, test_lean_execution.py and test_reads.py, whose tests
    read one board built per module, 41 s -> 15 s."""
    app = create_app(module_settings, module_services, module_sandboxes)
    async with app.router.lifespan_context(app), asgi_client(app) as c:
        yield c


TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def pytest_configure(config: pytest.Config) -> None:
    """Test files go to xdist workers heaviest first (`HEAVIEST_FIRST`), not by how many tests
    they hold, which xdist's `loadfile` orders by unless told not to.

    Bytecode for ordergate and the tests' helpers is written once, by the controlling process
    before any worker starts. With PYTHONDONTWRITEBYTECODE set (as on the CI machine) Python
    reads .pyc files but never writes them, so every worker and every gateway, sandbox or CLI
    subprocess a test starts would compile the package from source again (~0.5 s each)."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False
    if not hasattr(config, "workerinput"):
        for package in ("ordergate", "tests"):
            compileall.compile_dir(ROOT / package, quiet=2, workers=1)


@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> Generator[None, object, object]:
    """On an xdist worker, the test modules' assertions are rewritten once for all workers, each
    worker a share of the modules, instead of every worker rewriting every module (pytest keeps a
    rewritten module in `__pycache__` only where bytecode may be written, and CI sets
    PYTHONDONTWRITEBYTECODE). A worker first imports its share, which writes their rewritten
    code, then collects as usual and finds most of the others' already written: collecting took
    11.5 s of CPU per worker with every module to rewrite, 4.1 s with none. A module another worker
    has not written yet is rewritten here as it would have been; pytest writes each atomically."""
    workerinput = getattr(session.config, "workerinput", None)
    if workerinput is None:
        return (yield)
    writes = sys.dont_write_bytecode
    sys.dont_write_bytecode = False
    try:
        for module in rewrite_share(
            int(workerinput["workerid"].removeprefix("gw")), int(workerinput["workercount"])
        ):
            try:
                importlib.import_module(module)
            except (Exception, pytest.skip.Exception, pytest.fail.Exception):  # noqa: S112
                continue  # collection imports it again, and reports the error or the skip
        return (yield)
    finally:
        sys.dont_write_bytecode = writes


def rewrite_share(worker: int, workers: int) -> list[str]:
    """The test modules worker number `worker` of `workers` rewrites first: dealt largest first,
    so that the shares cost about the same."""
    files = sorted(TESTS.rglob("test_*.py"), key=lambda path: (-path.stat().st_size, path))
    return [
        ".".join(("tests", *path.relative_to(TESTS).with_suffix("").parts)) for path in files[worker::workers]
    ]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Once a process has collected (every test module imported), its collector is tuned as
    `ordergate serve` tunes a worker's (`runtime.tune_gc_for_serving`): what exists is frozen
    and the young generation is collected every 10,000 allocations instead of 700. Tests then
    run the app the way it is served, and a worker stops re-scanning every module, fixture and
    hypothesis strategy it holds at each collection. Measured in one process, alternated, on a
    loaded machine: test_authorization.py with test_strings.py 42-45 s -> 36 s of wall time;
    with test_place_order.py, 27.2-29.3 s -> 22.3-25.6 s of the process's CPU."""
    runtime.tune_gc_for_serving()


# Modules that send the client contract's operations (../shared/contract) from inside tests.
_CONTRACT_USERS = ("tests.contract", "tests.flows", "tests.simulation", "tests.server")


# The files that take longest on a worker (paths under tests/, 8-30 s each in a full run on
# 2 workers, measured 2026-12-06 with --durations=0), slowest first. A long file handed out
# last keeps one worker busy while the other has finished: the run then lasts as long as that
# tail. The rest follow by how many tests they hold. A file missing here only costs time,
# never a test.
HEAVIEST_FIRST = (
    "test_storefront.py",
    "test_long_run.py",
    "test_workers.py",
    "test_order_properties.py",
    "test_fuzz.py",
    "test_clients.py",
    "test_status_browser.py",
    "test_redis_restart.py",
    "test_return_labels.py",
    "test_backorders.py",
    "test_inventory.py",
    "test_websocket.py",
    "test_statement_budget.py",
    "test_strings.py",
    "hostile/test_public.py",
    "test_replicas.py",
    "test_limits.py",
    "test_place_order.py",
    "hostile/test_requests.py",
    "test_loyalty_appeasements.py",
)


def heaviest_first(items: list[pytest.Item]) -> list[pytest.Item]:
    rank = {name: place for place, name in enumerate(HEAVIEST_FIRST)}
    counts: dict[str, int] = {}
    for item in items:
        counts[item.path.as_posix()] = counts.get(item.path.as_posix(), 0) + 1

    def weight(item: pytest.Item) -> tuple[int, int, str]:
        path = item.path.as_posix()
        return (rank.get(item.path.relative_to(TESTS).as_posix(), len(rank)), -counts[path], path)

    return sorted(items, key=weight)  # stable: a file's own tests keep their order


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Files ordered heaviest first (see `HEAVIEST_FIRST`). Without the contract, a test that
    would send one of its operations is skipped before its fixtures start servers and tasks,
    not halfway through with them running (a skip raised mid-test once left a later test on
    the same worker waiting forever)."""
    items[:] = heaviest_first(items)
    if CONTRACT.is_dir():
        return
    skip = pytest.mark.skip(reason=f"the client contract is not at {CONTRACT}")
    uses: dict[str, bool] = {}
    for item in items:
        path = Path(str(item.fspath))
        if str(path) not in uses:
            source = path.read_text()
            uses[str(path)] = any(name in source for name in _CONTRACT_USERS)
        if uses[str(path)]:
            item.add_marker(skip)

"""Several processes behave like one: `ordergate serve --workers N` logs from every worker in the
configured format and level with request ids, and replicas starting together on an empty
database all start, whatever they race on (migrations, the demo seed, sync checkpoints)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ordergate.connectors.http import tls_context
from tests.server import DEADLINE, READY_SECONDS, SCRUBBED, free_port, fresh_postgres_database, gateways
from tests.services import require_postgres

pytestmark = pytest.mark.server


@contextlib.contextmanager
def serve(tmp_path: Path, *args: str, **env: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`ordergate serve` (the CLI, as an operator runs it) until the block ends; yields its URL."""
    port = free_port()
    settings = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'served.db'}",
        "ORDERGATE_STOREFRONT_SYNC_SECONDS": "0",
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "ordergate.cli", "serve", "--port", str(port), *args],
        env={**{k: v for k, v in os.environ.items() if k not in SCRUBBED}, **settings},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_SECONDS * 2
        with httpx.Client(timeout=2, verify=tls_context()) as client:  # one TLS context, not one per poll
            while time.monotonic() < deadline:
                assert process.poll() is None, process.communicate()[0]
                try:
                    if client.get(f"{url}/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
        yield url, process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(DEADLINE * 2)
        except subprocess.TimeoutExpired:
            process.kill()


def test_every_worker_logs_json_at_the_configured_level_with_request_ids(tmp_path: Path) -> None:
    ids = [f"req-workers-{n}" for n in range(40)]
    with (
        serve(tmp_path, "--workers", "2", ORDERGATE_LOG_FORMAT="json", ORDERGATE_LOG_LEVEL="INFO") as (
            url,
            process,
        ),
        httpx.Client(base_url=url, timeout=DEADLINE) as client,
    ):
        for request_id in ids:
            answered = client.post(
                "/graphql", json={"query": "{ __typename }"}, headers={"X-Request-Id": request_id}
            )
            assert answered.status_code == 200
    output = process.communicate(timeout=DEADLINE)[0]

    lines = [line for line in output.splitlines() if line.startswith("{")]
    entries = [json.loads(line) for line in lines]
    started = {e["message"] for e in entries if e["message"].startswith("Started server process")}
    logged_ids = {e.get("request_id") for e in entries}
    assert len(started) == 2, started  # both workers, each in JSON
    assert set(ids) <= logged_ids, "every request's access line carries its request id"
    assert not [e for e in entries if e["level"] == "DEBUG"]
    # besides JSON, only what the CLI prints for the operator at start: its URLs and a dev token
    printed = [
        line for line in output.splitlines() if line and not line.startswith(("{", "ordergate:", "eyJ"))
    ]
    assert printed == [], "a line that is not JSON: " + "\n".join(printed[:5])


def test_a_worker_keeps_the_configured_level(tmp_path: Path) -> None:
    with serve(tmp_path, "--workers", "2", ORDERGATE_LOG_FORMAT="json", ORDERGATE_LOG_LEVEL="WARNING") as (
        url,
        process,
    ):
        httpx.get(f"{url}/healthz", timeout=DEADLINE)
    output = process.communicate(timeout=DEADLINE)[0]

    entries = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert not [e for e in entries if e["level"] in ("DEBUG", "INFO")], entries[:3]


@pytest.mark.postgres
async def test_replicas_starting_together_on_an_empty_database_all_start_cleanly(tmp_path: Path) -> None:
    require_postgres()
    async with fresh_postgres_database() as url:
        # the storefront sync runs at once in each, so all three make its checkpoint together
        with gateways(
            tmp_path,
            ["one", "two", "three"],
            database_url=url,
            together=True,
            env={"ORDERGATE_STOREFRONT_SYNC_SECONDS": "1"},
        ) as servers:
            await asyncio.sleep(3)  # a few sync rounds in each
            logs = {server.name: server.log_path.read_text(errors="replace") for server in servers}
            alive = [server.process.poll() is None for server in servers]

    assert alive == [True, True, True]
    for name, log in logs.items():
        assert "Traceback" not in log, f"{name}:\n{log[-3000:]}"
        assert "IntegrityError" not in log, name

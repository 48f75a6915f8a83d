"""The forked gateways (tests/zygote.py) behave as processes of their own: each reads its own
environment, writes its own log, and reports how it ended."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from ordergate.connectors.http import tls_context
from tests.server import GatewayFailed, gateways
from tests.zygote import ZYGOTE, forking_works

pytestmark = pytest.mark.skipif(not forking_works(), reason="gateways start as interpreters here")


def test_two_forked_gateways_keep_their_own_settings_and_logs(tmp_path: Path) -> None:
    with gateways(tmp_path, ["first", "second"]) as servers:
        ready = [httpx.get(f"{s.http_url}/readyz", verify=tls_context()).status_code for s in servers]

    assert ready == [200, 200]
    assert len({server.process.pid for server in servers}) == 2
    for server in servers:
        # each child read its own DATABASE_URL (a SQLite file named after it) and wrote its own log
        assert (tmp_path / f"{server.name}.db").exists()
        log = server.log_path.read_text()
        assert f"Uvicorn running on {server.http_url}" in log, log
        assert "Application shutdown complete" in log, log
        # as `python -m uvicorn` does after SIGTERM: shut down, then end by the signal it caught
        assert server.process.poll() == -signal.SIGTERM


def test_a_gateway_that_cannot_start_reports_its_exit_and_its_log(tmp_path: Path) -> None:
    with (
        pytest.raises(GatewayFailed, match="exited with 1 before it was ready") as failed,
        gateways(tmp_path, ["broken"], env={"ORDERGATE_QUERY_BUDGET": "lots"}),
    ):
        pass

    assert "SettingsError: ORDERGATE_QUERY_BUDGET must be an integer, not 'lots'" in str(failed.value)


def test_a_killed_gateway_reports_the_signal(tmp_path: Path) -> None:
    process = ZYGOTE.spawn(
        ["ordergate.app:create_app", "--factory", "--port", "0"],
        {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'k.db'}"},
        Path.cwd(),
        tmp_path / "k.log",
    )
    process.kill()

    assert process.wait(10) == -signal.SIGKILL

"""Node for the client tests: the packages pinned in clients/ (package-lock.json), one process per
scenario, each bounded in time.

No Node on the machine: the tests skip, saying so (`make check` installs the packages only where
Node is). Node present but clients/node_modules absent: a skip on a developer's machine, a
failure under ORDERGATE_REQUIRE_SERVICES=1 (CI), where `make check` has installed them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.services import missing

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = ROOT / "clients"
NODE_SECONDS = 60.0
READY_SECONDS = 30.0


def require_node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the client setups of docs/clients.md are not run here")
    if not (CLIENTS / "node_modules" / ".package-lock.json").is_file():
        missing("clients/node_modules is absent (`make check` runs `npm ci` in clients/ where npm is)")
    return node


def run(node: str, script: str, env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`node script args...` in clients/, with `env` added to ours; at most NODE_SECONDS."""
    return subprocess.run(
        [node, script, *args],
        cwd=CLIENTS,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=NODE_SECONDS,
        check=False,
    )


def run_json(node: str, script: str, env: Mapping[str, str], *args: str) -> Any:
    """What a scenario printed last, as JSON; its stderr in the failure when it did not exit 0."""
    done = run(node, script, env, *args)
    assert done.returncode == 0, f"{script} exited {done.returncode}\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def tool(node: str, name: str, config: str, env: Mapping[str, str]) -> None:
    """A package's command (node_modules/.bin/`name`) with its config file in clients/."""
    done = run(node, f"node_modules/.bin/{name}", env, "--config", config)
    assert done.returncode == 0, f"{name} exited {done.returncode}\n{done.stdout}\n{done.stderr}"


def codegen(node: str, output: Path, schema: str | None = None) -> None:
    """GraphQL Code Generator with clients/codegen.ts, writing to `output` (a folder)."""
    env = {"CODEGEN_OUT": f"{output}/", **({"ORDERGATE_SCHEMA": schema} if schema else {})}
    tool(node, "graphql-codegen", "codegen.ts", env)


def apollo_manifest(node: str, output: Path) -> None:
    """Apollo's persisted query manifest of the app's sources (persisted-query-manifest.config.ts)."""
    tool(
        node,
        "generate-persisted-query-manifest",
        "persisted-query-manifest.config.ts",
        {"MANIFEST": str(output)},
    )


@contextlib.contextmanager
def serving(node: str, script: str, env: Mapping[str, str], log: Path, ready: str) -> Iterator[None]:
    """A long-running scenario (a server) until the block exits: started, then awaited until its
    output has `ready` (at most READY_SECONDS), terminated at the end."""
    with log.open("w") as out:
        process = subprocess.Popen(
            [node, script], cwd=CLIENTS, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + READY_SECONDS
        while ready not in log.read_text():
            assert process.poll() is None, f"{script} exited {process.returncode}\n{log.read_text()}"
            assert time.monotonic() < deadline, f"{script} not ready in {READY_SECONDS} s\n{log.read_text()}"
            time.sleep(0.1)
        yield
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

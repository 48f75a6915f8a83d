"""Where the real PostgreSQL and Redis are, and whether a missing one skips or fails."""

from __future__ import annotations

import os
import shutil
import socket

import pytest

POSTGRES_URL = os.environ.get(
    "ORDERGATE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("ORDERGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

# The test server speaks no TLS (`ssl = off`), yet asyncpg and libpq ask for it first by default
# (sslmode "prefer"): a TLS context built and one round trip refused on every connect. Measured
# on 100 connects, alternated: 1.7-2.0 -> 0.8-1.1 ms of CPU and 6.2-6.9 -> 4.4-5.7 ms of wall time
# each; a worker connects thousands of times. The gateways the tests start inherit it. A
# PGSSLMODE set already (a server that wants TLS) is kept.
os.environ.setdefault("PGSSLMODE", "disable")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def missing(message: str) -> None:
    if os.environ.get("ORDERGATE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message}, and ORDERGATE_REQUIRE_SERVICES=1 says it must be", pytrace=False)
    pytest.skip(message)


def require(name: str, host: str, port: int) -> None:
    """Skip with a reason on a machine without the service; fail in CI, where it must run."""
    if not _reachable(host, port):
        missing(f"{name} is not reachable on {host}:{port}")


def require_program(name: str) -> str:
    """The path of a server program a test starts itself (skip without it; fail in CI)."""
    path = shutil.which(name)
    if path is None:
        missing(f"{name} is not installed")
    assert path is not None
    return path


def require_postgres() -> None:
    require("PostgreSQL", "127.0.0.1", 5432)


def require_redis() -> None:
    require("Redis", "127.0.0.1", 6379)

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

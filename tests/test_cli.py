"""The command line: tokens the gateway accepts, the SDL, migrate and seed on a fresh file."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ordergate.app import create_app
from ordergate.auth import mint_token, verify_token
from ordergate.cli import main, served_url
from ordergate.models.errors import Unauthenticated
from ordergate.models.identity import Role
from ordergate.schema.build import SDL_PATH
from ordergate.settings import Settings, SettingsError
from ordergate.store.migrate import head_revision
from ordergate.usecases.services import utc_now


@pytest.fixture(autouse=True)
def logging_as_it_was() -> Iterator[None]:
    """`main` configures the root logger for the process, as the CLI must; a test puts it back,
    so later tests do not log into this test's captured (and then closed) stream."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_token_mints_what_the_gateway_verifies(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--role", "associate", "--location", "ST-CHI", "--location", "ST-NYC"]) == 0

    principal = verify_token(Settings(), capsys.readouterr().out.strip())

    assert principal.role is Role.ASSOCIATE
    assert principal.locations == ("ST-CHI", "ST-NYC")


def test_a_customer_token_needs_an_email(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--role", "customer"]) == 2
    assert "--email" in capsys.readouterr().err


def test_export_schema_prints_the_committed_sdl() -> None:
    """In a fresh interpreter, as `make schema` runs it: the schema's imports alone, in their own
    order (a cycle between use cases once broke this while every in-process test passed)."""
    exported = subprocess.run(
        [sys.executable, "-m", "ordergate.cli", "export-schema"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == SDL_PATH.read_text()


def test_migrate_and_seed_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"}
    run = [sys.executable, "-m", "ordergate.cli"]

    migrated = subprocess.run(
        [*run, "migrate"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    seeded = subprocess.run([*run, "seed"], env=env, capture_output=True, text=True, timeout=60, check=False)

    assert migrated.returncode == 0, migrated.stderr
    assert f"schema at {head_revision()}" in migrated.stdout
    assert seeded.returncode == 0, seeded.stderr
    assert (tmp_path / "fresh.db").stat().st_size > 0


def test_settings_read_the_environment() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://u@db/og",
            "REDIS_URL": "redis://r:6379/0",
            "ORDERGATE_SANDBOX": "off",
            "ORDERGATE_PAGE_SIZE_CAP": "100",
        }
    )

    assert settings.database_url == "postgresql+asyncpg://u@db/og"
    assert settings.redis_url == "redis://r:6379/0"
    assert (settings.sandbox, settings.seed_demo_data, settings.page_size_cap) == (False, False, 100)


def test_a_malformed_setting_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="ORDERGATE_PAGE_SIZE_CAP"):
        Settings.from_env({"ORDERGATE_PAGE_SIZE_CAP": "lots"})


def serve_without_a_secret(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`ordergate serve` with the sandbox off and the given JWT settings, on a port nobody uses."""
    scrubbed = {k: v for k, v in os.environ.items() if not k.startswith("ORDERGATE_JWT")}
    settings = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'prod.db'}",
        "ORDERGATE_SANDBOX": "off",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "ordergate.cli", "serve", "--port", "1"],
        env={**scrubbed, **settings},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_serve_refuses_to_run_open_when_the_sandbox_is_off_and_no_secret_is_set(tmp_path: Path) -> None:
    refused = serve_without_a_secret(tmp_path)

    assert refused.returncode == 2
    assert "ORDERGATE_JWT_SECRET is not set" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (tmp_path / "prod.db").exists()  # refused before anything was prepared


def test_serve_refuses_a_short_secret_outside_the_sandbox(tmp_path: Path) -> None:
    refused = serve_without_a_secret(tmp_path, ORDERGATE_JWT_SECRET="hunter2")

    assert refused.returncode == 2
    assert "at least 32" in refused.stderr


def test_the_app_refuses_to_start_open_however_it_is_started() -> None:
    with pytest.raises(SettingsError, match="ORDERGATE_JWT_SECRET"):
        create_app(Settings(sandbox=False, seed_demo_data=False))


def test_outside_the_sandbox_a_token_signed_with_the_development_secret_is_refused() -> None:
    development = mint_token(Settings(), role=Role.ADMIN, now=utc_now())
    production = Settings(sandbox=False, jwt_public_key="-----BEGIN PUBLIC KEY-----\n...")

    with pytest.raises(Unauthenticated, match="HS256"):
        verify_token(production, development)
    assert verify_token(Settings(), development).role is Role.ADMIN  # the sandbox still takes it


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8130"),
        ("0.0.0.0", "http://127.0.0.1:8130"),  # noqa: S104
        ("::", "http://[::1]:8130"),
        ("fe80::1", "http://[fe80::1]:8130"),
        ("gateway.internal", "http://gateway.internal:8130"),
    ],
)
def test_the_public_url_follows_the_address_served_on(host: str, url: str) -> None:
    assert served_url(host, 8130) == url


def test_serve_without_a_public_url_hands_its_own_address_to_every_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Label links and webhook URLs pointed at port 8000 while the server ran on another."""
    import uvicorn

    seen: dict[str, str | None] = {}
    monkeypatch.setenv("ORDERGATE_PUBLIC_URL", "unset below")  # so that teardown removes what serve sets
    monkeypatch.delenv("ORDERGATE_PUBLIC_URL")
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/served.db")
    monkeypatch.setattr(
        uvicorn, "run", lambda *_, **kw: seen.update(url=os.environ.get("ORDERGATE_PUBLIC_URL"))
    )

    assert main(["serve", "--port", "8130"]) == 0

    assert seen == {"url": "http://127.0.0.1:8130"}
    assert Settings.from_env().public_url == "http://127.0.0.1:8130"  # what each worker builds


def test_outside_the_sandbox_status_links_need_a_secret_not_in_the_source() -> None:
    rs256_only = Settings(sandbox=False, jwt_public_key="-----BEGIN PUBLIC KEY-----\n...")
    with pytest.raises(SettingsError, match="ORDERGATE_LINK_SECRET is not set"):
        rs256_only.check_serving()
    with pytest.raises(SettingsError, match="ORDERGATE_LINK_SECRET is 5 characters"):
        Settings(sandbox=False, jwt_secret="s" * 32, link_secret="short").check_serving()
    Settings(
        sandbox=False, jwt_public_key="-----BEGIN PUBLIC KEY-----\n...", link_secret="k" * 32
    ).check_serving()
    assert Settings(sandbox=False, jwt_secret="s" * 32).status_link_secret == "s" * 32

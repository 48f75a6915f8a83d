"""`ordergate sync storefront` in the sandbox syncs from the running gateway's storefront (the
one its shoppers' orders are in), not from a fresh sandbox of the command's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ordergate.cli import main
from ordergate.sandbox.bigcommerce import PRODUCT_ID_BASE, BigCommerceSandbox
from tests.server import Gateway, free_port, gateway

pytestmark = pytest.mark.server


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Gateway, str]]:
    database_url = f"sqlite+aiosqlite:///{tmp_path}/shared.db"
    with gateway(tmp_path, database_url=database_url) as server:
        yield server, database_url


def test_sync_reads_the_orders_of_the_running_gateway_s_storefront(
    running: tuple[Gateway, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server, database_url = running
    seeded = len(BigCommerceSandbox().orders)  # what a fresh sandbox of the command's own would have
    shopper = {"first_name": "Cy", "last_name": "Ng", "street_1": "1 Main St", "city": "Austin"}
    created = httpx.post(
        f"{server.http_url}/sandbox/bigcommerce/v2/orders",
        json={
            "billing_address": {**shopper, "zip": "78701", "country_iso2": "US", "email": "cy@example.com"},
            "products": [{"product_id": PRODUCT_ID_BASE + 1, "quantity": 1}],
            "status_id": 11,
        },
        headers={"X-Auth-Token": "any: the sandbox takes one when none is configured"},
        timeout=10,
    )
    assert created.status_code in (200, 201), created.text
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ORDERGATE_PUBLIC_URL", server.http_url)

    assert main(["sync", "storefront", "--since", "2000-01-01T00:00:00+00:00"]) == 0

    said = capsys.readouterr().out
    assert f"the running gateway's sandbox at {server.http_url}/sandbox/bigcommerce" in said
    assert f"orders: {seeded + 1} seen" in said  # the order made in the running gateway's store


def test_sync_without_a_running_gateway_says_so_instead_of_inventing_a_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/alone.db")
    monkeypatch.setenv("ORDERGATE_PUBLIC_URL", f"http://127.0.0.1:{free_port()}")

    assert main(["sync", "storefront"]) == 1

    assert "no gateway answers at" in capsys.readouterr().out
    assert not (tmp_path / "alone.db").exists()  # nothing was prepared for nothing

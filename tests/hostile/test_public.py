"""What a running gateway shows anyone who asks stays small and closed: `/metrics` does not grow
with names a client makes up and can be kept for the scraper, and with introspection off the
federation SDL is not handed to anonymous callers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from tests.builders import a_token
from tests.server import DEADLINE, Gateway, gateway

pytestmark = pytest.mark.server

SCRAPE_TOKEN = "scrape-" + "k" * 32


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    env = {"ORDERGATE_INTROSPECTION": "off", "ORDERGATE_METRICS_TOKEN": SCRAPE_TOKEN}
    with gateway(tmp_path_factory.mktemp("public"), env=env) as running:
        yield running


async def test_thousands_of_made_up_operation_names_do_not_grow_the_metrics(server: Gateway) -> None:
    scraper = {"Authorization": f"Bearer {SCRAPE_TOKEN}"}
    async with httpx.AsyncClient(base_url=server.http_url, timeout=DEADLINE) as http:
        for query in ("query First { __typename }", "{ __typename }"):  # the series they will move
            await http.post("/graphql", json={"query": query})
        before = (await http.get("/metrics", headers=scraper)).text

        async def burst(start: int) -> None:
            for n in range(start, start + 250):
                await http.post("/graphql", json={"query": f"query Op{n}x{n * 31} {{ __typename }}"})

        await asyncio.gather(*(burst(start) for start in range(0, 2_000, 250)))
        trivial = await http.post("/graphql", json={"query": "{ __typename }"})
        after = (await http.get("/metrics", headers=scraper)).text

    assert trivial.json()["data"] == {"__typename": "Query"}
    assert "Op1x31" not in after
    series = {line.rsplit(" ", 1)[0] for line in after.splitlines()} - {
        line.rsplit(" ", 1)[0] for line in before.splitlines()
    }
    # the one series of unregistered operations moved; at most a handful of outcomes and error
    # codes (throttling, for 2,000 requests from one address) joined it, none per name
    assert len(series) <= 5, series


async def test_metrics_are_for_the_scraper_only(server: Gateway) -> None:
    async with httpx.AsyncClient(base_url=server.http_url, timeout=DEADLINE) as http:
        anonymous = await http.get("/metrics")
        scraper = await http.get("/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"})

    assert anonymous.status_code == 401
    assert "ordergate_" not in anonymous.text
    assert scraper.status_code == 200


@pytest.mark.parametrize("who", ["anonymous", "storefront", "agent"])
async def test_with_introspection_off_the_sdl_is_not_handed_out(server: Gateway, who: str) -> None:
    headers = {} if who == "anonymous" else {"Authorization": f"Bearer {a_token(who)}"}
    async with httpx.AsyncClient(base_url=server.http_url, timeout=DEADLINE) as http:
        sdl = await http.post("/graphql", json={"query": "{ _service { sdl } }"}, headers=headers)
        schema = await http.post(
            "/graphql", json={"query": "{ __schema { types { name } } }"}, headers=headers
        )

    for response in (sdl, schema):
        body = response.json()
        assert body.get("data") is None, body
        assert {e["extensions"]["code"] for e in body["errors"]} == {"INTROSPECTION_DISABLED"}

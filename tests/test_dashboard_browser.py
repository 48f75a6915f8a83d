"""The dashboard in headless Chromium: an agent signs in with a token, finds an order by its
storefront reference and reads its timeline and audit trail."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import chromium, installed
from tests.builders import a_token, an_order_input
from tests.server import Gateway, gateway
from tests.test_status_browser import call

AGENT = a_token("agent")
WAIT = 20.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    installed()
    with gateway(tmp_path_factory.mktemp("dashboard-browser")) as running:
        yield running


def test_an_agent_finds_an_order_and_reads_who_did_what(server: Gateway) -> None:
    order = call(server, "PlaceOrder", {"input": an_order_input(externalReference="BC-4242")}, AGENT)["order"]
    with chromium(1280, 900) as page:
        page.get(f"{server.http_url}/dashboard")
        page.find_element(By.ID, "token").send_keys(AGENT)
        page.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        WebDriverWait(page, WAIT).until(lambda p: p.find_elements(By.ID, "q"))
        assert page.execute_script("return document.cookie") == ""  # the token is out of scripts' reach
        cards = page.find_elements(By.CSS_SELECTOR, "li.figure")
        orders_card = next(card for card in cards if card.text.startswith("Orders"))
        assert int(orders_card.find_element(By.CSS_SELECTOR, ".value").text) >= 1
        chart = orders_card.find_element(By.TAG_NAME, "svg")
        assert chart.size["width"] > 100  # drawn, at the card's width
        assert chart.get_attribute("aria-label") == "Orders per day"

        page.find_element(By.ID, "q").send_keys("BC-4242")
        page.find_element(By.CSS_SELECTOR, "form.search button").click()
        WebDriverWait(page, WAIT).until(lambda p: "q=BC-4242" in p.current_url)
        rows = page.find_elements(By.CSS_SELECTOR, "table.orders tbody tr")
        assert [row.find_element(By.TAG_NAME, "a").text for row in rows] == [order["number"]]

        rows[0].find_element(By.TAG_NAME, "a").click()
        WebDriverWait(page, WAIT).until(lambda p: p.find_elements(By.ID, "audit-title"))
        assert page.find_element(By.TAG_NAME, "h1").text == f"Order {order['number']}"
        assert "Order placed" in page.find_element(By.CSS_SELECTOR, ".timeline").text
        summary = page.find_element(By.CSS_SELECTOR, "details.audit summary")
        assert "placeOrder by agent-test (agent)" in summary.text
        summary.click()
        cells = page.find_element(By.CSS_SELECTOR, "details.audit table").text
        assert "Order status CONFIRMED" in cells

"""The order status page in a real browser (headless Chromium): what a customer reads on a
phone, the parcel moving to DELIVERED without a reload, and a return started with two taps."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from ordergate.connectors.http import tls_context
from tests.browser import chromium, installed
from tests.builders import a_line, a_token, an_order_input
from tests.contract import operation
from tests.server import Gateway, gateway

TIMES = "\N{MULTIPLICATION SIGN}"
ANN = a_token("customer", email="ann@example.com")
DALLAS = a_token("associate", locations=("DC-DFW",))
WAIT = 30.0  # the sandbox moves a parcel every second here: five steps to the door


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    installed()
    directory = tmp_path_factory.mktemp("status-browser")
    with gateway(directory, env={"ORDERGATE_SANDBOX_TRACKING_STEP_SECONDS": "1"}) as running:
        yield running


def call(server: Gateway, name: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
    answer = httpx.post(
        f"{server.http_url}/graphql",
        json={"query": operation(name), "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
        verify=tls_context(),
    )
    body: dict[str, Any] = answer.json()
    assert "errors" not in body, body
    payload: dict[str, Any] = next(iter(body["data"].values()))
    assert payload.get("userErrors", []) == [], payload
    return payload


def place(server: Gateway) -> tuple[dict[str, Any], str]:
    order: dict[str, Any] = call(
        server, "PlaceOrder", {"input": an_order_input(lines=[a_line("MUG-BLUE", 2)])}, ANN
    )["order"]
    answer = httpx.post(
        f"{server.http_url}/graphql",
        json={
            "query": "query($id: ID!) { order(id: $id) { statusPageUrl } }",
            "variables": {"id": order["id"]},
        },
        headers={"Authorization": f"Bearer {ANN}"},
        timeout=10,
        verify=tls_context(),
    ).json()
    link = urlsplit(answer["data"]["order"]["statusPageUrl"])
    return order, f"{server.http_url}{link.path}?{link.query}"


def ship(server: Gateway, order: dict[str, Any]) -> None:
    fo_id = order["fulfillmentOrders"][0]["id"]
    for name in ("Accept", "StartPicking", "Pack"):
        call(server, name, {"id": fo_id}, DALLAS)
    call(server, "Ship", {"input": {"fulfillmentOrderId": fo_id}}, DALLAS)


def settled(page: WebDriver) -> WebDriverWait[WebDriver]:
    """A wait that looks again when the live update replaced what it was reading."""
    return WebDriverWait(page, WAIT, ignored_exceptions=(StaleElementReferenceException,))


def opened_return_form(page: WebDriver) -> bool:
    """Clicks "Start a return"; True once it did (a stale element is looked up again)."""
    page.find_element(By.CSS_SELECTOR, "summary").click()
    return True


def stage(page: WebDriver) -> str:
    return str(page.find_element(By.CSS_SELECTOR, "[data-stage]").text)


def test_a_customer_watches_their_parcel_arrive(server: Gateway) -> None:
    order, link = place(server)
    with chromium() as page:
        page.get(link)
        assert page.title.startswith(f"Order #{order['number']}")
        assert stage(page) == "Order received"
        assert f"2 {TIMES}" in page.find_element(By.CSS_SELECTOR, ".lines").text
        settled(page).until(lambda p: p.execute_script("return document.documentElement.dataset.live"))
        page.execute_script("window.sameDocument = true")

        ship(server, order)
        settled(page).until(lambda p: stage(p) in ("Shipped", "Out for delivery", "Delivered"))
        # Read in one go: the next scan may replace the panel at any moment.
        parcel = page.execute_script(
            "const p = document.querySelector('.parcel'); const a = p.querySelector('a');"
            "return {text: p.innerText, href: a.href, rel: a.rel, label: a.innerText};"
        )
        assert "tracking number" in parcel["text"]
        assert parcel["label"].startswith("Track with")
        assert parcel["href"].startswith("https://")
        assert "noreferrer" in parcel["rel"]

        settled(page).until(lambda p: stage(p) == "Delivered")
        assert page.execute_script("return window.sameDocument") is True  # no reload
        delivered = settled(page).until(lambda p: p.find_element(By.CSS_SELECTOR, ".parcel").text)
        assert delivered.startswith("Delivered")
        assert "Latest:" in delivered
        announced = page.find_element(By.ID, "live-note").get_attribute("textContent")
        assert announced == "Updated: Delivered"  # said to screen readers, politely
        assert page.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")


def test_a_customer_starts_a_return_from_the_page(server: Gateway) -> None:
    order, link = place(server)
    ship(server, order)
    with chromium() as page:
        page.get(link)
        # The parcel moves every second here: a live update may replace the panel under the click.
        settled(page).until(opened_return_form)
        settled(page).until(lambda p: p.find_elements(By.CSS_SELECTOR, "details[open] form"))
        choice = page.find_element(By.CSS_SELECTOR, "select[name^=qty-]")
        label = page.find_element(By.CSS_SELECTOR, f"label[for='{choice.get_attribute('id')}']")
        assert label.text == "Stoneware Mug, Blue"
        Select(choice).select_by_value("1")
        Select(page.find_element(By.ID, "reason")).select_by_visible_text("Damaged or faulty")
        page.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()

        settled(page).until(lambda p: "returned=1" in p.current_url)
        # read through `settled`: a live update may replace the panel between finding and reading
        notice = settled(page).until(lambda p: p.find_element(By.CSS_SELECTOR, ".notice").text)
        returns = settled(page).until(lambda p: p.find_element(By.CSS_SELECTOR, ".returns").text)
        assert notice.startswith("We have your return request")
        assert f"Requested: 1 {TIMES} Stoneware Mug, Blue" in returns


def test_a_customer_finds_their_order_by_number_and_email(server: Gateway) -> None:
    order, link = place(server)
    with chromium() as page:
        page.get(f"{server.http_url}/orders")
        page.find_element(By.ID, "number").send_keys(order["number"])
        page.find_element(By.ID, "email").send_keys("ANN@example.com")
        page.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        settled(page).until(lambda p: "?t=" in p.current_url)
        assert page.current_url == link
        assert page.find_element(By.TAG_NAME, "h1").text == f"Order #{order['number']}"


def test_the_page_loads_nothing_from_elsewhere(server: Gateway) -> None:
    _, link = place(server)
    with chromium() as page:
        page.get(link)
        settled(page).until(lambda p: p.execute_script("return document.readyState") == "complete")
        resources = page.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert any(str(url).endswith("/status.css") for url in resources), resources
    assert all(str(url).startswith(server.http_url) for url in resources), resources

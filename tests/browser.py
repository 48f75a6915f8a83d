"""Headless Chromium (Debian's chromium and chromium-driver) driven through Selenium, for tests
of pages as a reader sees them. Skipped with a reason where the browser is not installed, and a
failure in CI (ORDERGATE_REQUIRE_SERVICES=1), where `.ci/run` installs it."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.services import missing

# Without the background-networking flags Chromium keeps trying hosts this machine cannot reach.
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
)


def installed() -> tuple[str, str]:
    """Chromium and its driver, or the test is skipped (failed in CI) saying which is missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        missing("headless Chromium is not installed (Debian: apt-get install chromium chromium-driver)")
    assert browser is not None
    assert driver is not None
    return browser, driver


@contextmanager
def chromium(width: int = 390, height: int = 844) -> Iterator[webdriver.Chrome]:
    """A fresh headless Chromium with an empty profile, a phone-sized window by default."""
    browser, driver = installed()
    with tempfile.TemporaryDirectory(prefix="ordergate-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
            options.add_argument(flag)
        session = webdriver.Chrome(options=options, service=Service(executable_path=driver))
        session.set_page_load_timeout(20)
        try:
            yield session
        finally:
            session.quit()

"""Real Chromium (Debian's /usr/bin/chromium) driven by Playwright against a live app server."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import sync_playwright

from hms.scheduling import clinic_now

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _new_tab(browser, js: bool):
    context = browser.new_context(java_script_enabled=js)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.js_enabled = js
    return context, tab


@pytest.fixture(params=[True, False], ids=["js-on", "js-off"])
def page(request, browser):
    """A fresh browser tab, once with JavaScript on and once with it off."""
    context, tab = _new_tab(browser, request.param)
    yield tab
    context.close()


@pytest.fixture
def nojs_page(browser):
    """A fresh browser tab with JavaScript off."""
    context, tab = _new_tab(browser, False)
    yield tab
    context.close()


@pytest.fixture
def js_page(browser):
    """A fresh browser tab with JavaScript on."""
    context, tab = _new_tab(browser, True)
    yield tab
    context.close()


@pytest.fixture
def clinic_midday(app) -> dt.datetime:
    """Set the clinic's time zone so that its wall clock reads about noon now, and return that
    time: "today" and "next week" cannot change under a test, whatever the hour it runs."""
    offset = 12 - dt.datetime.now(dt.UTC).hour  # from -11 to +12 hours
    # The POSIX-style Etc zones count the other way round: Etc/GMT-5 is five hours ahead.
    app.config["TIMEZONE"] = f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"
    with app.app_context():
        now = clinic_now()
    assert dt.time(12) <= now.time() < dt.time(14), (app.config["TIMEZONE"], now)
    return now

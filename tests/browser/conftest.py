"""Real Chromium (Debian's /usr/bin/chromium) driven by Playwright against a live app server."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import sync_playwright

from hms.clock import clinic_now
from instants import DEFAULT

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
def clinic_midday(app, frozen_clock) -> dt.datetime:
    """Noon at the clinic on the default day, and that time: the browser journeys do more in a
    day than is left at some instants of the matrix, so they run at noon."""
    frozen_clock.move_to(DEFAULT.moment.replace(hour=12, minute=0))
    with app.app_context():
        return clinic_now()

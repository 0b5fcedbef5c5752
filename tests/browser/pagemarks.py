"""Browser helpers: log in through the form; tell an htmx swap from a full page load."""

from __future__ import annotations

from playwright.sync_api import expect

from support import PASSWORD


def log_in(tab, base: str, username: str, password: str = PASSWORD) -> None:
    tab.goto(f"{base}/login")
    tab.get_by_label("Username").fill(username)
    tab.get_by_label("Password").fill(password)
    tab.get_by_role("button", name="Log in").click()
    expect(tab.get_by_role("button", name="Log out")).to_be_visible()


def mark_page(tab) -> None:
    """Leave a marker in the window; it survives htmx swaps but not a full page load."""
    # A function, not a bare expression: Playwright evaluates a bare expression again with
    # eval() at each poll, which the page's Content-Security-Policy refuses (no 'unsafe-eval').
    tab.wait_for_function("() => typeof htmx === 'object'")
    tab.evaluate("window.hmsMarker = true")


def still_marked(tab) -> bool:
    """Whether the page was never reloaded since mark_page."""
    return tab.evaluate("window.hmsMarker === true")

"""Tell an htmx swap from a full page load in a real browser."""

from __future__ import annotations


def mark_page(tab) -> None:
    """Leave a marker in the window; it survives htmx swaps but not a full page load."""
    tab.wait_for_function("typeof htmx === 'object'")
    tab.evaluate("window.hmsMarker = true")


def still_marked(tab) -> bool:
    """Whether the page was never reloaded since mark_page."""
    return tab.evaluate("window.hmsMarker === true")

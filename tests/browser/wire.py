"""What a Chromium tab fetched over the network, as opposed to what it found in its cache, told
by Chromium's own DevTools events. Used by the browser tests and by bench/journeys.py."""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Fetch:
    method: str
    url: str
    status: int | None = None
    bytes: int = 0  # as received: headers and the (compressed) body
    cached: bool = False
    done: bool = False
    began: float = 0.0  # Chromium's clock, in seconds
    ended: float = 0.0

    @property
    def path(self) -> str:
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def __repr__(self) -> str:
        return f"{self.method} {self.path} {self.status}"


class Wire:
    """Every request of a tab, each redirect hop its own; `fetched()` keeps the network ones."""

    def __init__(self, page) -> None:
        self.page = page
        self.log: list[Fetch] = []
        self._open: dict[str, Fetch] = {}  # DevTools requestId -> its latest hop
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.on("Network.requestWillBeSent", self._sent)
        self.cdp.on("Network.requestServedFromCache", self._from_cache)
        self.cdp.on("Network.responseReceived", self._response)
        self.cdp.on("Network.loadingFinished", self._finished)
        self.cdp.on("Network.loadingFailed", self._finished)
        self.cdp.send("Network.enable")

    def _sent(self, event: dict) -> None:
        if event["request"]["url"].startswith("data:"):
            return
        if (hop := self._open.get(event["requestId"])) and "redirectResponse" in event:
            hop.status = event["redirectResponse"]["status"]
            hop.bytes = int(event["redirectResponse"].get("encodedDataLength", 0))
            hop.done, hop.ended = True, event["timestamp"]
        self._open[event["requestId"]] = fetch = Fetch(event["request"]["method"],
                                                       event["request"]["url"],
                                                       began=event["timestamp"])
        self.log.append(fetch)

    def _from_cache(self, event: dict) -> None:
        if fetch := self._open.get(event["requestId"]):
            fetch.cached = True

    def _response(self, event: dict) -> None:
        if fetch := self._open.get(event["requestId"]):
            response = event["response"]
            fetch.status = response["status"]
            if response.get("fromDiskCache") or response.get("fromPrefetchCache") or \
                    response.get("fromServiceWorker"):
                fetch.cached = True

    def _finished(self, event: dict) -> None:
        if fetch := self._open.pop(event["requestId"], None):
            fetch.bytes += int(event.get("encodedDataLength", 0))
            fetch.done, fetch.ended = True, event["timestamp"]

    def settle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until nothing is in flight and nothing new started for `quiet` seconds."""
        deadline, seen, calm_since = time.monotonic() + timeout, -1, time.monotonic()
        while time.monotonic() < deadline:
            self.page.wait_for_timeout(50)  # lets Playwright deliver the DevTools events
            if len(self.log) != seen or self._open:
                seen, calm_since = len(self.log), time.monotonic()
            elif time.monotonic() - calm_since >= quiet:
                return
        raise TimeoutError(f"still in flight: {list(self._open.values())}")

    def mark(self) -> int:
        self.settle()
        return len(self.log)

    def fetched(self, since: int = 0) -> list[Fetch]:
        """The requests that went over the network since a mark, in order."""
        self.settle()
        return [f for f in self.log[since:] if not f.cached]

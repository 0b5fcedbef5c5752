"""Racing clients for tests against the real server: each Browser is its own logged-in
session (its own cookie jar) talking HTTP to the live server, and race() fires their requests
together from behind a barrier."""

from __future__ import annotations

import datetime as dt
import gzip
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.cookiejar import CookieJar
from urllib.error import HTTPError

from support import PASSWORD, csrf_token

REQUEST_TIMEOUT = 30  # seconds for any one HTTP request
BARRIER_TIMEOUT = 60  # seconds for every client to log in and reach the start line
RACE_TIMEOUT = 120  # seconds for the whole race, after which the test fails, never hangs
TAKEN = "that slot was just taken"
LOCKED = "database is locked"


# --- a minimal browser: urllib with a cookie jar, redirects seen, not followed -----------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hand 3xx responses back instead of following them, so the test sees the 303."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


@dataclass
class Reply:
    status: int
    location: str | None
    text: str


class Browser:
    """One person's session: its own cookies, every response read whole and closed."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),  # loopback: never through a proxy from the env
            urllib.request.HTTPCookieProcessor(CookieJar()),
            _NoRedirect(),
        )

    def get(self, path: str) -> Reply:
        return self._send(urllib.request.Request(self.base_url + path))

    def post(self, path: str, form: dict[str, str]) -> Reply:
        data = urllib.parse.urlencode(form).encode()
        return self._send(urllib.request.Request(self.base_url + path, data=data, headers={
            "Content-Type": "application/x-www-form-urlencoded"}))

    def _send(self, request: urllib.request.Request) -> Reply:
        try:
            response = self.opener.open(request, timeout=REQUEST_TIMEOUT)
        except HTTPError as error:  # 3xx (not followed), 4xx and 5xx all arrive here
            response = error
        with response:
            status = response.code if isinstance(response, HTTPError) else response.status
            body = response.read()
            if response.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            return Reply(status, response.headers.get("Location"),
                         body.decode("utf-8", "replace"))

    def log_in(self, username: str, password: str = PASSWORD) -> None:
        page = self.get("/login")
        assert page.status == 200, page
        reply = self.post("/login", {"csrf_token": csrf_token(page.text),
                                     "username": username, "password": password})
        assert reply.status == 303, f"{username} could not log in: {reply.status}"


def slot_key(day: dt.date, at: dt.time) -> str:
    return f"{day.isoformat()}T{at:%H:%M}"


def race(contenders: list[tuple[Callable[[], object], Callable[[object], Reply]]]) -> list[Reply]:
    """Run each (prepare, fire) pair in its own thread: all prepare (log in, fetch the form),
    wait at one barrier, then fire their POSTs together. Returns the replies in order; fails
    if any thread raised or if the race overruns its time."""
    barrier = threading.Barrier(len(contenders))
    replies: list[Reply | None] = [None] * len(contenders)
    failures: list[BaseException] = []

    def run(index: int, prepare, fire) -> None:
        try:
            state = prepare()
            barrier.wait(timeout=BARRIER_TIMEOUT)
            replies[index] = fire(state)
        except BaseException as exc:  # reported below, in the test's own thread
            failures.append(exc)
            barrier.abort()  # release the others at once instead of letting them time out

    threads = [threading.Thread(target=run, args=(i, *pair), daemon=True)
               for i, pair in enumerate(contenders)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + RACE_TIMEOUT
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "the race did not finish in time"
    real = [f for f in failures if not isinstance(f, threading.BrokenBarrierError)]
    assert not failures, f"a contender failed: {(real or failures)[0]!r}"
    return replies


def assert_no_server_trouble(replies: list[Reply]) -> None:
    for reply in replies:
        assert reply.status < 500, f"server error {reply.status}: {reply.text[:500]}"
        assert LOCKED not in reply.text.lower(), "SQLite lock leaked into a response"

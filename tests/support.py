"""Helpers shared by the tests (fixtures live in conftest.py)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import socket
import time
from contextlib import contextmanager
from pathlib import Path

from hms import create_app
from hms.models import Appointment, DoctorAvailability
from hms.throttle import limiter

PASSWORD = "correct-horse-42"


def wait_for(condition, seconds: float = 30) -> bool:
    """Whether `condition()` became true within `seconds` (real time), asking ten times a
    second: for work another process or thread does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_app(tmp_path: Path, redis_url: str, **config):
    """An app whose instance folder and database live under tmp_path. The throttling counts
    of earlier tests (in the shared test Redis) are cleared."""
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE": str(tmp_path / "hms-test.sqlite3"),
        "REDIS_URL": redis_url,
        **config,
    })
    # One limiter serves every app of this process: forget what an earlier test's app saw
    # (a Redis it found dead; its counts in the shared test Redis).
    limiter._storage_dead = False
    with app.app_context():
        try:
            limiter.reset()
        except Exception:  # noqa: BLE001 - a test app pointed at a Redis that is not there
            pass
    return app


def csrf_token(html: str) -> str:
    """The CSRF token a page carries, as a browser would send it back."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def run_queued(huey) -> None:
    """Run everything waiting in the queue, as a worker would."""
    while (task := huey.dequeue()) is not None:
        huey.execute(task)


def without_faketime(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment without libfaketime, for redis-server, which cannot run under it (it
    aborts on a recursive clock call), and for the Huey worker, whose clock the tests freeze
    (tests/frozen_process.py) and whose idle threads would never wake under it. The suite
    must pass whatever the machine's clock says; tests/test_clock.py runs tests under
    faketime."""
    env = dict(os.environ if environ is None else environ)
    preload = [lib for lib in env.pop("LD_PRELOAD", "").split(":") if lib and "faketime" not in lib]
    if preload:
        env["LD_PRELOAD"] = ":".join(preload)
    return {k: v for k, v in env.items() if not k.startswith("FAKETIME")}


class AuthActions:
    """Log in and out through the real forms, CSRF token included."""

    def __init__(self, client):
        self._client = client

    def login(self, username: str, password: str = PASSWORD):
        page = self._client.get("/login")
        return self._client.post("/login", data={
            "csrf_token": csrf_token(page.text), "username": username, "password": password})

    def logout(self):
        page = self._client.get("/", follow_redirects=True)
        return self._client.post("/logout", data={"csrf_token": csrf_token(page.text)})


def mailed_path(message) -> str:
    """The path of the HMS link in a mail's plain-text part."""
    text = message.get_body(("plain",)).get_content()
    match = re.search(r"https?://[^/\s]+(/account/\S+)", text)
    assert match, f"no account link in: {text}"
    return match.group(1)


def refuse_inserts(table: str):
    """Make the database refuse every row inserted into table, as a full disk would, on either
    engine (a trigger that raises). Returns what undoes it."""
    from hms.db import db, is_sqlite

    name = f"refuse_{table}"
    with db.connection_context():
        if is_sqlite():
            db.execute_sql(f'CREATE TRIGGER "{name}" BEFORE INSERT ON "{table}" '
                           "BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        else:
            db.execute_sql(f'CREATE FUNCTION "{name}"() RETURNS trigger LANGUAGE plpgsql AS '
                           "$$ BEGIN RAISE EXCEPTION 'disk full' USING ERRCODE = "
                           "'check_violation'; END $$")
            db.execute_sql(f'CREATE TRIGGER "{name}" BEFORE INSERT ON "{table}" '
                           f'FOR EACH ROW EXECUTE FUNCTION "{name}"()')

    def undo() -> None:
        with db.connection_context():
            db.execute_sql(f'DROP TRIGGER "{name}"' + ("" if is_sqlite() else f' ON "{table}"'))

    return undo


def content_security_policy(response) -> dict[str, list[str]]:
    """The response's Content-Security-Policy as {directive: [sources]}, as a browser reads it."""
    policy = {}
    for part in response.headers.get("Content-Security-Policy", "").split(";"):
        if words := part.split():
            policy.setdefault(words[0].lower(), [w.lower() for w in words[1:]])
    return policy


def assert_security_headers(response) -> None:
    """The answer (any answer: page, fragment, error, redirect, file) carries the headers that
    keep the browser strict: a CSP without inline code or eval, no framing, no sniffing."""
    where = f"{response.request.method} {response.request.path} → {response.status_code}"
    policy = content_security_policy(response)
    assert policy, f"no Content-Security-Policy on {where}"
    default = policy.get("default-src")
    assert default in (["'self'"], ["'none'"]), (where, policy)
    for directive in ("script-src", "style-src", "connect-src"):
        # A missing directive falls back to default-src, which is this site or nothing.
        assert policy.get(directive, default) in (["'self'"], ["'none'"]), (where, directive)
    assert set(policy.get("img-src", default)) <= {"'self'", "data:", "'none'"}, where
    assert policy.get("object-src") == ["'none'"], where
    assert policy.get("base-uri") in (["'none'"], ["'self'"]), where
    assert policy.get("form-action") == ["'self'"], where
    assert policy.get("frame-ancestors") == ["'none'"], where
    assert response.headers.get("X-Frame-Options") == "DENY", where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    assert response.headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", where
    assert response.headers.get("Cross-Origin-Opener-Policy") == "same-origin", where
    denied = {item.strip() for item in response.headers.get("Permissions-Policy", "").split(",")}
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in denied, (where, feature)


@contextmanager
def statements():
    """Record the SQL the app runs, each with its parameters (Peewee logs each statement at
    DEBUG as (sql, params))."""
    seen: list[str] = []

    class Recorder(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if isinstance(record.msg, tuple):
                sql, params = record.msg
                seen.append(f"{sql} {params!r}")
            else:
                seen.append(str(record.msg))

    logger, handler = logging.getLogger("peewee"), Recorder(logging.DEBUG)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield seen
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def one_time_held(people, day):
    """Dr One sees patients at 09:00 only that day (the diary fixture's other mornings closed),
    and Pat Two holds it: nothing is free that day until Pat Two lets it go. Returns Pat Two's
    appointment. For the waitlist's tests."""
    doctor = people.doctor("dr.one")
    DoctorAvailability.update(is_available=False).where(
        DoctorAvailability.doctor == doctor, DoctorAvailability.date == day,
        DoctorAvailability.time_slot != dt.time(9)).execute()
    return Appointment.create(patient=people.patient("pat.two"), doctor=doctor, date=day,
                              time=dt.time(9), reason="Check-up",
                              booked_by=people.user("pat.two"))

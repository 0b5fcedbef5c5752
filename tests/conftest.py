"""Fixtures in the flaskr shape: an app on a fresh SQLite file built from schema.sql, a client,
personas (an admin, two doctors, two patients, a receptionist) and a real Redis server."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
import redis
import time_machine
from aiosmtpd.controller import Controller

from hms.accounts import create_staff, register_patient
from hms.clock import clinic_today
from hms.db import db, init_schema
from hms.models import Appointment, Doctor, DoctorAvailability, Patient, User
from instants import DEFAULT, MATRIX, PERSONAS_MADE
from support import PASSWORD, AuthActions, free_port, make_app, without_faketime

# Tests state their own configuration: a developer's HMS_* settings must not leak in.
for _name in [n for n in os.environ if n.startswith("HMS_")]:
    del os.environ[_name]


def pytest_addoption(parser):
    parser.addoption("--engine", choices=("sqlite", "postgresql"), default="sqlite",
                     help="the database every app fixture runs on (scripts/test.sh runs both)")


def pytest_collection_modifyitems(config, items):
    """On PostgreSQL, tests of SQLite's own machinery (its file, its writers' lock, FTS5) are
    skipped, saying so; they run in the SQLite pass."""
    if config.getoption("engine") != "postgresql":
        return
    skip = pytest.mark.skip(reason="about SQLite's own machinery: runs in the SQLite pass")
    for item in items:
        if item.get_closest_marker("sqlite_only"):
            item.add_marker(skip)


def pytest_sessionfinish(session):
    """Cancel the timers left waiting, so the process can end. Flask-Limiter's in-memory
    fallback starts a threading.Timer per app; under libfaketime (tests/test_clock.py) a timed
    wait on the monotonic clock never returns (libfaketime issue 390), and the interpreter
    would wait for those threads forever at exit."""
    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer):
            thread.cancel()


def pytest_generate_tests(metafunc):
    """Tests marked `calendar` run at every instant of the matrix (tests/instants.py), or at
    the instants the marker names."""
    marker = metafunc.definition.get_closest_marker("calendar")
    if marker:
        metafunc.parametrize("frozen_clock", marker.args or MATRIX, indirect=True, ids=str)


@pytest.fixture(autouse=True)
def frozen_clock(request):
    """Every test runs with the clock stopped at a stated instant (DEFAULT, or each instant of
    the matrix for `calendar` tests); the real clock never matters. time-machine moves the
    clock of this process, threads included (the live servers); `frozen_clock.move_to(...)`
    sets another instant. The worker process follows it through tests/frozen_process.py."""
    instant = getattr(request, "param", DEFAULT)
    with time_machine.travel(instant.moment, tick=False) as traveller:
        yield traveller


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A private Redis server on a free loopback port for the whole test session."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed: run scripts/test.sh, which installs it")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=without_faketime(),
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("the test Redis server did not start")
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def postgres():
    """A private PostgreSQL cluster (tests/postgres.py) for the whole test session."""
    from postgres import Cluster

    cluster = Cluster()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def database_engine(request) -> str:
    """The engine of this test run: sqlite (the default) or postgresql (`--engine`)."""
    return request.config.getoption("engine")


@pytest.fixture(scope="session")
def persona_db(tmp_path_factory, redis_url, database_engine, request) -> str:
    """A database built from the engine's schema with the personas, made once (password
    hashing is slow on purpose) and copied for each test: a SQLite file, or a PostgreSQL
    template database."""
    folder = tmp_path_factory.mktemp("template")
    if database_engine == "postgresql":
        location = request.getfixturevalue("postgres").create("personas")
    else:
        location = str(folder / "hms-test.sqlite3")
    app = make_app(folder, redis_url, DATABASE=location)
    with app.app_context(), time_machine.travel(PERSONAS_MADE, tick=False):
        init_schema()
        with db.connection_context():
            make_personas()
    db.close()
    return location


@pytest.fixture
def database(tmp_path: Path, persona_db: str, database_engine: str, request) -> str:
    """This test's own copy of the personas' database: a SQLite path or a PostgreSQL URL."""
    if database_engine == "sqlite":
        shutil.copy(persona_db, tmp_path / "hms-test.sqlite3")
        return str(tmp_path / "hms-test.sqlite3")
    postgres = request.getfixturevalue("postgres")
    name = f"test_{uuid.uuid4().hex[:16]}"
    request.addfinalizer(lambda: postgres.drop(name))
    return postgres.create(name, template="personas")


@pytest.fixture
def app(tmp_path: Path, redis_url: str, database: str):
    """The app on its own copy of the personas' database."""
    app = make_app(tmp_path, redis_url, DATABASE=database)
    yield app
    if not db.is_closed():
        db.close()


def make_personas() -> None:
    """Two of each role that owns things, so 'the other one' always exists."""
    create_staff("admin", "admin", "admin@test.example", PASSWORD)
    create_staff("receptionist", "desk", "desk@test.example", PASSWORD)
    create_staff("doctor", "dr.one", "one@test.example", PASSWORD, "Dr Ada One", "Cardiology")
    create_staff("doctor", "dr.two", "two@test.example", PASSWORD, "Dr Bo Two", "Dermatology")
    register_patient("pat.one", "pat1@test.example", PASSWORD, "Pat One", "female",
                     dt.date(1980, 5, 17), "+44 1000 000001")
    register_patient("pat.two", "pat2@test.example", PASSWORD, "Pat Two", "male",
                     dt.date(1992, 8, 2), "+44 1000 000002")


class Personas:
    """Look up the personas' rows by the names tests use."""

    def user(self, username: str) -> User:
        return User.get(User.username == username)

    def doctor(self, username: str) -> Doctor:
        return Doctor.select().join(User).where(User.username == username).get()

    def patient(self, username: str) -> Patient:
        return Patient.select().join(User).where(User.username == username).get()


@pytest.fixture
def people(app):
    """The personas' rows. No app context is held open: requests must get their own `g`."""
    return Personas()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def live_server(app):
    """The app served by a threaded Werkzeug server on a free loopback port."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


MORNING = [dt.time(9), dt.time(9, 30), dt.time(10), dt.time(10, 30), dt.time(11), dt.time(11, 30)]


@pytest.fixture
def tomorrow(app) -> dt.date:
    """Tomorrow at the clinic: every slot of that day is in the future, whatever the hour."""
    with app.app_context():
        return clinic_today() + dt.timedelta(days=1)


@pytest.fixture
def diary(people, tomorrow) -> dt.date:
    """Dr One and Dr Two each have six open slots, 09:00 to 12:00, on each of the seven days
    from tomorrow. Returns tomorrow."""
    rows = [{"doctor": people.doctor(name).id, "date": tomorrow + dt.timedelta(days=d),
             "time_slot": t, "is_available": True}
            for name in ("dr.one", "dr.two") for d in range(7) for t in MORNING]
    DoctorAvailability.insert_many(rows).execute()
    return tomorrow


@pytest.fixture
def visit(people, app) -> Appointment:
    """Pat One, checked in with Dr One yesterday: a visit ready for its treatment."""
    with app.app_context():
        day = clinic_today() - dt.timedelta(days=1)
    return Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                              date=day, time=dt.time(9), reason="Cough", status="checked_in")


class Inbox:
    """What the SMTP server received: parsed messages, with their envelope recipients."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        with self.lock:
            self.messages.append(message)
        return "250 OK"


@pytest.fixture(scope="session")
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def inbox(app, smtp_server):
    """A fresh inbox, and the app pointed at the test SMTP server."""
    controller, box = smtp_server
    box.messages.clear()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port)
    return box


@pytest.fixture
def worker_app(app):
    """What the worker's start-up hook does, with tasks run at once inside the request."""
    import tasks

    tasks.huey.immediate = True
    tasks.app = app
    yield app
    tasks.app = None
    tasks.huey.immediate = False


@pytest.fixture
def queue(app):
    """A queue held in memory and not run: the test runs what was queued when it chooses
    (support.run_queued)."""
    from huey.storage import MemoryStorage

    import tasks

    saved = tasks.huey.storage
    tasks.huey.storage = MemoryStorage("hms")
    tasks.app = app
    yield tasks.huey
    tasks.huey.storage = saved
    tasks.app = None


@pytest.fixture
def rig(app, tmp_path, redis_url):
    """A private Redis, an SMTP server and `huey_consumer` processes that a test starts, stops
    and kills (tests/rig.py); the app's queue points at that Redis until the test ends."""
    import tasks
    from rig import Rig

    rig = Rig(app, tmp_path)
    yield rig
    rig.stop()
    tasks.connect(redis_url)

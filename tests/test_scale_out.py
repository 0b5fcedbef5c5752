"""Several processes on one database, as on several hosts: gunicorn with four worker processes
takes a thousand contended bookings, reschedules, desk bookings and cancellations on a few
shared slots with no double booking and no server error; two Huey worker processes handed
the same day's reminders send each one once. In the PostgreSQL pass (`--engine postgresql`)
this is the proof at READ COMMITTED; in the SQLite pass, of its writers' queue."""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

import tasks
from hms.accounts import register_patient
from hms.db import db
from hms.models import LIVE_STATUSES, Appointment, DoctorAvailability, Reminder
from instants import DEFAULT, MATRIX
from racing import Browser, Reply, slot_key
from support import PASSWORD, csrf_token, free_port

ROOT = Path(__file__).resolve().parent.parent
FROZEN = Path(__file__).with_name("frozen_process.py")
BIN = Path(sys.executable).parent
WEB_WORKERS = 4
ATTEMPTS = 1000
CLIENTS = 12
PATIENTS = 10
SLOTS = [dt.time(9), dt.time(9, 30), dt.time(10), dt.time(10, 30)]
# A thousand requests are too many for every instant: the year's last minute and the night the
# clocks go back (the worker processes' frozen clocks must agree with the test's), beside the
# default.
EDGES = [DEFAULT, *(i for i in MATRIX
                    if i.name in ("new-years-eve-23:59", "fall-back-01:30-second"))]


def _environment(app, database: str, redis_url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "HMS_DATABASE": database, "HMS_REDIS_URL": redis_url,
            "HMS_INSTANCE_PATH": app.instance_path, "HMS_SECRET_KEY": "test-secret", **extra}


def _frozen(program: Path, *args: str) -> list[str]:
    """The program, with its clock where the test's stands (tests/frozen_process.py)."""
    return [sys.executable, str(FROZEN), dt.datetime.now(dt.UTC).isoformat(), str(program),
            *args]


def _stop(proc: subprocess.Popen, sig: int) -> None:
    proc.send_signal(sig)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def web(app, database, redis_url, tmp_path):
    """gunicorn as scripts/run.sh starts it, with four worker processes, on a free port."""
    port = free_port()
    env = _environment(app, database, redis_url, HMS_BIND=f"127.0.0.1:{port}",
                       HMS_WORKERS=str(WEB_WORKERS), HMS_THREADS="2", HMS_ACCESS_LOG="")
    log = (tmp_path / "gunicorn.log").open("w")
    proc = subprocess.Popen(_frozen(BIN / "gunicorn", "-c", "python:hms.gunicorn_conf",
                                    "hms.wsgi:app"),
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if Browser(base).get("/login").status == 200:
                break
        except OSError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, \
            (tmp_path / "gunicorn.log").read_text()[-2000:]
        time.sleep(0.2)
    yield base
    _stop(proc, signal.SIGTERM)
    log.close()
    workers = set(re.findall(r"Booting worker with pid: (\d+)",
                             (tmp_path / "gunicorn.log").read_text()))
    assert len(workers) >= WEB_WORKERS


@pytest.mark.calendar(*EDGES)
def test_a_thousand_contended_writes_across_four_processes_never_double_book(
        app, web, people, diary):
    doctors = [people.doctor("dr.one"), people.doctor("dr.two")]
    day = diary
    slots = [slot_key(day, t) for t in SLOTS]
    names = ["pat.one", "pat.two"]
    with app.app_context(), db.connection_context():
        for n in range(PATIENTS - 2):
            register_patient(f"crowd{n}", f"crowd{n}@test.example", PASSWORD, f"Crowd {n}",
                             "other", dt.date(1980, 1, 1 + n), f"+44 1000 2{n:05d}")
            names.append(f"crowd{n}")
    patient_ids = {name: people.patient(name).id for name in names}

    sessions: dict[str, Browser] = {}
    for name in [*names, "desk"]:
        sessions[name] = Browser(web)
        sessions[name].log_in(name)
    tokens = {name: csrf_token(s.get("/appointments/" if name != "desk" else "/desk/").text)
              for name, s in sessions.items()}
    replies: list[tuple[str, Reply]] = []
    lock = threading.Lock()
    left = [ATTEMPTS]

    def mine(name: str) -> list[int]:
        page = sessions[name].get("/appointments/").text
        return [int(i) for i in re.findall(r'href="/appointments/(\d+)"', page)]

    def attempt(rng: random.Random) -> tuple[str, Reply]:
        name = rng.choice(names)
        doctor = rng.choice(doctors)
        slot = rng.choice(slots)
        kind = rng.choice(["book", "book", "desk", "reschedule", "cancel"])
        if kind in ("reschedule", "cancel"):
            booked = mine(name)
            if not booked:
                kind = "book"
            else:
                appointment = rng.choice(booked)
                if kind == "cancel":
                    return kind, sessions[name].post(f"/appointments/{appointment}/cancel", {
                        "csrf_token": tokens[name], "reason": "Changed plans"})
                return kind, sessions[name].post(f"/appointments/{appointment}/reschedule", {
                    "csrf_token": tokens[name], "slot": slot})
        if kind == "desk":
            return kind, sessions["desk"].post("/desk/book", {
                "csrf_token": tokens["desk"], "patient_id": str(patient_ids[name]),
                "doctor_id": str(doctor.id), "slot": slot, "reason": "At the desk"})
        return kind, sessions[name].post(f"/appointments/book/{doctor.id}", {
            "csrf_token": tokens[name], "slot": slot, "reason": "Check-up"})

    def client(seed: int) -> None:
        rng = random.Random(seed)
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            result = attempt(rng)
            with lock:
                replies.append(result)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not any(t.is_alive() for t in threads), "the load did not finish in time"

    assert len(replies) == ATTEMPTS
    trouble = [(kind, r.status, r.text[:300]) for kind, r in replies if r.status >= 500]
    assert not trouble, trouble[:3]
    outcomes = Counter((kind, r.status) for kind, r in replies)
    # Writes went through, and others lost races for slots already held: both happened.
    assert sum(n for (_, status), n in outcomes.items() if status == 303) >= 50, outcomes
    assert sum(n for (_, status), n in outcomes.items() if status == 409) >= 50, outcomes
    assert {kind for kind, _ in outcomes} == {"book", "desk", "reschedule", "cancel"}

    with app.app_context(), db.connection_context():
        live = Appointment.select().where(Appointment.status.in_(LIVE_STATUSES))
        by_doctor = Counter((a.doctor_id, a.date, a.time) for a in live)
        by_patient = Counter((a.patient_id, a.date, a.time) for a in live)
        assert max(by_doctor.values()) == 1 and max(by_patient.values()) == 1
        assert all(a.time in SLOTS and a.date == day for a in live)
        # Every slot taken is one the doctors opened.
        opened = {(d.doctor_id, d.date, d.time_slot) for d in DoctorAvailability.select()}
        assert set(by_doctor) <= opened
        moved = Appointment.select().where(Appointment.status == "rescheduled").count()
        assert moved == Appointment.select().where(
            Appointment.rescheduled_from.is_null(False)).count()


@pytest.fixture
def two_consumers(app, database, redis_url, inbox, tmp_path):
    """Two `huey_consumer` processes on the same queue, database and SMTP server."""
    tasks.huey.flush()
    env = _environment(app, database, redis_url, HMS_SMTP_HOST="127.0.0.1",
                       HMS_SMTP_PORT=str(app.config["SMTP_PORT"]))
    procs = []
    for n in range(2):
        log = (tmp_path / f"consumer{n}.log").open("w")
        procs.append((subprocess.Popen(_frozen(BIN / "huey_consumer", "tasks.huey", "-w", "2",
                                               "-k", "thread", "-n"),
                                       cwd=ROOT, env=env, stdout=log,
                                       stderr=subprocess.STDOUT), log))
    yield [p for p, _ in procs]
    for proc, log in procs:
        _stop(proc, signal.SIGINT)
        log.close()


@pytest.mark.calendar(*EDGES)
def test_two_worker_processes_handed_the_same_reminders_send_each_once(
        app, two_consumers, inbox, people, diary):
    visits = [Appointment.create(patient=people.patient(p), doctor=people.doctor(d), date=diary,
                                 time=t, reason="Check-up")
              for p, d, t in (("pat.one", "dr.one", dt.time(9)),
                              ("pat.two", "dr.two", dt.time(9)),
                              ("pat.one", "dr.two", dt.time(10)),
                              ("pat.two", "dr.one", dt.time(10)))]
    app.config.update(REMINDER_DAYS_AHEAD=2)  # tomorrow's reminders are due
    with app.app_context():
        assert tasks.sweep()["reminders"] == len(visits)  # the rows, queued once ...
    for _ in range(2):  # ... and handed out twice more, as if by other hosts' sweeps
        for visit in visits:
            tasks.send_reminder(visit.id)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and Reminder.select().where(
            Reminder.status == "sent").count() < len(visits):
        time.sleep(0.2)
    time.sleep(2)  # let the other copies run: they must find the reminders claimed
    assert all(p.poll() is None for p in two_consumers)
    assert Reminder.select().where(Reminder.status == "sent").count() == len(visits)
    # (In the first week of a month the sweep also sends last month's reports to doctors.)
    to_patients = sorted(m["X-Envelope-To"] for m in inbox.messages
                         if m["X-Envelope-To"].startswith("pat"))
    assert to_patients == ["pat1@test.example"] * 2 + ["pat2@test.example"] * 2

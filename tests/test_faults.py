"""Background work under faults, with real processes: a real `huey_consumer` (killed, stopped
with SIGTERM, restarted), a private Redis that is killed and comes back empty, and an aiosmtpd
server that is down or slow to answer, as the test decides. Every test counts what was
attempted, done, lost and duplicated, and asserts none lost and none duplicated.

The real parts are tests/rig.py's (the `rig` fixture).
"""

from __future__ import annotations

import collections
import datetime as dt
import signal
import time

import pytest

from hms import exporting, notices, work
from hms.accounts import register_patient
from hms.clock import utc_now
from hms.models import (AccountMail, Appointment, ExportFile, ExportJob, Patient, Reminder,
                        Treatment)
from instants import DEFAULT, MATRIX
from rig import MINUTE, Mailbox
from support import PASSWORD, csrf_token, mailed_path, wait_for

# The reminder fault tests also run where "tomorrow" is next year, where last month's reports
# are due as well, and in the repeated hour of the autumn change.
EDGES = [DEFAULT, *(i for i in MATRIX if i.name in (
    "new-years-eve-23:59", "first-of-month-07:30", "fall-back-01:30-second"))]


@pytest.fixture
def tomorrows_patients(app, people, diary):
    """Ten patients, each with a booked appointment tomorrow (a minute apart, at Dr One's and
    Dr Two's); their reminders are due (two days ahead at 18:00 has passed)."""
    app.config.update(REMINDER_DAYS_AHEAD=2)
    visits = []
    for n in range(10):
        user = register_patient(f"fault.{n}", f"fault{n}@test.example", PASSWORD,
                                f"Fault Patient {n}", "female", dt.date(1970, 1, 1),
                                f"+44 2000 {n:06d}")
        patient = Patient.get(Patient.user == user)
        visits.append(Appointment.create(
            patient=patient, doctor=people.doctor("dr.one" if n % 2 else "dr.two"),
            date=diary, time=dt.time(9, n), reason="Check-up"))
    return visits


def settled() -> bool:
    """No reminder is waiting for, or held by, a worker."""
    return not Reminder.select().where(Reminder.status.in_(("queued", "sending"))).exists()


def tally(visits, mailbox: Mailbox) -> dict:
    """attempted / done / lost / duplicated, for the closing note and the assertions."""
    counts = mailbox.per_recipient()
    addresses = [f"fault{n}@test.example" for n in range(len(visits))]
    return {"attempted": len(visits), "done": sum(1 for a in addresses if counts[a] >= 1),
            "lost": sum(1 for a in addresses if counts[a] == 0),
            "duplicated": sum(counts[a] - 1 for a in addresses if counts[a] > 1)}


@pytest.mark.calendar(*EDGES)
def test_redis_killed_across_the_reminder_time_delays_reminders_and_loses_none(
        rig, tomorrows_patients):
    now = utc_now()
    rig.mail.up()
    rig.start_worker()
    rig.redis.kill()  # ... just before the reminders fall due
    handed = rig.sweep(now)
    # Nothing reached the queue (in the first week of a month, last month's reports too).
    assert handed["reminders"] == 0 and handed["not handed out"] >= 10
    assert Reminder.select().where(Reminder.status == "queued").count() == 10  # recorded
    assert rig.sweep(now + MINUTE)["reminders"] == 0  # still away
    rig.redis.start()  # back, and empty: the queue forgot everything
    assert rig.sweep(now + work.REQUEUE)["reminders"] == 10
    assert wait_for(settled)
    assert tally(tomorrows_patients, rig.mail) == {"attempted": 10, "done": 10, "lost": 0,
                                                   "duplicated": 0}


@pytest.mark.calendar(*EDGES)
def test_smtp_down_past_the_old_retry_window_and_redis_restarted_loses_no_reminder(
        rig, tomorrows_patients):
    """The mail server is away for 40 minutes (the old code gave up after 7), and Redis
    restarts empty in the middle: every reminder still goes out once when the server is back."""
    now = utc_now()
    rig.start_worker()
    assert rig.sweep(now)["reminders"] == 10
    for minutes in (2, 5, 12, 20, 40):  # sweeps while the server is down: each try fails
        assert wait_for(settled)
        if minutes == 12:
            rig.redis.kill()
            rig.redis.start()
        rig.sweep(now + minutes * MINUTE)
    assert wait_for(settled)
    attempts = [r.attempts for r in Reminder.select()]
    assert min(attempts) >= 5 and {r.status for r in Reminder.select()} == {"failed"}
    rig.mail.up()
    assert rig.sweep(now + 80 * MINUTE)["reminders"] == 10
    assert wait_for(settled)
    assert {r.status for r in Reminder.select()} == {"sent"}
    assert tally(tomorrows_patients, rig.mail) == {"attempted": 10, "done": 10, "lost": 0,
                                                   "duplicated": 0}
    # Every attempt carried the same Message-ID, so a receiver could tell a repeat. (On the
    # first of a month the sweep also mails last month's reports: those are not counted here.)
    reminder_mail = [m for m in rig.mail.messages if ".reminder-" in m["Message-ID"]]
    assert len(reminder_mail) == 10
    assert {m["Message-ID"].strip() for m in reminder_mail} == \
        {r.message_id for r in Reminder.select()}


def test_a_server_slow_to_acknowledge_gets_each_message_once(rig, tomorrows_patients):
    """It stores each message and answers 4 s later. With RFC 5321's ten minutes the worker
    waits; with a timeout shorter than the server's answer (as before: 20 s against 25 s)
    the outcome is recorded as unknown and the reminder is not sent again."""
    rig.mail.delay = 4
    rig.mail.up()
    rig.start_worker()  # SMTP_TIMEOUT: ten minutes
    visits = tomorrows_patients[:4]
    Appointment.delete().where(Appointment.id.not_in([v.id for v in visits])).execute()
    now = utc_now()
    assert rig.sweep(now)["reminders"] == 4
    assert wait_for(settled)
    assert {r.status for r in Reminder.select()} == {"sent"}
    assert tally(visits, rig.mail) == {"attempted": 4, "done": 4, "lost": 0, "duplicated": 0}
    # The same, with a worker that gives up after one second.
    rig.workers[0].send_signal(signal.SIGTERM)
    rig.workers[0].wait(timeout=60)
    Reminder.delete().execute()
    rig.mail.messages.clear()
    rig.start_worker(SMTP_TIMEOUT=1)
    assert rig.sweep(now)["reminders"] == 4
    assert wait_for(settled)
    assert {r.status for r in Reminder.select()} == {"unknown"}
    for minutes in (30, 120):  # no sweep sends an unknown reminder again
        assert rig.sweep(now + minutes * MINUTE)["reminders"] == 0
    time.sleep(1)
    assert tally(visits, rig.mail) == {"attempted": 4, "done": 4, "lost": 0, "duplicated": 0}


@pytest.mark.calendar(*EDGES)
def test_a_worker_killed_during_a_reminder_run_loses_none_and_resends_none(
        rig, tomorrows_patients):
    rig.mail.delay = 3  # so the kill finds messages in the server's hands
    rig.mail.up()
    worker = rig.start_worker()
    now = utc_now()
    assert rig.sweep(now)["reminders"] == 10
    # Kill it once the server holds a message and is slow to answer for it.
    assert wait_for(lambda: len(rig.mail.messages) >= 1)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    held = Reminder.select().where(Reminder.status == "sending").count()
    assert held >= 1, "the kill found nothing in progress"
    rig.mail.delay = 0
    rig.start_worker()
    with rig.app.app_context():
        lease = notices.lease()
    rig.sweep(now + lease + MINUTE)  # the dead worker's leases have run out
    assert wait_for(settled)
    statuses = collections.Counter(r.status for r in Reminder.select())
    # A reminder whose message was handed to the server when the worker died is 'unknown':
    # the server may have kept it (it stores a message before it answers) or not (the kill
    # came first). It is not resent blindly, and it is listed for an admin to check and try
    # again. Every other one was sent by the new worker. None is sent twice, and none is lost
    # without a row saying so.
    assert set(statuses) <= {"sent", "unknown"} and statuses["unknown"] >= 1
    counts = tally(tomorrows_patients, rig.mail)
    assert counts["duplicated"] == 0
    received = rig.mail.per_recipient()
    for visit in tomorrows_patients:
        row = Reminder.get(Reminder.appointment == visit.id)
        if not received[visit.patient.user.email]:
            assert row.status == "unknown", "a reminder was lost without a trace"
    assert counts["lost"] <= statuses["unknown"]


def test_a_reset_asked_while_redis_and_smtp_are_down_arrives_once_and_works(rig, app, client):
    """The patient asks for a reset link with Redis and the mail server both away: the page
    answers as usual, the mail is recorded, the sweep hands it over once Redis is back, the
    worker's first try fails, and the next one delivers it, once, with a link that works."""
    rig.start_worker()
    rig.redis.kill()
    page = client.get("/account/forgot")
    asked = client.post("/account/forgot", data={"csrf_token": csrf_token(page.text),
                                                 "email": "pat1@test.example"})
    assert asked.status_code == 200 and "If an account has the address" in asked.text
    [row] = AccountMail.select()
    assert row.kind == "reset" and row.status in ("queued", "sending")
    now = utc_now()
    assert rig.sweep(now + work.REQUEUE)["accounts"] == 0  # Redis is still away
    rig.redis.start()  # back, and empty
    assert rig.sweep(now + 2 * work.REQUEUE)["accounts"] == 1
    assert wait_for(lambda: AccountMail.get_by_id(row.id).status == "failed")  # no server
    rig.mail.up()
    assert rig.sweep(now + 10 * MINUTE)["accounts"] == 1
    assert wait_for(lambda: AccountMail.get_by_id(row.id).status == "sent")
    for minutes in (20, 40):  # nothing is sent again
        assert rig.sweep(now + minutes * MINUTE)["accounts"] == 0
    [mail] = rig.mail.messages
    assert mail["To"] == "pat1@test.example" and mail["Subject"] == "Reset your password"
    path = mailed_path(mail)
    form = client.get(path)
    assert form.status_code == 200 and "pat.one" in form.text
    done = client.post(path, data={"csrf_token": csrf_token(form.text),
                                   "password": "lighthouse-keeper-9",
                                   "confirm": "lighthouse-keeper-9"})
    assert done.status_code == 303


def long_history(people, visits: int = 150):
    patient, doctor = people.patient("pat.one"), people.doctor("dr.one")
    for n in range(visits):
        visit = Appointment.create(patient=patient, doctor=doctor,
                                   date=dt.date(2024, 1, 1) + dt.timedelta(days=n),
                                   time=dt.time(9), status="completed", reason=f"Visit {n}")
        Treatment.create(appointment=visit, author=doctor.user, diagnosis=f"Diagnosis {n}",
                         prescription="Rest", medicines_json="[]")
    return patient


def test_a_worker_killed_mid_export_is_replaced_and_the_export_completes(rig, app, people):
    patient = long_history(people)
    with app.app_context():
        jobs = [exporting.start_export(people.user("pat.one"), patient, kind="pdf")
                for _ in range(2)]
    worker = rig.start_worker()
    now = utc_now()
    assert rig.sweep(now)["exports"] == 2
    assert wait_for(lambda: ExportJob.select().where(ExportJob.status == "running").exists())
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    assert ExportJob.select().where(ExportJob.status == "running").exists(), \
        "the exports ended before the kill: lengthen the history"
    assert not ExportFile.select().exists()  # no half file, and no "done"
    rig.start_worker()
    assert rig.sweep(now + MINUTE)["exports"] <= 1  # a running one keeps its lease
    rig.sweep(now + exporting.LEASE + MINUTE)
    assert wait_for(lambda: {j.status for j in ExportJob.select()} == {"done"}, 120)
    for job in jobs:
        data = exporting.file_of(ExportJob.get_by_id(job.id))
        assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")
    assert ExportFile.select().count() == 2


def test_sigterm_lets_the_worker_finish_its_export_before_it_stops(rig, app, people):
    patient = long_history(people)
    with app.app_context():
        job = exporting.start_export(people.user("pat.one"), patient, kind="pdf")
    worker = rig.start_worker()
    assert rig.sweep(utc_now())["exports"] == 1
    assert wait_for(lambda: ExportJob.get_by_id(job.id).status == "running")
    worker.send_signal(signal.SIGTERM)  # what systemd and other supervisors send
    assert worker.wait(timeout=120) == 0
    job = ExportJob.get_by_id(job.id)
    assert job.status == "done" and exporting.file_of(job).startswith(b"%PDF")

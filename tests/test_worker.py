"""A real Huey consumer process against the test Redis: what it does arrives for real."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import tasks
from hms.clock import utc_now
from hms.models import Appointment, Reminder
from support import wait_for, without_faketime

ROOT = Path(__file__).resolve().parent.parent
CONSUMER = Path(sys.executable).parent / "huey_consumer"
FROZEN = Path(__file__).with_name("frozen_process.py")


@pytest.fixture
def consumer(app, tmp_path, redis_url, inbox):
    """`huey_consumer tasks.huey` on the test database, Redis and SMTP server."""
    tasks.huey.flush()
    env = {**os.environ, "HMS_REDIS_URL": redis_url, "HMS_DATABASE": app.config["DATABASE"],
           "HMS_INSTANCE_PATH": app.instance_path, "HMS_SECRET_KEY": "test-secret",
           "HMS_SMTP_HOST": "127.0.0.1", "HMS_SMTP_PORT": str(app.config["SMTP_PORT"])}
    log = (tmp_path / "consumer.log").open("w")
    # The worker's clock stands where the test's does (tests/frozen_process.py), whatever the
    # machine's says, so it runs without libfaketime (tests/test_clock.py): under it, a timed
    # wait never returns (libfaketime issue 390), and huey's idle worker threads wait so.
    proc = subprocess.Popen([sys.executable, str(FROZEN), dt.datetime.now(dt.UTC).isoformat(),
                             str(CONSUMER), "tasks.huey", "-w", "2", "-k", "thread", "-n"],
                            cwd=ROOT, env=without_faketime(env), stdout=log,
                            stderr=subprocess.STDOUT)
    yield proc
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def test_the_worker_sends_a_reminder_to_the_smtp_server(consumer, app, inbox, people, diary):
    appt = Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                              date=diary, time=dt.time(11), reason="x")
    app.config.update(REMINDER_DAYS_AHEAD=2)  # tomorrow's reminder is due
    with app.app_context():
        assert tasks.sweep()["reminders"] == 1  # on Redis; the consumer process does the work
    assert wait_for(lambda: Reminder.get_or_none(appointment=appt.id, status="sent")), \
        "the worker did not send the reminder"
    [message] = inbox.messages
    assert message["X-Envelope-To"] == "pat1@test.example"
    # The worker read the tests' frozen clock, not the machine's.
    assert Reminder.get(Reminder.appointment == appt.id).sent_at == utc_now()
    assert consumer.poll() is None  # the worker is still running


def test_the_worker_writes_a_background_export(consumer, app, people):
    from hms import exporting

    with app.app_context():
        job = exporting.start_export(people.user("pat.one"), people.patient("pat.one"))
    tasks.export_history(job.id)

    def written() -> bool:
        from hms.models import ExportFile, ExportJob

        done = ExportJob.get_by_id(job.id)
        return done.status == "done" and ExportFile.get_or_none(ExportFile.job == job.id)

    assert wait_for(written), "the worker did not write the export"


def test_a_worker_killed_mid_export_leaves_no_file_and_no_done(consumer, app, people):
    """The file and "done" are one transaction: kill -9 the worker while WeasyPrint lays out a
    long history, and the job has neither (its recovery is the background-work issue's)."""
    from hms import exporting
    from hms.models import ExportFile, ExportJob, Treatment

    patient, doctor = people.patient("pat.one"), people.doctor("dr.one")
    for n in range(150):
        visit = Appointment.create(patient=patient, doctor=doctor,
                                   date=dt.date(2024, 1, 1) + dt.timedelta(days=n),
                                   time=dt.time(9), status="completed", reason=f"Visit {n}")
        Treatment.create(appointment=visit, author=doctor.user, diagnosis=f"Diagnosis {n}",
                         prescription="Rest", medicines_json="[]")
    with app.app_context():
        job = exporting.start_export(people.user("pat.one"), patient, kind="pdf")
    tasks.export_history(job.id)
    assert wait_for(lambda: ExportJob.get_by_id(job.id).status != "queued", 30)
    consumer.send_signal(signal.SIGKILL)
    consumer.wait(timeout=10)
    job = ExportJob.get_by_id(job.id)
    assert job.status == "running", "the export ended before the kill: lengthen the history"
    assert ExportFile.get_or_none(ExportFile.job == job.id) is None

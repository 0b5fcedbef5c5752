"""Background work for HMS: the Huey instance and its tasks, run by `huey_consumer tasks.huey`.

The app is never built at import time; each worker builds it once on start-up, so tasks run
with the same configuration (database, mail, time zone) as the web process.
"""

from __future__ import annotations

import datetime as dt
import os
from contextlib import contextmanager

from huey import RedisHuey, crontab
from huey.storage import RedisStorage

from hms import clock, exporting, notices
from hms.config import DEFAULTS
from hms.db import db, gather_statistics
from hms.scheduling import open_slots_from_plans

huey = RedisHuey("hms", url=os.environ.get("HMS_REDIS_URL", DEFAULTS["REDIS_URL"]))

app = None


def connect(redis_url: str) -> None:
    """Point the queue at the app's Redis (the web app calls this; the worker reads
    HMS_REDIS_URL, the same setting)."""
    if not huey.immediate:  # immediate mode (tests) keeps its in-memory queue
        huey.storage = RedisStorage("hms", url=redis_url)


@huey.on_startup()
def build_app() -> None:
    """Build the Flask app once per worker, so tasks can use its config and database."""
    global app
    if app is None:
        from hms import create_app

        app = create_app()


@contextmanager
def _in_app():
    """The worker's app context with a database connection, for one task."""
    with app.app_context(), db.connection_context():
        yield


@huey.periodic_task(crontab(minute="5"))
def open_planned_slots() -> int:
    """Every hour: open each active doctor's weekly-plan slots up to the booking horizon, so
    each new day at the horizon is bookable without anyone clicking. Returns slots added."""
    with _in_app():
        return open_slots_from_plans()


@huey.periodic_task(crontab(minute="40"))
def refresh_statistics() -> None:
    """Every hour: refresh the query planner's statistics as the hospital's data grows."""
    with _in_app():
        gather_statistics()


@huey.periodic_task(crontab(minute="0"))
def hourly_notices() -> dict:
    """Every hour: at the clinic's reminder hour, queue the reminders of the day they are for;
    on the 1st of a month, queue last month's reports. Both are idempotent."""
    with _in_app():
        return notices.queue_notices(clock.utc_instant(), send_reminder,
                                     send_monthly_report)


@huey.task()
def send_reminder(appointment_id: int) -> str:
    """Send one reminder; a failure is retried later with back-off."""
    with _in_app():
        outcome, retry_in = notices.send_reminder(appointment_id)
    if retry_in:
        send_reminder.schedule((appointment_id,), delay=retry_in)
    return outcome


@huey.task()
def send_monthly_report(doctor_id: int, first_day: str) -> str:
    """Mail one doctor's monthly report; a failure is retried later with back-off."""
    with _in_app():
        outcome, retry_in = notices.send_monthly_report(doctor_id,
                                                        dt.date.fromisoformat(first_day))
    if retry_in:
        send_monthly_report.schedule((doctor_id, first_day), delay=retry_in)
    return outcome


# --- exports of a patient's history (hms/exporting.py holds the logic) -----------------------

@huey.task()
def export_history(job_id: int) -> str:
    """Write one queued history export to its file, with progress, then mark it done."""
    with _in_app():
        return exporting.run_export(job_id)


@huey.periodic_task(crontab(minute="20"))
def remove_expired_exports() -> int:
    """Every hour: delete expired export files and mark their jobs expired."""
    with _in_app():
        return exporting.remove_expired()

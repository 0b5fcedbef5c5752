"""Background work for HMS: the Huey instance and its tasks, run by `huey_consumer tasks.huey`.

The app is never built at import time; each worker builds it once on start-up, so tasks run
with the same configuration (database, mail, time zone) as the web process.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from contextlib import contextmanager

from huey import RedisHuey, crontab
from huey.storage import RedisStorage
from redis import ConnectionPool

from hms import clock, exporting, notices, recalls, visits, waitlist, work
from hms.config import DEFAULTS
from hms.db import db, gather_statistics
from hms.scheduling import open_slots_from_plans

# results=False: what a task returns is for logs and tests; kept in Redis it would pile up (its
# outcome is in the database).
huey = RedisHuey("hms", results=False,
                 url=os.environ.get("HMS_REDIS_URL", DEFAULTS["REDIS_URL"]))

app = None
in_worker = False  # set by the worker's start-up hook
_building = threading.Lock()


# A web request that hands work to the queue waits this long for Redis, no longer: the work
# is in the database already, and the sweep hands it out when Redis is back.
WEB_REDIS_TIMEOUT = 1.0


def connect(redis_url: str) -> None:
    """Point the web app's queue at its Redis, with short timeouts. The worker reads
    HMS_REDIS_URL, the same setting, and keeps Redis's own timeouts (its blocking reads wait a
    second at a time)."""
    if huey.immediate or in_worker:  # immediate mode (tests) keeps its in-memory queue
        return
    huey.storage = RedisStorage("hms", connection_pool=ConnectionPool.from_url(
        redis_url, socket_timeout=WEB_REDIS_TIMEOUT,
        socket_connect_timeout=WEB_REDIS_TIMEOUT))


@huey.on_startup()
def build_app() -> None:
    """Build the Flask app once per worker process, so tasks can use its config and database.
    Each worker thread runs this hook on start-up, at the same moment: one builds the app,
    the others wait for it (two threads compiling Werkzeug's routes at once can fail, a
    CPython 3.11 race: "AST constructor recursion depth mismatch")."""
    global app, in_worker
    with _building:
        if app is None:
            from hms import create_app

            in_worker = True
            app = create_app()


@contextmanager
def _in_app():
    """The worker's app context with a database connection, for one task (the app is built
    now if the start-up hook failed)."""
    if app is None:
        build_app()
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


@huey.periodic_task(crontab(minute="*"))
def sweep_work() -> dict:
    """Every minute: hand out the due work the database records (hms/work.py)."""
    with _in_app():
        return sweep()


def sweep() -> dict:
    """One sweep with this module's tasks (inside an app context): for sweep_work and
    `hms sweep`. It also runs the day: appointments nobody checked in become no-shows."""
    now = clock.utc_now()
    counts = work.sweep(now, send_reminder, send_monthly_report, export_history,
                        send_account_mail, send_offer_mail, send_recall_mail)
    unsent = counts.pop("not handed out")
    try:
        no_shows = visits.mark_no_shows(now)
    except Exception:  # noqa: BLE001 - logged; the next sweep marks them
        logging.getLogger(__name__).exception("The day's no-shows could not be marked")
        no_shows = 0
    return counts | {"no-shows": no_shows, "not handed out": unsent}


@huey.task()
def send_reminder(appointment_id: int) -> str:
    """Send one queued reminder; a failure is retried by the sweep after back-off."""
    with _in_app():
        return notices.send_reminder(appointment_id)


@huey.task()
def send_monthly_report(doctor_id: int, first_day: str) -> str:
    """Mail one doctor's queued monthly report; a failure is retried by the sweep."""
    with _in_app():
        return notices.send_monthly_report(doctor_id, dt.date.fromisoformat(first_day))


@huey.task()
def send_offer_mail(mail_id: int) -> str:
    """Tell a waiting patient of a free time offered to them; retried by the sweep."""
    with _in_app():
        return waitlist.send_offer_mail(mail_id)


@huey.task()
def send_recall_mail(mail_id: int) -> str:
    """Ask a patient to book the follow-up their doctor asked for; retried by the sweep."""
    with _in_app():
        return recalls.send_recall_mail(mail_id)


@huey.task()
def send_account_mail(mail_id: int) -> str:
    """Send one queued password e-mail (reset, invitation); a failure is retried by the sweep."""
    with _in_app():
        return notices.send_account_mail(mail_id)


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

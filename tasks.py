"""Background work for HMS: the Huey instance and its tasks, run by `huey_consumer tasks.huey`.

The app is never built at import time; each worker builds it once on start-up, so tasks run
with the same configuration (database, mail, time zone) as the web process.
"""

from __future__ import annotations

import os

from huey import RedisHuey, crontab
from huey.storage import RedisStorage

from hms.config import DEFAULTS

huey = RedisHuey("hms", url=os.environ.get("HMS_REDIS_URL", DEFAULTS["REDIS_URL"]))

app = None


def connect(redis_url: str) -> None:
    """Point the queue at the app's Redis (the web app calls this; the worker reads
    HMS_REDIS_URL, the same setting)."""
    if getattr(huey, "_hms_url", None) != redis_url and not huey.immediate:
        huey.storage = RedisStorage("hms", url=redis_url)
        huey._hms_url = redis_url


@huey.on_startup()
def build_app() -> None:
    """Build the Flask app once per worker, so tasks can use its config and database."""
    global app
    if app is None:
        from hms import create_app

        app = create_app()


@huey.periodic_task(crontab(minute="5"))
def open_planned_slots() -> int:
    """Every hour: open each active doctor's weekly-plan slots up to the booking horizon, so
    each new day at the horizon is bookable without anyone clicking. Returns slots added."""
    from hms.db import db
    from hms.scheduling import open_slots_from_plans

    with app.app_context(), db.connection_context():
        return open_slots_from_plans()

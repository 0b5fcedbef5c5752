"""Background work for HMS: the Huey instance, run by `huey_consumer tasks.huey`.

The app is never built at import time; each worker builds it once on start-up, so tasks run
with the same configuration (database, mail, time zone) as the web process.
"""

from __future__ import annotations

import os

from huey import RedisHuey

from hms.config import DEFAULTS

huey = RedisHuey("hms", url=os.environ.get("HMS_REDIS_URL", DEFAULTS["REDIS_URL"]))

app = None


@huey.on_startup()
def build_app() -> None:
    """Build the Flask app once per worker, so tasks can use its config and database."""
    global app
    from hms import create_app

    app = create_app()

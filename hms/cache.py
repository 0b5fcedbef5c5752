"""Redis-backed caching with explicit invalidation; harmless when Redis is away.

What is cached (plain JSON, never Peewee rows), by namespace:

- "directory": the active doctors and the specializations the directory lists (hms/doctors.py).
- "slots:<doctor id>": one doctor's free slots from today to the booking horizon, keyed by the
  day. Past times and the patient's own bookings are taken out on every read, uncached
  (`scheduling.offered_slots`); booking always re-checks the slot under the write lock.
- "stats": the admin dashboard's counts; "stats:<doctor id>": a doctor's week and later counts
  and their last 30 days in figures (hms/home.py), keyed by the day.
- "analytics": the analytics page's summary, keyed by the UTC minute and never invalidated: it
  is counted again each minute (hms/reports.py).

Keys are "hms:<site>:<namespace>:<generation>:<key>"; <site> is a hash of the database's
location, so two sites (or two test databases) sharing a Redis never read each other's values.
A change bumps its namespaces' generation ("hms:<site>:gen:<namespace>"), so the very next read
misses and recomputes; old values are never deleted, they just expire (TTL, 5 minutes, a
safety net only: invalidation is what keeps values fresh).

Invalidation order: commit the change first, then bump the generation.
- Bumping before the commit is unsafe: a reader in between misses, computes from the old rows
  and stores them under the new generation, and that stale value would be served until the TTL.
- Bumping after the commit is safe: a reader reads the generation before computing, so a value
  computed from the old rows is stored under the old generation, which the bump has already
  made unreachable. Only a request running at the same moment as the change can see the old
  value; any request that starts after the change's response sees the new state.
So `invalidate` (and the helpers below) are called after the write's transaction; if one is
called while a transaction is still open (a caller's outer `db.atomic()`), it bumps at once and
again when the app context ends (before the response is sent), when that transaction is over.

If Redis fails, reads compute uncached and a warning is logged; reads then leave Redis alone
for a few seconds, so a dead Redis costs one timeout, not one per read. An invalidation that
could not reach Redis is remembered and sent before this process reads from the cache again;
until it is sent, this process reads uncached. (Another process that still reaches Redis could
serve such a value until its TTL runs out.)

Which changes must call what (the views and hms/scheduling.py, hms/visits.py already do):
- `appointments_changed(*doctor_ids)`: an appointment booked, moved, cancelled, or its status
  changed (done inside book/reschedule/cancel_appointment and visits.change_status).
- `diary_changed(doctor_id)`: slots opened or closed (done inside the scheduling functions).
- `treatment_written(doctor_id)`: a treatment record saved (done inside visits.add_treatment).
- `doctor_changed(doctor_id)`: a doctor's profile edited, deactivated, reactivated or deleted.
- `directory_changed()`: a doctor created, a specialization added, renamed or removed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import redis
from flask import Flask, current_app, g

from hms.db import db

log = logging.getLogger(__name__)

DEFAULT_TTL = 300  # seconds: a safety net; invalidation is what keeps values fresh
RETRY_AFTER = 5.0  # seconds reads leave Redis alone after it failed
_AFTER_TRANSACTION = "hms_cache_after_transaction"


def redis_ok(url: str) -> bool:
    """Whether Redis answers a ping within half a second."""
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=0.5,
                                         socket_connect_timeout=0.5).ping())
    except redis.RedisError as exc:
        log.warning("Redis at %s is unavailable: %s", url, exc)
        return False


class SiteCache:
    """One app's way to Redis: the client, its key prefix, and what failed to reach Redis."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self.resting_until = 0.0  # time.monotonic() before which reads do not try Redis
        self.unsent: set[str] = set()  # namespaces whose invalidation has not reached Redis
        self._lock = threading.Lock()

    def key(self, namespace: str, generation: int, key: str) -> str:
        return f"{self.prefix}:{namespace}:{generation}:{key}"

    def generation_key(self, namespace: str) -> str:
        return f"{self.prefix}:gen:{namespace}"

    def failed(self, doing: str, exc: Exception) -> None:
        """Log a Redis failure (once per rest) and let reads rest for a few seconds."""
        if time.monotonic() >= self.resting_until:
            log.warning("Redis cache unavailable while %s; serving uncached for %.0f s: %s",
                        doing, RETRY_AFTER, exc)
        self.resting_until = time.monotonic() + RETRY_AFTER

    def bump(self, namespaces: Iterable[str]) -> bool:
        """Advance these namespaces' generations, with any owed from an earlier failure;
        False (and still owed) if Redis could not be reached."""
        with self._lock:
            todo, self.unsent = self.unsent | set(namespaces), set()
        if not todo:
            return True
        try:
            pipe = self.client.pipeline(transaction=False)
            for namespace in sorted(todo):
                pipe.incr(self.generation_key(namespace))
            pipe.execute()
        except redis.RedisError as exc:
            with self._lock:
                self.unsent |= todo
            self.failed(f"invalidating {', '.join(sorted(todo))}", exc)
            return False
        return True

    def readable(self) -> bool:
        """Whether reads may use Redis: it is not resting, and no invalidation is owed."""
        if time.monotonic() < self.resting_until:
            return False
        return not self.unsent or self.bump(())


def _site(app: Flask) -> str:
    """A short name for this site's database, so sites sharing a Redis keep apart."""
    location = str(app.config["DATABASE"])
    if "://" not in location:
        location = str((Path(app.instance_path) / location).resolve())
    return hashlib.sha256(location.encode()).hexdigest()[:12]


def init_app(app: Flask) -> None:
    """One Redis client per app, with short timeouts so a dead Redis costs little."""
    client = redis.Redis.from_url(app.config["REDIS_URL"], socket_timeout=0.3,
                                  socket_connect_timeout=0.3)
    app.extensions["hms_cache"] = SiteCache(client, f"hms:{_site(app)}")
    app.extensions["hms_redis"] = client  # the raw client, for anything else kept in Redis

    @app.teardown_appcontext
    def _bump_after_transaction(_exc: BaseException | None) -> None:
        # Invalidations made inside a transaction: that transaction is over by now.
        stale = g.pop(_AFTER_TRANSACTION, None)
        if stale:
            app.extensions["hms_cache"].bump(stale)


def site_cache() -> SiteCache:
    """The current app's cache."""
    return current_app.extensions["hms_cache"]


def _as_json(value: Any) -> Any:
    """The value as a cache hit would return it, so hits and misses look the same."""
    return json.loads(json.dumps(value))


def remember(namespace: str, key: str, compute: Callable[[], Any],
             ttl: int = DEFAULT_TTL) -> Any:
    """The cached value for (namespace, key), computing and storing it on a miss. Values must
    be JSON-serialisable and come back as JSON does (lists, dicts with string keys). Falls
    back to computing when Redis is unavailable."""
    cache = site_cache()
    if not cache.readable():
        return _as_json(compute())
    try:
        # The generation is read before computing: see "Invalidation order" above.
        generation = int(cache.client.get(cache.generation_key(namespace)) or 0)
        full_key = cache.key(namespace, generation, key)
        hit = cache.client.get(full_key)
    except redis.RedisError as exc:
        cache.failed(f"reading {namespace}", exc)
        return _as_json(compute())
    if hit is not None:
        return json.loads(hit)
    encoded = json.dumps(compute())
    try:
        cache.client.set(full_key, encoded, ex=ttl)
    except redis.RedisError as exc:
        cache.failed(f"storing {namespace}", exc)
    return json.loads(encoded)


def invalidate(*namespaces: str) -> None:
    """Make every cached value in these namespaces stale at once. Call it after the change has
    committed; inside an open transaction it is repeated when the app context ends."""
    site_cache().bump(namespaces)
    if db.in_transaction():
        g.setdefault(_AFTER_TRANSACTION, set()).update(namespaces)


def directory_changed() -> None:
    """A doctor was created, or a specialization added, renamed or removed."""
    invalidate("directory", "stats")


def doctor_changed(doctor_id: int) -> None:
    """A doctor's profile was edited, or the doctor deactivated, reactivated or deleted."""
    invalidate("directory", "stats", f"slots:{doctor_id}", f"stats:{doctor_id}")


def diary_changed(doctor_id: int) -> None:
    """Slots of a doctor's diary were opened or closed."""
    invalidate(f"slots:{doctor_id}")


def treatment_written(doctor_id: int) -> None:
    """A doctor wrote a treatment record: their figures of the last 30 days count it."""
    invalidate(f"stats:{doctor_id}")


def appointments_changed(*doctor_ids: int) -> None:
    """These doctors' appointments were booked, moved, cancelled or changed status."""
    ids = dict.fromkeys(doctor_ids)
    invalidate("stats", *(f"slots:{i}" for i in ids), *(f"stats:{i}" for i in ids))

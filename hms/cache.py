"""Redis-backed caching with explicit invalidation; harmless when Redis is away.

Cached values live under a namespace ("directory", "slots:<doctor id>", "stats") whose
generation number is part of every key. A change bumps the generation, so the very next read
misses and recomputes: nothing stale is ever served, and nothing needs to be deleted.
If Redis cannot be reached, reads compute uncached and a warning is logged; no user sees it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import redis
from flask import Flask, current_app

log = logging.getLogger(__name__)

DEFAULT_TTL = 300  # seconds: a safety net; invalidation is what keeps values fresh


def redis_ok(url: str) -> bool:
    """Whether Redis answers a ping within half a second."""
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=0.5,
                                         socket_connect_timeout=0.5).ping())
    except redis.RedisError as exc:
        log.warning("Redis at %s is unavailable: %s", url, exc)
        return False


def init_app(app: Flask) -> None:
    """One Redis client per app, with short timeouts so a dead Redis costs little."""
    app.extensions["hms_redis"] = redis.Redis.from_url(
        app.config["REDIS_URL"], socket_timeout=0.3, socket_connect_timeout=0.3)


def _client() -> redis.Redis:
    return current_app.extensions["hms_redis"]


def _generation(client: redis.Redis, namespace: str) -> int:
    return int(client.get(f"hms:gen:{namespace}") or 0)


def remember(namespace: str, key: str, compute: Callable[[], Any],
             ttl: int = DEFAULT_TTL) -> Any:
    """The cached value for (namespace, key), computing and storing it on a miss. Values must
    be JSON-serialisable. Falls back to computing when Redis is unavailable."""
    try:
        client = _client()
        full_key = f"hms:{namespace}:{_generation(client, namespace)}:{key}"
        hit = client.get(full_key)
        if hit is not None:
            return json.loads(hit)
    except redis.RedisError as exc:
        log.warning("Cache unavailable, computing %s/%s uncached: %s", namespace, key, exc)
        return compute()
    value = compute()
    try:
        client.set(full_key, json.dumps(value), ex=ttl)
    except redis.RedisError as exc:
        log.warning("Cache unavailable, not storing %s/%s: %s", namespace, key, exc)
    return value


def invalidate(*namespaces: str) -> None:
    """Make every cached value in these namespaces stale at once."""
    try:
        client = _client()
        for namespace in namespaces:
            client.incr(f"hms:gen:{namespace}")
    except redis.RedisError as exc:
        # Values expire after their TTL; log loudly, since a stale read is now possible.
        log.error("Cache invalidation of %s failed: %s", namespaces, exc)

"""Redis access that never takes the app down: when Redis is away we log and carry on."""

from __future__ import annotations

import logging

import redis

log = logging.getLogger(__name__)


def redis_ok(url: str) -> bool:
    """Whether Redis answers a ping within half a second."""
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=0.5,
                                         socket_connect_timeout=0.5).ping())
    except redis.RedisError as exc:
        log.warning("Redis at %s is unavailable: %s", url, exc)
        return False

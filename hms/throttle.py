"""Throttling of the doors anyone can knock on: logging in, asking for a password reset,
entering a reset or invitation code, registering. Flask-Limiter counts in the app's Redis, so
every web process and host shares the counts; when Redis is down it counts in each process's
memory instead (in_memory_fallback_enabled), so the limits hold, per process, rather than
vanish. The limits are settings (LIMIT_*); a refusal is a 429 page that says when to try
again, with Retry-After.
"""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

from hms.clock import utc_now
from hms.forms import normalise_email

# Counts are kept in Redis with its own short timeouts: a stalled Redis must not stall a login.
limiter = Limiter(key_func=get_remote_address, strategy="fixed-window", key_prefix="hms",
                  in_memory_fallback_enabled=True, headers_enabled=True)


def setting(name: str):
    """A limit read from the app's settings when the request comes."""
    return lambda: current_app.config[name]


def failed(response) -> bool:
    """Only refused attempts count against a login (a success answers with the landing page,
    or a redirect to it)."""
    return response.status_code >= 400


def by_username() -> str:
    return "user:" + (request.form.get("username") or "").strip().lower()[:40]


def by_email() -> str:
    return "email:" + normalise_email(request.form.get("email") or "")[:254]


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"])
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS",
                          {"socket_timeout": 1, "socket_connect_timeout": 1})
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _too_many)


def _too_many(error: RateLimitExceeded):
    """A page that says how long to wait (Flask-Limiter adds Retry-After to it)."""
    from hms.web import error_response

    wait = 60
    if limit := limiter.current_limit:
        wait = max(1, int(limit.reset_at - utc_now().timestamp()))
    minutes = -(-wait // 60)
    return error_response(429, "Too many attempts", (
        "There have been too many attempts from here or for this account. For your safety, "
        f"please wait {minutes} minute{'' if minutes == 1 else 's'} and try again."))

"""Configuration: defaults, then HMS_* environment variables, then the dict a caller passes."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DEFAULTS: dict[str, object] = {
    # A path (relative paths live in the instance folder) or a URL such as sqlite:///x.db.
    "DATABASE": "hms.sqlite3",
    "REDIS_URL": "redis://127.0.0.1:6390/0",
    "TIMEZONE": "Europe/London",
    "SLOT_MINUTES": 30,
    "BOOKING_HORIZON_DAYS": 28,
    # The hours the availability grid shows; slots outside them can still exist.
    "DAY_START": "08:00",
    "DAY_END": "18:00",
    "CLINIC_NAME": "HMS General Hospital",
    "CLINIC_ADDRESS": "1 Infirmary Road",
    # Reminders go out once a day at this clinic hour, for appointments this many days ahead
    # (0: the same day, 1: the next day).
    "REMINDER_HOUR": 18,
    "REMINDER_DAYS_AHEAD": 1,
    # Background exports are kept this many days, then removed.
    "EXPORT_DAYS": 7,
    # The largest profile photo a patient or doctor may upload, in bytes (it is stored much
    # smaller: re-encoded to at most 256 pixels a side).
    "PHOTO_MAX_BYTES": 5 * 1024 * 1024,
    "SMTP_HOST": "",
    "SMTP_PORT": 25,
    "SMTP_USER": "",
    "SMTP_PASSWORD": "",
    "SMTP_STARTTLS": False,
    # Seconds to wait for each reply of the SMTP server; RFC 5321 allows ten minutes for the
    # answer to a message's data, and giving up sooner can send a message twice.
    "SMTP_TIMEOUT": 600,
    "MAIL_SENDER": "HMS <no-reply@hms.invalid>",
    # Behind reverse proxies: how many of them set X-Forwarded-For/-Proto/-Host/-Port/-Prefix.
    # 0 trusts none of those headers (anyone could send them).
    "PROXIES": 0,
    # Served over HTTPS (by the proxy): cookies are sent only over HTTPS, and browsers are told
    # to use nothing else (HSTS).
    "HTTPS": False,
}

_INTS = {"SLOT_MINUTES", "BOOKING_HORIZON_DAYS", "SMTP_PORT", "REMINDER_HOUR",
         "REMINDER_DAYS_AHEAD", "EXPORT_DAYS", "PROXIES", "SMTP_TIMEOUT", "PHOTO_MAX_BYTES"}
_BOOLS = {"SMTP_STARTTLS", "HTTPS"}


def from_environment(environ: dict[str, str] | None = None) -> dict[str, object]:
    """Read every HMS_<KEY> variable that names a known setting, converting its type."""
    environ = os.environ if environ is None else environ
    found: dict[str, object] = {}
    for key in [*DEFAULTS, "SECRET_KEY"]:
        raw = environ.get(f"HMS_{key}")
        if raw is None:
            continue
        if key in _INTS:
            found[key] = int(raw)
        elif key in _BOOLS:
            found[key] = raw.strip().lower() in {"1", "true", "yes", "on"}
        else:
            found[key] = raw
    return found


def load_secret_key(instance_path: str) -> str:
    """Return the secret key kept in the instance folder, creating it once (mode 0600)."""
    path = Path(instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # Write under a private name, then link: the web and the worker may start together.
        tmp = path.with_name(f".secret_key.{secrets.token_hex(8)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()

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
    # A freed time offered to the first patient on the waitlist is theirs to claim for this
    # many minutes; then it passes to the next one.
    "WAITLIST_OFFER_MINUTES": 30,
    # Patients may cancel online (in HMS or from a reminder's link) until this many hours
    # before the appointment; later, they call the clinic.
    "CANCEL_CUTOFF_HOURS": 2,
    # A cancellation with less notice than this is a late one (counted in the reports).
    "LATE_CANCEL_HOURS": 24,
    # A booked appointment not checked in this long after its time becomes a no-show by itself.
    "NO_SHOW_GRACE_MINUTES": 30,
    # After this many no-shows within this many days, a patient books only through the desk.
    "NO_SHOW_LIMIT": 3,
    "NO_SHOW_PERIOD_DAYS": 180,
    # A patient asked back for a follow-up is reminded to book this many days before it.
    "RECALL_NOTICE_DAYS": 7,
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
    # The address people open HMS at, for links in e-mail (password resets, invitations).
    "PUBLIC_URL": "http://127.0.0.1:5000",
    # Behind reverse proxies: how many of them set X-Forwarded-For/-Proto/-Host/-Port/-Prefix.
    # 0 trusts none of those headers (anyone could send them).
    "PROXIES": 0,
    # Passwords (NIST SP 800-63B): at least this long, at most PASSWORD_MAX_LENGTH, not a
    # common one, not containing the username.
    "PASSWORD_MIN_LENGTH": 10,
    # A session ends after this many idle minutes, or this many hours after login, whichever
    # comes first; staff (on shared terminals) sooner than patients.
    "SESSION_IDLE_MINUTES": 60,
    "SESSION_HOURS": 24,
    "STAFF_SESSION_IDLE_MINUTES": 15,
    "STAFF_SESSION_HOURS": 12,
    # How long a password reset link works, and an invitation to set a first password.
    "RESET_MINUTES": 30,
    "INVITE_DAYS": 7,
    # Throttling (Flask-Limiter's notation): failed logins per account and per client address,
    # reset requests per address and per e-mail, registrations and code entries per address.
    "LIMIT_LOGIN_ACCOUNT": "10 per 15 minutes",
    "LIMIT_LOGIN_ADDRESS": "100 per 15 minutes",
    "LIMIT_RESET_EMAIL": "3 per hour",
    "LIMIT_RESET_ADDRESS": "20 per hour",
    "LIMIT_REGISTER_ADDRESS": "10 per hour",
    "LIMIT_TOKEN_ADDRESS": "20 per 15 minutes",
    # Served over HTTPS (by the proxy): cookies are sent only over HTTPS, and browsers are told
    # to use nothing else (HSTS).
    "HTTPS": False,
    # The largest request body accepted, in bytes (Flask answers 413 above it). A route that
    # takes bigger uploads raises it for itself with request.max_content_length.
    "MAX_CONTENT_LENGTH": 256 * 1024,
}

_INTS = {"SLOT_MINUTES", "BOOKING_HORIZON_DAYS", "SMTP_PORT", "REMINDER_HOUR",
         "REMINDER_DAYS_AHEAD", "EXPORT_DAYS", "WAITLIST_OFFER_MINUTES",
         "CANCEL_CUTOFF_HOURS", "LATE_CANCEL_HOURS", "NO_SHOW_GRACE_MINUTES", "NO_SHOW_LIMIT",
         "NO_SHOW_PERIOD_DAYS", "RECALL_NOTICE_DAYS", "PROXIES", "SMTP_TIMEOUT",
         "PASSWORD_MIN_LENGTH",
         "SESSION_IDLE_MINUTES", "SESSION_HOURS", "STAFF_SESSION_IDLE_MINUTES",
         "STAFF_SESSION_HOURS", "RESET_MINUTES", "INVITE_DAYS",
         "MAX_CONTENT_LENGTH", "PHOTO_MAX_BYTES"}
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


def private_folder(path: str | Path) -> Path:
    """Create the folder readable by HMS's own user alone (0700), and tighten it if it is
    there already: the instance folder holds the database, the outbox's mail and the secret
    key. Files made in it are 0600 too, each where it is made (no process-wide umask)."""
    path = Path(path)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o777 != 0o700:
        os.chmod(path, 0o700)
    return path


def private_file(path: str | Path) -> None:
    """Create an empty file 0600 unless it exists, before a library creates it as 0644."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def load_secret_key(instance_path: str) -> str:
    """Return the secret key kept in the instance folder, creating it once (mode 0600)."""
    path = private_folder(instance_path) / "secret_key"
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

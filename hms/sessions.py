"""Sessions that end: each login is a user_session row, and the cookie only carries its token.

Flask's session cookie is signed but readable, and a signed cookie cannot be taken back: a copy
made before logout would go on working. So the cookie's user id (Flask-Login's `_user_id`) is
a random token, and the row keyed by its SHA-256 decides whether it still logs anyone in:
logout or a password change ends the row; a session idle for longer than the setting, or older
than its lifetime (both shorter for staff), ends on its next request. Flash messages of a
logged-in user are kept in the row, not in the cookie, since they name patients; each has a
number, and the cookie keeps only the number of the last one shown. Showing them writes
nothing, so a page read while another request holds SQLite's write lock never waits for it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets

from flask import Flask, current_app, g, session
from flask import get_flashed_messages as cookie_flashes
from flask_login import current_user
from peewee import OperationalError

from hms.clock import utc_now
from hms.models import User, UserSession

log = logging.getLogger(__name__)
# seen_at is written at most this often, not on every request.
TOUCH = dt.timedelta(minutes=1)
SHOWN = "flashes_shown"  # in the cookie: the number of the last message shown


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def limits(role: str) -> tuple[dt.timedelta, dt.timedelta]:
    """How long a session of this role may sit idle, and how long it may last at all."""
    config = current_app.config
    prefix = "" if role == "patient" else "STAFF_"
    return (dt.timedelta(minutes=config[f"{prefix}SESSION_IDLE_MINUTES"]),
            dt.timedelta(hours=config[f"{prefix}SESSION_HOURS"]))


def start(user: User) -> None:
    """Begin a session for user: a new row and token. The CSRF secret of the anonymous
    session is dropped, so a token seen before login is no use after it."""
    token = secrets.token_urlsafe(32)
    now = utc_now()
    g.user_session = UserSession.create(user=user, token_hash=_digest(token), created_at=now,
                                        seen_at=now)
    user.session_token = token
    session.pop("csrf_token", None)
    g.pop("csrf_token", None)


def load(token: str) -> User | None:
    """The user a cookie's token logs in, or None when its session ended, sat idle too long,
    outlived its lifetime, or belongs to a deactivated login."""
    row = (UserSession.select(UserSession, User).join(User)
           .where(UserSession.token_hash == _digest(token), UserSession.ended_at.is_null(),
                  User.is_active == True)  # noqa: E712
           .get_or_none())
    if row is None:
        return None
    now = utc_now()
    idle, lifetime = limits(row.user.role)
    if now - row.seen_at > idle or now - row.created_at > lifetime:
        UserSession.update(ended_at=now).where(UserSession.id == row.id).execute()
        g.session_timed_out = True
        return None
    if now - row.seen_at > TOUCH:
        try:
            UserSession.update(seen_at=now).where(UserSession.id == row.id).execute()
        except OperationalError as error:  # SQLite's write lock is held: touch it next time
            log.warning("Session %s not touched: %s", row.id, error)
    g.user_session = row
    row.user.session_token = token
    return row.user


def current() -> UserSession | None:
    """This request's session row, once the user has been loaded."""
    return g.get("user_session") if current_user.is_authenticated else None


def end_current() -> None:
    """Logout: this session's cookie, and every copy of it, stops working."""
    if row := current():
        UserSession.update(ended_at=utc_now()).where(UserSession.id == row.id).execute()
        g.pop("user_session")


def end_all(user: User, keep: UserSession | None = None) -> int:
    """End every session of user but `keep`: after a password change or reset."""
    query = UserSession.update(ended_at=utc_now()).where(
        UserSession.user == user, UserSession.ended_at.is_null())
    if keep is not None:
        query = query.where(UserSession.id != keep.id)
    return query.execute()


def _waiting(row: UserSession) -> list[list]:
    """The row's messages not shown yet: [number, category, message] each."""
    shown = session.get(SHOWN, 0)
    return [m for m in json.loads(row.flashes or "[]") if m[0] > shown]


def _keep_flashes_on_server(response):
    """Move messages flashed for a logged-in user from the cookie into their session row,
    numbered after the last one shown (the shown ones are dropped)."""
    if "_flashes" in session and (row := current()):
        waiting = _waiting(row)
        number = max([session.get(SHOWN, 0), *(m[0] for m in waiting)])
        for category, message in session.pop("_flashes"):
            number += 1
            waiting.append([number, category, message])
        row.flashes = json.dumps(waiting)
        UserSession.update(flashes=row.flashes).where(UserSession.id == row.id).execute()
    return response


def get_flashed_messages(with_categories: bool = False) -> list:
    """Flask's get_flashed_messages, plus those waiting in the session row, each shown once:
    the cookie notes the last one shown."""
    if "row_flashes" not in g:  # asked again in one request, the same answer (as Flask's)
        g.row_flashes = []
        if (row := current()) and (waiting := _waiting(row)):
            g.row_flashes = [(category, message) for _, category, message in waiting]
            session[SHOWN] = waiting[-1][0]
    messages = g.row_flashes + [tuple(m) for m in cookie_flashes(with_categories=True)]
    return messages if with_categories else [message for _, message in messages]


def init_app(app: Flask) -> None:
    app.after_request(_keep_flashes_on_server)
    app.jinja_env.globals["get_flashed_messages"] = get_flashed_messages

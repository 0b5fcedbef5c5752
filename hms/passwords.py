"""Passwords: the policy every new password meets, and the single-use links and codes that let
someone set one (a reset they asked for, or an invitation to a new account).

The policy follows NIST SP 800-63B (5.1.1.2): a minimum length (PASSWORD_MIN_LENGTH, 10 by
default), a generous maximum, no composition rules, and a refusal, saying why, of passwords
that are common or contain the username. The common ones are zxcvbn's list of the 30,000 most
frequent passwords of public breaches.

A token is `<row id>-<code>`, the code an HMAC-SHA256 of the row's id, purpose and random
nonce under the app's secret key, in base32 so that it can be read off paper and typed. So the
database alone cannot rebuild a token, a forged one fails the HMAC, and the row says whether it
has expired or been used (once).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import re
import secrets

from flask import current_app
from redis import RedisError
from wtforms.validators import ValidationError
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from hms.clock import to_clinic, utc_now
from hms.db import write_transaction
from hms.models import AccountMail, AccountToken, User

MAX_LENGTH = 128  # NIST asks for at least 64
COMMON = frozenset(FREQUENCY_LISTS["passwords"])
CODE_LENGTH = 20  # base32 characters: 100 bits


def problem(password: str, username: str = "") -> str | None:
    """Why a new password is refused, or None when it is acceptable."""
    shortest = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < shortest:
        return f"Use at least {shortest} characters (a few words make a good password)."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    folded = password.lower()
    if folded in COMMON or re.sub(r"[\d\W_]+$", "", folded) in COMMON:
        return "That is one of the most common passwords, which are guessed first. Choose another."
    if len(set(folded)) < 3:
        return "Use more than one or two different characters."
    if username and len(username) >= 3 and username.lower() in folded:
        return "Do not put your username in your password."
    return None


class PasswordPolicy:
    """The WTForms validator of a new password; the username comes from a field of the same
    form, or from the account being changed."""

    def __init__(self, username_field: str | None = None) -> None:
        self.username_field = username_field

    def __call__(self, form, field) -> None:
        username = getattr(form, "account_username", "") or ""
        if self.username_field and (other := getattr(form, self.username_field, None)):
            username = (other.data or "").strip()
        if field.data and (why := problem(field.data, username)):
            raise ValidationError(why)


def _code(row: AccountToken) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    mac = hmac.new(key, f"{row.id}:{row.purpose}:{row.nonce}".encode(), hashlib.sha256)
    return base64.b32encode(mac.digest()).decode()[:CODE_LENGTH]


def token_of(row: AccountToken) -> str:
    """The token of a row, as links carry it."""
    return f"{row.id}-{_code(row)}"


def printable(token: str) -> str:
    """A token grouped for reading off a printed slip: 12-ABCDE-FGHIJ-KLMNO-PQRST."""
    number, _, code = token.partition("-")
    return "-".join([number] + [code[i:i + 5] for i in range(0, len(code), 5)])


def lifetime(purpose: str) -> dt.timedelta:
    config = current_app.config
    if purpose == "reset":  # asked for now, so used now: a stolen mailbox has little time
        return dt.timedelta(minutes=config["RESET_MINUTES"])
    return dt.timedelta(days=config["INVITE_DAYS"])


def issue(user: User, purpose: str, password_hash: str | None = None
          ) -> tuple[AccountToken, str]:
    """A new token for user, which replaces any unused one of the same purpose."""
    now = utc_now()
    AccountToken.update(used_at=now).where(
        AccountToken.user == user, AccountToken.purpose == purpose,
        AccountToken.used_at.is_null()).execute()
    row = AccountToken.create(user=user, purpose=purpose, nonce=secrets.token_hex(16),
                              created_at=now, expires_at=now + lifetime(purpose),
                              password_hash=password_hash)
    return row, token_of(row)


def find(token: str) -> AccountToken | None:
    """The unused, unexpired token row a typed or linked token names, for an active login; None
    for anything else (mistyped, forged, used, expired), without saying which."""
    cleaned = re.sub(r"[\s-]+", "", (token or "").upper())
    match = re.fullmatch(r"([0-9]{1,18})([A-Z2-7]{%d})" % CODE_LENGTH, cleaned)
    if not match:
        return None
    row = (AccountToken.select(AccountToken, User).join(User)
           .where(AccountToken.id == int(match[1])).get_or_none())
    if (row is None or not hmac.compare_digest(_code(row), match[2])
            or row.used_at is not None or row.expires_at <= utc_now() or not row.user.is_active):
        return None
    return row


def use(row: AccountToken, password_hash: str) -> bool:
    """Set the password a token allows, once: False when the token was used meanwhile. Every
    other token of the login is spent too, and the caller ends its sessions."""
    now = utc_now()
    with write_transaction():
        taken = AccountToken.update(used_at=now).where(
            AccountToken.id == row.id, AccountToken.used_at.is_null()).execute()
        if not taken:
            return False
        AccountToken.update(used_at=now).where(
            AccountToken.user == row.user_id, AccountToken.used_at.is_null()).execute()
        User.update(password_hash=password_hash).where(User.id == row.user_id).execute()
    return True


PURPOSE_OF_MAIL = {"reset": "reset", "signup": "reset", "invite": "invite",
                   "confirm": "confirm"}


def mail(user: User, kind: str, password_hash: str | None = None) -> AccountMail:
    """Record an e-mail with a new token for user (a reset link, an invitation, the note that
    someone tried to register with their address, or a registration's confirmation); the
    caller hands it to the queue (hand_out)."""
    from hms.notices import message_id

    from hms.work import REQUEUE

    row, token = issue(user, PURPOSE_OF_MAIL[kind], password_hash)
    now = utc_now()
    # Handed to the queue at once (hand_out); the sweep hands it again if no worker took it.
    sent = AccountMail.create(token=row, kind=kind, due_at=now + REQUEUE,
                              expires_at=row.expires_at,
                              claimed_at=now, message_id=message_id(kind, str(row.id)))
    sent.token_text = token
    return sent


@dataclasses.dataclass
class Invitation:
    """What a new account's owner needs to choose their password, to print or hand over."""

    account: User
    code: str
    link: str
    valid_until: dt.datetime  # clinic time
    mailed: bool


def invite(user: User) -> Invitation:
    """Invite user to choose a password: by e-mail when they have an address, and always as a
    code and link to print or hand over. A new invitation replaces the last."""
    with write_transaction():
        if user.email:
            sent = mail(user, "invite")
            token, expires_at = sent.token_text, sent.expires_at
        else:
            sent = None
            row, token = issue(user, "invite")
            expires_at = row.expires_at
    if sent is not None:
        hand_out(sent)
    return Invitation(user, printable(token), link_of(token), to_clinic(expires_at),
                      sent is not None)


def link_of(token: str) -> str:
    """The address of a token's page, for mail and print."""
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}/account/password/{token}"


def hand_out(mail_row: AccountMail) -> None:
    """Give a recorded e-mail to the worker now; if the queue is away, the sweep does later."""
    import tasks

    try:
        tasks.send_account_mail(mail_row.id)
    except RedisError:
        pass

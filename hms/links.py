"""Signed links in e-mail: a reminder's confirm and cancel, a waitlist offer's claim.

Each link names its record and carries an HMAC of the record, the action and the secret key,
so only the mail's reader can use it and changing a number in it breaks it. What a link may
still do is decided by the record when it is opened (an appointment that has started, an offer
that passed), so links need no expiry of their own. Opening one shows a page with a button:
mail scanners open links, and must never confirm, cancel or claim by doing so.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from flask import current_app

SIGNATURE_LENGTH = 26  # base32 characters: 130 bits


def signature(purpose: str, record_id: int) -> str:
    """The signature of one action on one record."""
    key = current_app.config["SECRET_KEY"].encode()
    mac = hmac.new(key, f"link:{purpose}:{record_id}".encode(), hashlib.sha256)
    return base64.b32encode(mac.digest()).decode()[:SIGNATURE_LENGTH].lower()


def signed(purpose: str, record_id: int, given: str) -> bool:
    """Whether a link's signature is the one made for this action and record."""
    given = given or ""
    # compare_digest takes ASCII text only: anything else is simply not the signature.
    return given.isascii() and hmac.compare_digest(signature(purpose, record_id), given.lower())


def public_url(path: str) -> str:
    """The full address of a path of HMS, for mail (read away from any request)."""
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}{path}"


def reply_url(appointment_id: int, action: str) -> str:
    """A reminder's link to confirm or cancel its appointment (hms/replies.py)."""
    purpose = f"reply-{action}"
    return public_url(f"/reply/{appointment_id}/{action}/{signature(purpose, appointment_id)}")


def offer_url(offer_id: int) -> str:
    """An offer e-mail's link to the offer's page (hms/waiting.py)."""
    return public_url(f"/offers/{offer_id}/{signature('offer', offer_id)}")

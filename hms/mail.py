"""Sending mail: SMTP when configured, otherwise .eml files in the instance's outbox folder."""

from __future__ import annotations

import logging
import os
import secrets
import smtplib
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from pathlib import Path

from flask import current_app, render_template

from hms.clock import utc_now
from hms.config import private_folder

log = logging.getLogger(__name__)


def compose(to: str, subject: str, template: str,
            attachments: list[tuple[str, str, bytes]] = (), message_id: str | None = None,
            **context) -> EmailMessage:
    """A message with plain-text and HTML parts from templates/email/<template>.txt and .html,
    and (filename, MIME type, bytes) attachments. A notice passes the Message-ID kept in its
    row, so every attempt sends the same one and receivers can tell a repeat."""
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    if message_id:
        message["Message-ID"] = message_id
    message.set_content(render_template(f"email/{template}.txt", **context))
    message.add_alternative(render_template(f"email/{template}.html", **context), subtype="html")
    for filename, mimetype, data in attachments:
        maintype, subtype = mimetype.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message


class UnknownOutcome(Exception):
    """The message's data went to the SMTP server, but its answer never came back: the message
    may have been delivered, so it must not be sent again blindly."""


def send(message: EmailMessage, handing_over: Callable[[], None] | None = None) -> None:
    """Deliver through the configured SMTP server, or write the message to the outbox folder
    when none is configured (the embedded default), so a newcomer sees what would be sent.

    SMTP errors propagate for the caller to record and retry, except one: a connection lost or
    timed out while the server was taking the data (after `handing_over` was called) raises
    UnknownOutcome. Each reply is awaited up to SMTP_TIMEOUT seconds, ten minutes by default:
    RFC 5321 section 4.5.3.2 lets a server take that long to answer the end of the data."""
    config = current_app.config
    if not config["SMTP_HOST"]:
        if handing_over:
            handing_over()
        outbox = private_folder(Path(current_app.instance_path) / "outbox")
        path = outbox / f"{utc_now():%Y%m%d-%H%M%S}-{secrets.token_hex(4)}.eml"
        # Mail holds names and appointments: readable by HMS's user alone.
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
            fh.write(bytes(message))
        log.info("Mail to %s (%s) written to %s", message["To"], message["Subject"], path)
        return
    sender = parseaddr(message["From"])[1]
    recipients = [address for _name, address in getaddresses(message.get_all("To", []))]
    data = message.as_bytes(policy=policy.SMTP)
    smtp = smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"],
                        timeout=config["SMTP_TIMEOUT"])
    try:
        if config["SMTP_STARTTLS"]:
            smtp.starttls()
        if config["SMTP_USER"]:
            smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
        smtp.ehlo_or_helo_if_needed()
        code, reply = smtp.mail(sender)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        for recipient in recipients:
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
        if handing_over:
            handing_over()
        try:
            smtp.data(data)
        except smtplib.SMTPResponseException:
            raise  # the server answered with a refusal: not delivered, safe to retry
        except OSError as error:  # timed out or cut off before the server's answer
            raise UnknownOutcome(f"{type(error).__name__}: {error}") from error
        try:
            smtp.quit()
        except OSError:
            pass  # delivered: a lost goodbye changes nothing
    finally:
        smtp.close()

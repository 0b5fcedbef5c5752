"""Sending mail: SMTP when configured, otherwise .eml files in the instance's outbox folder."""

from __future__ import annotations

import logging
import secrets
import smtplib
from email.message import EmailMessage
from pathlib import Path

from flask import current_app, render_template

from hms.clock import utc_now

log = logging.getLogger(__name__)


def compose(to: str, subject: str, template: str,
            attachments: list[tuple[str, str, bytes]] = (), **context) -> EmailMessage:
    """A message with plain-text and HTML parts from templates/email/<template>.txt and .html,
    and (filename, MIME type, bytes) attachments."""
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(render_template(f"email/{template}.txt", **context))
    message.add_alternative(render_template(f"email/{template}.html", **context), subtype="html")
    for filename, mimetype, data in attachments:
        maintype, subtype = mimetype.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message


def send(message: EmailMessage) -> None:
    """Deliver through the configured SMTP server, or write the message to the outbox folder
    when none is configured (the embedded default), so a newcomer sees what would be sent.
    SMTP errors propagate: the caller records them and retries."""
    config = current_app.config
    if not config["SMTP_HOST"]:
        outbox = Path(current_app.instance_path) / "outbox"
        outbox.mkdir(parents=True, exist_ok=True)
        path = outbox / f"{utc_now():%Y%m%d-%H%M%S}-{secrets.token_hex(4)}.eml"
        path.write_bytes(bytes(message))
        log.info("Mail to %s (%s) written to %s", message["To"], message["Subject"], path)
        return
    with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=20) as smtp:
        if config["SMTP_STARTTLS"]:
            smtp.starttls()
        if config["SMTP_USER"]:
            smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
        smtp.send_message(message)

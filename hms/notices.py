"""Mail the clinic sends by itself: appointment reminders and doctors' monthly reports.

The database is the memory of this work, Huey and Redis only carry it. Each notice is one row
(Reminder, ReportSend) that the sweep (hms/work.py, every minute) makes when the notice falls
due: a reminder at REMINDER_HOUR clinic time, REMINDER_DAYS_AHEAD days before the appointment
(or at once for an appointment booked later than that); a report from REPORT_HOUR on the 1st.
The sweep hands due rows to the queue, and hands them again when the queue lost them.

A worker claims a queued row (queued -> sending) with a lease; the unique row and that
conditional update are why a re-run, a retry or a second worker never sends twice. A failure
is retried with back-off until the notice expires (the appointment's start; a report a week
after it fell due): then it is expired, never sent late. A worker that died leaves its lease to
run out, and the sweep queues the row again; but if the message had been handed to the SMTP
server, its fate is unknown, and it is not resent unless an admin asks (hms/admin.py).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr

from flask import current_app
from peewee import fn

from hms import links
from hms.clock import clinic_instant, hhmm_zone, to_clinic, utc_instant, utc_now
from hms.db import write_transaction
from hms.mail import UnknownOutcome, compose, send
from hms.models import (
    AccountMail,
    AccountToken,
    Appointment,
    Doctor,
    Reminder,
    ReportSend,
    SendRecord,
    User,
)
from hms.pdf import render_pdf
from hms.scheduling import online_cancel_ends, starts_at
from hms.stats import doctor_activity, month_of

log = logging.getLogger(__name__)

REPORT_HOUR = 7  # clinic hour on the 1st after which last month's reports go out
REPORT_WINDOW = dt.timedelta(days=7)  # a report not sent within a week of falling due expires
PENDING = ("queued", "sending", "failed")  # what the sweep still looks after
# Why the sweep ended a notice, for the admin's jobs page.
UNSENT_IN_TIME = "It could not be sent before its time passed."
LOST_REPLY = ("The mail server took the message, but its answer never came back: it may "
              "have been delivered. Try again only after checking.")


class Abandoned(Exception):
    """The row was taken from this worker (its lease ran out, or it expired) before the
    message went to the mail server."""


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after a failed attempt: 1, 2, 4, ... minutes, at most an hour."""
    return dt.timedelta(minutes=min(2 ** (attempts - 1), 60))


def lease() -> dt.timedelta:
    """How long a worker holds a notice it claimed: time for two of the mail server's slowest
    answers, and a minute more. Past it, the sweep takes the row back."""
    return dt.timedelta(seconds=2 * current_app.config["SMTP_TIMEOUT"] + 60)


def _naive(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def reminder_due(day: dt.date) -> dt.datetime:
    """When the reminders of that day's appointments fall due, in naive UTC."""
    eve = day - dt.timedelta(days=current_app.config["REMINDER_DAYS_AHEAD"])
    return _naive(clinic_instant(eve, dt.time(current_app.config["REMINDER_HOUR"])))


def message_id(kind: str, key: str) -> str:
    """A Message-ID for one notice, kept in its row and sent on every attempt."""
    domain = parseaddr(current_app.config["MAIL_SENDER"])[1].rpartition("@")[2]
    return make_msgid(f"{kind}-{key}", domain or "hms.invalid")


def new_reminders(now: dt.datetime) -> int:
    """Make the rows of the reminders that fell due: booked appointments that have not started,
    on the days whose reminder time has passed, with no reminder row yet."""
    today = to_clinic(now).date()
    days = [today + dt.timedelta(days=n)
            for n in range(current_app.config["REMINDER_DAYS_AHEAD"] + 1)]
    days = [day for day in days if reminder_due(day) <= now]
    if not days:
        return 0
    # NOT EXISTS, one probe of the reminder's unique index each: NOT IN would read every
    # reminder ever made, every minute.
    made = Reminder.select(Reminder.id).where(Reminder.appointment == Appointment.id)
    appointments = (Appointment.select(Appointment.id, Appointment.date, Appointment.time)
                    .where(Appointment.date.in_(days), Appointment.status == "booked",
                           ~fn.EXISTS(made)))
    rows = [{"appointment": a.id, "status": "queued", "claimed_at": now, "due_at": now,
             "expires_at": start, "message_id": message_id("reminder", str(a.id))}
            for a in appointments if (start := starts_at(a)) > now]
    if rows:
        Reminder.insert_many(rows).on_conflict_ignore().execute()
    return len(rows)


def report_due(now: dt.datetime) -> tuple[dt.date, dt.datetime] | None:
    """(First day of last month, when its reports fell due) while they are due, else None."""
    first = to_clinic(now).date().replace(day=1)
    due = _naive(clinic_instant(first, dt.time(REPORT_HOUR)))
    if not due <= now < due + REPORT_WINDOW:
        return None
    return month_of(first - dt.timedelta(days=1))[0], due


def new_reports(now: dt.datetime) -> int:
    """Make the rows of last month's reports while they are due: one per active doctor."""
    found = report_due(now)
    if found is None:
        return 0
    first, due = found
    period = f"{first:%Y-%m}"
    doctors = (Doctor.select(Doctor.id).join(User)
               .where(User.is_active == True,  # noqa: E712
                      Doctor.id.not_in(ReportSend.select(ReportSend.doctor)
                                       .where(ReportSend.period == period))))
    rows = [{"doctor": d.id, "period": period, "status": "queued", "claimed_at": now,
             "due_at": now, "expires_at": due + REPORT_WINDOW,
             "message_id": message_id("report", f"{d.id}-{period}")} for d in doctors]
    if rows:
        ReportSend.insert_many(rows).on_conflict_ignore().execute()
    return len(rows)


def take_due(model, now: dt.datetime, requeue: dt.timedelta) -> list:
    """The sweep's pass over one kind of notice: end what expired (or whose worker died after
    handing the message over), and mark every other row that is due as queued again until
    `requeue` from now. Returns the rows to hand to the queue."""
    pending = model.status.in_(PENDING)
    lost = (model.status == "sending") & (model.handed_over == True)  # noqa: E712
    model.update(status="unknown", last_error=LOST_REPLY).where(
        lost & ((model.due_at <= now) | (model.expires_at <= now))).execute()
    model.update(status="expired", last_error=UNSENT_IN_TIME).where(
        pending & (model.expires_at <= now)).execute()
    due = model.select().where(pending & (model.due_at <= now))
    rows = list(due)
    if rows:
        model.update(status="queued", due_at=now + requeue).where(
            model.id.in_([row.id for row in rows])).execute()
    return rows


def _claim(model, row, now: dt.datetime):
    """Take a queued notice for this worker, with a lease; None when another worker has it,
    or it is done, or it expired (then it is marked so)."""
    if row is None or row.status != "queued":
        return None
    if row.expires_at <= now:
        model.update(status="expired", last_error=UNSENT_IN_TIME).where(
            model.id == row.id, model.status == "queued").execute()
        return None
    # Taken only if nobody took it since it was read: PostgreSQL re-checks the condition on
    # the row another worker just changed, so only one of them updates it.
    taken = (model.update(status="sending", attempts=row.attempts + 1, claimed_at=now,
                          due_at=now + lease(), handed_over=False)
             .where(model.id == row.id, model.status == "queued",
                    model.attempts == row.attempts).execute())
    return model.get_by_id(row.id) if taken else None


def _handing_over(model, row) -> None:
    """Note that the message is about to go to the mail server, if this worker still holds
    the row; else stop before sending anything."""
    held = (model.update(handed_over=True)
            .where(model.id == row.id, model.status == "sending",
                   model.attempts == row.attempts).execute())
    if not held:
        raise Abandoned(f"{type(row).__name__} {row.id} was taken back before it was sent")


def _finish(model, row, error: Exception | None) -> str:
    """Record the outcome of an attempt: sent, unknown, or failed (retried after back-off)."""
    now = utc_now()
    mine = (model.id == row.id) & (model.attempts == row.attempts)
    if error is None:
        model.update(status="sent", sent_at=now, last_error=None).where(
            model.id == row.id).execute()  # delivered, whatever the sweep thought meanwhile
        return "sent"
    message = f"{type(error).__name__}: {error}"[:1000]
    if isinstance(error, Abandoned):
        return "skipped"
    if isinstance(error, UnknownOutcome):
        model.update(status="unknown", last_error=message).where(mine).execute()
        log.warning("%s %s may or may not have been delivered: %s", type(row).__name__,
                    row.id, error)
        return "unknown"
    model.update(status="failed", last_error=message, due_at=now + backoff(row.attempts),
                 handed_over=False).where(mine & (model.status == "sending")).execute()
    log.warning("Sending %s %s failed (attempt %s): %s", type(row).__name__, row.id,
                row.attempts, error)
    return "failed"


def _deliver(model, row, message) -> str:
    """Send one claimed notice's message and record how it went."""
    try:
        send(message, handing_over=lambda: _handing_over(model, row))
    except Exception as error:  # noqa: BLE001 - any failure is recorded and retried
        return _finish(model, row, error)
    return _finish(model, row, None)


class NotNeeded(Exception):
    """The notice need not go out any more (the offer passed, the follow-up was booked): the
    message says why, for the admin's jobs page."""


def send_once(model, row_id: int, message_for: Callable[[SendRecord], EmailMessage]) -> str:
    """Claim one queued notice of a model, build its message with message_for(row) and send
    it; a NotNeeded from message_for ends the notice unsent. Returns the outcome, as
    send_reminder does."""
    with write_transaction():
        row = _claim(model, model.get_or_none(model.id == row_id), utc_now())
    if row is None:
        return "skipped"
    try:
        message = message_for(row)
    except NotNeeded as why:
        model.update(status="expired", last_error=str(why)).where(
            model.id == row.id, model.attempts == row.attempts).execute()
        return "expired"
    except Exception as error:  # noqa: BLE001 - recorded and retried like a failed send
        return _finish(model, row, error)
    return _deliver(model, row, message)


def send_reminder(appointment_id: int) -> str:
    """Send one appointment's reminder if it is queued for this worker to take. Returns the
    outcome: 'sent', 'failed' (to be retried), 'unknown', 'expired' or 'skipped'."""
    with write_transaction():
        appt = Appointment.get_or_none(Appointment.id == appointment_id)
        row = Reminder.get_or_none(Reminder.appointment == appointment_id)
        if appt is not None and row is not None and appt.status != "booked":
            Reminder.update(status="expired",
                            last_error="The appointment was cancelled or moved.").where(
                Reminder.id == row.id, Reminder.status.in_(PENDING)).execute()
            return "expired"
        row = _claim(Reminder, row, utc_now())
    if row is None:
        return "skipped"
    patient_user = appt.patient.user
    if not patient_user.email:
        return _finish(Reminder, row, ValueError("the patient has no email address"))
    return _deliver(Reminder, row, reminder_message(appt, patient_user.email, row.message_id))


def reminder_message(appt: Appointment, to: str, message_id: str | None = None) -> EmailMessage:
    """An appointment's reminder: when and where, a calendar file, and the signed links that
    confirm or cancel it in one click (hms/replies.py)."""
    return compose(
        to, f"Reminder: {appt.doctor.full_name}, {appt.date:%a %-d %b} at "
        f"{hhmm_zone(appt.time, appt.date)}", "reminder", appt=appt,
        attachments=[("appointment.ics", "text/calendar", ics(appt))],
        message_id=message_id, clinic=current_app.config,
        confirm_link=links.reply_url(appt.id, "confirm"),
        cancel_link=links.reply_url(appt.id, "cancel"),
        cancel_until=online_cancel_ends(appt), now=utc_now())


def ics(appt: Appointment) -> bytes:
    """An iCalendar event for the appointment, with a UID that stays the same on every send."""
    config = current_app.config
    start = clinic_instant(appt.date, appt.time)  # the right offset for that date
    end = start + dt.timedelta(minutes=config["SLOT_MINUTES"])

    def utc(moment: dt.datetime) -> str:
        return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")

    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//HMS//Appointments//EN", "METHOD:PUBLISH",
        "BEGIN:VEVENT", f"UID:appointment-{appt.id}@hms", f"DTSTAMP:{utc(utc_instant())}",
        f"DTSTART:{utc(start)}", f"DTEND:{utc(end)}",
        f"SUMMARY:{ics_text('Appointment with ' + appt.doctor.full_name)}",
        f"LOCATION:{ics_text(config['CLINIC_NAME'] + ', ' + config['CLINIC_ADDRESS'])}",
        f"DESCRIPTION:{ics_text('Appointment no. ' + str(appt.id) + '. ' + appt.reason)}",
        "END:VEVENT", "END:VCALENDAR",
    ]
    return b"".join(fold_ics_line(line) + b"\r\n" for line in lines)


def ics_text(value: str) -> str:
    """A TEXT value escaped as RFC 5545 3.3.11 says: backslash, semicolon and comma escaped, and
    every line break (CRLF, LF or a bare CR, which some readers also end a line at) as \\n.
    Other control characters, which TEXT may not hold, are dropped."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = "".join(c for c in value if c in "\t\n" or not (ord(c) < 0x20 or ord(c) == 0x7F))
    return value.replace("\\", "\\\\").replace(";", r"\;").replace(",", r"\,").replace(
        "\n", r"\n")


def fold_ics_line(line: str, limit: int = 75) -> bytes:
    """A content line in UTF-8, folded as RFC 5545 3.1 says: no line longer than 75 octets, each
    continuation starting with a space, and never a character split across two lines."""
    folded, current = [], b""
    for char in line:
        octets = char.encode()
        if len(current) + len(octets) > limit:
            folded.append(current)
            current = b" "
        current += octets
    folded.append(current)
    return b"\r\n".join(folded)


def send_monthly_report(doctor_id: int, first_day: dt.date) -> str:
    """Mail a doctor last month's activity as HTML, with the same report as a PDF, if it is
    queued for this worker to take. Returns the outcome, as send_reminder does."""
    first, last = month_of(first_day)
    with write_transaction():
        row = _claim(ReportSend, ReportSend.get_or_none(ReportSend.doctor == doctor_id,
                                                        ReportSend.period == f"{first:%Y-%m}"),
                     utc_now())
    if row is None:
        return "skipped"
    doctor = Doctor.get_by_id(doctor_id)
    report = doctor_activity(doctor, first, last)
    try:
        pdf = render_pdf("pdf/doctor_report.html", report=report)
    except Exception as error:  # noqa: BLE001 - recorded and retried like a failed send
        return _finish(ReportSend, row, error)
    return _deliver(ReportSend, row, compose(
        doctor.user.email, f"Your activity report for {first:%B %Y}", "monthly_report",
        report=report, doctor=doctor, message_id=row.message_id,
        attachments=[(f"hms-activity-{first:%Y-%m}.pdf", "application/pdf", pdf)]))


ACCOUNT_SUBJECTS = {
    "reset": "Reset your password",
    "invite": "Set the password of your new account",
    "signup": "Someone tried to register with your e-mail address",
    "confirm": "Confirm your e-mail address to finish registering",
}


def send_account_mail(mail_id: int) -> str:
    """Send one queued account e-mail (a reset link, an invitation, a note about a repeated
    registration) with its token's link. Returns the outcome, as send_reminder does."""
    from hms.passwords import link_of, printable, token_of

    with write_transaction():
        row = _claim(AccountMail, AccountMail.get_or_none(AccountMail.id == mail_id), utc_now())
    if row is None:
        return "skipped"
    token_row = AccountToken.get_by_id(row.token_id)
    user = User.get_by_id(token_row.user_id)
    if not user.email:
        return _finish(AccountMail, row, ValueError("the account has no e-mail address"))
    token = token_of(token_row)
    return _deliver(AccountMail, row, compose(
        user.email, ACCOUNT_SUBJECTS[row.kind], f"account_{row.kind}", user=user,
        link=link_of(token),
        code=printable(token), expires_at=token_row.expires_at,
        message_id=row.message_id, clinic=current_app.config))

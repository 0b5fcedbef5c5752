"""Mail the clinic sends by itself: appointment reminders and doctors' monthly reports.

Each notice is one row (Reminder, ReportSend) whose unique index is the claim: a worker takes
the row under the write lock before sending, so a re-run, a retry or a second worker never
sends twice. A failed send is recorded with its error and retried with back-off; after the
last attempt it stays failed, for the admin's jobs page.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from flask import current_app
from peewee import IntegrityError

from hms.clock import clinic_instant, hhmm, to_clinic, utc_instant, utc_now
from hms.db import db, write_transaction
from hms.mail import compose, send
from hms.models import Appointment, Doctor, Reminder, ReportSend, User
from hms.pdf import render_pdf
from hms.stats import doctor_activity, month_of

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 4
STALE_CLAIM = dt.timedelta(minutes=15)  # a 'sending' row older than this died with its worker
REPORT_HOUR = 7  # clinic hour on the 1st after which last month's reports go out


def backoff(attempts: int) -> int:
    """Seconds to wait before the next attempt: 1, 2, 4, ... minutes."""
    return 60 * 2 ** (attempts - 1)


def reminder_day(now_utc: dt.datetime) -> dt.date | None:
    """The day whose appointments this hourly run reminds, or None. It is the run in which the
    clinic's clock reaches the reminder hour, so the hour follows daylight saving time, and fires
    once even on the days that skip an hour (it fires in the hour after) or repeat one."""
    local, before = to_clinic(now_utc), to_clinic(now_utc - dt.timedelta(hours=1))
    mark = dt.datetime.combine(local.date(), dt.time(current_app.config["REMINDER_HOUR"]))
    if not before < mark <= local:
        return None
    return local.date() + dt.timedelta(days=current_app.config["REMINDER_DAYS_AHEAD"])


def due_reminders(day: dt.date) -> list[int]:
    """Booked appointments on that day that have no reminder sent or being sent."""
    done = Reminder.select(Reminder.appointment).where(Reminder.status != "failed")
    return [a.id for a in Appointment.select(Appointment.id).where(
        Appointment.date == day, Appointment.status == "booked", Appointment.id.not_in(done))]


def _claim(model, lookup: dict, now: dt.datetime):
    """Take the notice's row for this worker; None when it is sent, being sent, or given up."""
    row = model.get_or_none(**lookup)
    if row is None:
        try:
            with db.atomic():  # a savepoint: on PostgreSQL two workers may both get here
                return model.create(**lookup, status="sending", attempts=1, claimed_at=now)
        except IntegrityError:  # the unique row is the claim, and the other worker has it
            return None
    stale = row.status == "sending" and row.claimed_at < now - STALE_CLAIM
    if (row.status == "failed" or stale) and row.attempts < MAX_ATTEMPTS:
        # Taken only if nobody took it since it was read: PostgreSQL re-checks the condition
        # on the row another worker just changed, so only one of them updates it.
        taken = (model.update(status="sending", attempts=row.attempts + 1, claimed_at=now)
                 .where(model.id == row.id, model.status == row.status,
                        model.attempts == row.attempts).execute())
        return model.get_by_id(row.id) if taken else None
    return None


def _finish(row, error: Exception | None) -> int | None:
    """Record the outcome; returns the seconds to wait before a retry, if one is due."""
    if error is None:
        row.status, row.sent_at, row.last_error = "sent", utc_now(), None
        row.save()
        return None
    row.status, row.last_error = "failed", f"{type(error).__name__}: {error}"[:1000]
    row.save()
    log.warning("Sending %s %s failed (attempt %s): %s", type(row).__name__, row.id,
                row.attempts, error)
    return backoff(row.attempts) if row.attempts < MAX_ATTEMPTS else None


def queue_notices(now_utc: dt.datetime, remind: Callable[[int], object],
                  report: Callable[[int, str], object]) -> dict[str, int]:
    """Hand out what is due now: the reminders at the reminder hour, last month's reports on
    the 1st. Returns how many of each were queued."""
    day = reminder_day(now_utc)
    appointments = due_reminders(day) if day else []
    for appointment_id in appointments:
        remind(appointment_id)
    period = report_period(now_utc)
    doctors = due_reports(period[0]) if period else []
    for doctor_id in doctors:
        report(doctor_id, period[0].isoformat())
    return {"reminders": len(appointments), "reports": len(doctors)}


def send_reminder(appointment_id: int) -> tuple[str, int | None]:
    """Send one appointment's reminder unless it went (or is going) already. Returns the
    outcome ('sent', 'skipped' or 'failed') and the seconds to wait before a retry."""
    with write_transaction():
        appt = Appointment.get_or_none(Appointment.id == appointment_id)
        if appt is None or appt.status != "booked":
            return "skipped", None  # cancelled or moved since: no reminder
        row = _claim(Reminder, {"appointment": appt}, utc_now())
    if row is None:
        return "skipped", None
    patient_user = appt.patient.user
    if not patient_user.email:
        return "failed", _finish(row, ValueError("the patient has no email address"))
    try:
        send(compose(patient_user.email,
                     f"Reminder: {appt.doctor.full_name}, {appt.date:%a %-d %b} at "
                     f"{hhmm(appt.time, appt.date)}", "reminder", appt=appt,
                     attachments=[("appointment.ics", "text/calendar", ics(appt))],
                     clinic=current_app.config))
    except Exception as error:  # noqa: BLE001 - any failure is recorded and retried
        return "failed", _finish(row, error)
    _finish(row, None)
    return "sent", None


def ics(appt: Appointment) -> bytes:
    """An iCalendar event for the appointment, with a UID that stays the same on every send."""
    config = current_app.config
    start = clinic_instant(appt.date, appt.time)  # the right offset for that date
    end = start + dt.timedelta(minutes=config["SLOT_MINUTES"])

    def utc(moment: dt.datetime) -> str:
        return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")

    def text(value: str) -> str:
        return value.replace("\\", "\\\\").replace(";", r"\;").replace(",", r"\,").replace(
            "\n", r"\n")

    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//HMS//Appointments//EN", "METHOD:PUBLISH",
        "BEGIN:VEVENT", f"UID:appointment-{appt.id}@hms", f"DTSTAMP:{utc(utc_instant())}",
        f"DTSTART:{utc(start)}", f"DTEND:{utc(end)}",
        f"SUMMARY:{text('Appointment with ' + appt.doctor.full_name)}",
        f"LOCATION:{text(config['CLINIC_NAME'] + ', ' + config['CLINIC_ADDRESS'])}",
        f"DESCRIPTION:{text('Appointment no. ' + str(appt.id) + '. ' + appt.reason)}",
        "END:VEVENT", "END:VCALENDAR",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def report_period(now_utc: dt.datetime) -> tuple[dt.date, dt.date] | None:
    """Last month's first and last day, on the 1st of a month from REPORT_HOUR; else None."""
    local = to_clinic(now_utc)
    if local.day != 1 or local.hour < REPORT_HOUR:
        return None
    return month_of(local.date() - dt.timedelta(days=1))


def due_reports(first_day: dt.date) -> list[int]:
    """Active doctors whose report for that month has not been sent or started."""
    period = f"{first_day:%Y-%m}"
    done = ReportSend.select(ReportSend.doctor).where(ReportSend.period == period,
                                                      ReportSend.status != "failed")
    return [d.id for d in Doctor.select(Doctor.id).join(User).where(
        User.is_active == True, Doctor.id.not_in(done))]  # noqa: E712


def send_monthly_report(doctor_id: int, first_day: dt.date) -> tuple[str, int | None]:
    """Mail a doctor last month's activity as HTML, with the same report as a PDF."""
    first, last = month_of(first_day)
    with write_transaction():
        doctor = Doctor.get_or_none(Doctor.id == doctor_id)
        if doctor is None:
            return "skipped", None
        row = _claim(ReportSend, {"doctor": doctor, "period": f"{first:%Y-%m}"}, utc_now())
    if row is None:
        return "skipped", None
    report = doctor_activity(doctor, first, last)
    try:
        pdf = render_pdf("pdf/doctor_report.html", report=report)
        send(compose(doctor.user.email, f"Your activity report for {first:%B %Y}",
                     "monthly_report", report=report, doctor=doctor,
                     attachments=[(f"hms-activity-{first:%Y-%m}.pdf", "application/pdf", pdf)]))
    except Exception as error:  # noqa: BLE001 - any failure is recorded and retried
        return "failed", _finish(row, error)
    _finish(row, None)
    return "sent", None

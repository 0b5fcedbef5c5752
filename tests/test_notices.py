"""Reminders and monthly reports, sent to a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import threading

import pytest

from hms.models import Appointment, Reminder, ReportSend, User
from hms.notices import (
    MAX_ATTEMPTS,
    due_reminders,
    ics,
    reminder_day,
    report_period,
    send_monthly_report,
    send_reminder,
)
from support import free_port

# Date-sensitive: run at every instant of the calendar matrix (tests/instants.py).
pytestmark = pytest.mark.calendar

UTC = dt.UTC


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def tomorrow_visit(people, diary):
    """Pat One's booked appointment with Dr One tomorrow at 09:30."""
    return Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                              date=diary, time=dt.time(9, 30), reason="Check-up")


def body(message, subtype: str) -> str:
    return message.get_body(preferencelist=(subtype,)).get_content()


# --- when ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("now_utc, hour, ahead, expected", [
    (dt.datetime(2026, 1, 14, 17, 30, tzinfo=UTC), 18, 1, None),          # GMT: 17:30 local
    (dt.datetime(2026, 1, 14, 18, 10, tzinfo=UTC), 18, 1, dt.date(2026, 1, 15)),
    (dt.datetime(2026, 7, 14, 17, 10, tzinfo=UTC), 18, 1, dt.date(2026, 7, 15)),  # BST
    (dt.datetime(2026, 7, 14, 18, 10, tzinfo=UTC), 18, 1, None),          # 19:10 BST
    # Near midnight, across the spring change (29 March 2026, 01:00 UTC): the clinic's day.
    (dt.datetime(2026, 3, 28, 23, 30, tzinfo=UTC), 23, 1, dt.date(2026, 3, 29)),
    (dt.datetime(2026, 3, 29, 22, 30, tzinfo=UTC), 23, 1, dt.date(2026, 3, 30)),
    # The autumn change (25 October 2026): 23:15 UTC on the 24th is 00:15 BST on the 25th.
    (dt.datetime(2026, 10, 24, 23, 15, tzinfo=UTC), 0, 0, dt.date(2026, 10, 25)),
    (dt.datetime(2026, 10, 25, 23, 15, tzinfo=UTC), 0, 0, None),          # 23:15 GMT
])
def test_reminders_run_at_the_clinics_hour_for_the_clinics_day(ctx, now_utc, hour, ahead,
                                                               expected):
    ctx.config.update(TIMEZONE="Europe/London", REMINDER_HOUR=hour, REMINDER_DAYS_AHEAD=ahead)
    assert reminder_day(now_utc) == expected


@pytest.mark.parametrize("now_utc, expected", [
    (dt.datetime(2026, 12, 1, 8, 0, tzinfo=UTC), (dt.date(2026, 11, 1), dt.date(2026, 11, 30))),
    (dt.datetime(2026, 12, 1, 6, 0, tzinfo=UTC), None),  # before 07:00 clinic time
    (dt.datetime(2026, 12, 2, 8, 0, tzinfo=UTC), None),
    (dt.datetime(2026, 3, 31, 23, 30, tzinfo=UTC), None),  # 00:30 BST on 1 April: too early
    (dt.datetime(2026, 4, 1, 6, 30, tzinfo=UTC), (dt.date(2026, 3, 1), dt.date(2026, 3, 31))),
])
def test_monthly_reports_go_out_on_the_first(ctx, now_utc, expected):
    assert report_period(now_utc) == expected


# --- reminders ----------------------------------------------------------------------------------

def test_reminder_mail_has_text_html_and_a_calendar_file(ctx, inbox, tomorrow_visit, diary):
    assert send_reminder(tomorrow_visit.id) == ("sent", None)
    [message] = inbox.messages
    assert message["X-Envelope-To"] == "pat1@test.example"
    assert "Dr Ada One" in message["Subject"]
    text = body(message, "plain")
    assert "Dr Ada One (Cardiology)" in text and "09:30" in text
    assert diary.strftime("%A %-d %B %Y") in text and "1 Infirmary Road" in text
    assert "Check-up" not in message["Subject"] and "<table" in body(message, "html")
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "appointment.ics"
    calendar = attachment.get_content()
    calendar = calendar.decode() if isinstance(calendar, bytes) else calendar
    assert f"UID:appointment-{tomorrow_visit.id}@hms" in calendar
    start = dt.datetime.combine(diary, dt.time(9, 30), tzinfo=ctx_zone(ctx)).astimezone(UTC)
    assert f"DTSTART:{start:%Y%m%dT%H%M%SZ}" in calendar
    row = Reminder.get(Reminder.appointment == tomorrow_visit.id)
    assert row.status == "sent" and row.sent_at is not None and row.attempts == 1


def ctx_zone(app):
    from zoneinfo import ZoneInfo

    return ZoneInfo(app.config["TIMEZONE"])


def test_the_calendar_uid_is_stable(ctx, tomorrow_visit):
    assert ics(tomorrow_visit).split(b"DTSTAMP")[0] == ics(tomorrow_visit).split(b"DTSTAMP")[0]


def test_a_reminder_is_sent_once_however_often_the_job_runs(ctx, inbox, tomorrow_visit):
    assert send_reminder(tomorrow_visit.id)[0] == "sent"
    assert send_reminder(tomorrow_visit.id)[0] == "skipped"
    assert due_reminders(tomorrow_visit.date) == []
    assert len(inbox.messages) == 1


def test_two_workers_at_once_send_each_reminder_once(app, inbox, people, diary):
    visits = [Appointment.create(patient=people.patient(p), doctor=people.doctor(d), date=diary,
                                 time=dt.time(10), reason="x")
              for p, d in (("pat.one", "dr.one"), ("pat.two", "dr.two"))]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def worker() -> None:
        from hms.db import db

        with app.app_context(), db.connection_context():
            barrier.wait(timeout=10)
            for visit in visits:
                outcomes.append(send_reminder(visit.id)[0])

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["sent", "sent", "skipped", "skipped"]
    assert sorted(m["X-Envelope-To"] for m in inbox.messages) == \
        ["pat1@test.example", "pat2@test.example"]


@pytest.mark.parametrize("status", ["cancelled", "rescheduled", "completed"])
def test_cancelled_or_moved_appointments_get_no_reminder(ctx, inbox, tomorrow_visit, status):
    Appointment.update(status=status).where(Appointment.id == tomorrow_visit.id).execute()
    assert due_reminders(tomorrow_visit.date) == []
    assert send_reminder(tomorrow_visit.id) == ("skipped", None)
    assert inbox.messages == []


def test_a_failed_send_is_recorded_retried_with_back_off_and_then_given_up(ctx, tomorrow_visit):
    ctx.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port())  # nobody listens there
    delays = []
    for _ in range(MAX_ATTEMPTS):
        outcome, retry_in = send_reminder(tomorrow_visit.id)
        assert outcome == "failed"
        delays.append(retry_in)
    assert delays == [60, 120, 240, None]
    row = Reminder.get(Reminder.appointment == tomorrow_visit.id)
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert "ConnectionRefusedError" in row.last_error
    assert send_reminder(tomorrow_visit.id) == ("skipped", None)  # given up
    assert due_reminders(tomorrow_visit.date) == [tomorrow_visit.id]  # still listed as due


def test_a_retry_after_a_failure_sends(ctx, inbox, smtp_server, tomorrow_visit):
    port = ctx.config["SMTP_PORT"]
    ctx.config["SMTP_PORT"] = free_port()
    assert send_reminder(tomorrow_visit.id)[0] == "failed"
    ctx.config["SMTP_PORT"] = port
    assert send_reminder(tomorrow_visit.id)[0] == "sent"
    assert len(inbox.messages) == 1


def test_without_smtp_mail_goes_to_the_outbox_folder(ctx, tomorrow_visit, tmp_path):
    ctx.config["SMTP_HOST"] = ""
    assert send_reminder(tomorrow_visit.id)[0] == "sent"
    [eml] = list((tmp_path / "instance" / "outbox").glob("*.eml"))
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["To"] == "pat1@test.example" and "Reminder" in message["Subject"]


def test_a_patient_without_email_is_a_visible_failure(ctx, inbox, tomorrow_visit):
    User.update(email=None).where(User.id == tomorrow_visit.patient.user_id).execute()
    assert send_reminder(tomorrow_visit.id)[0] == "failed"
    assert "no email" in Reminder.get().last_error and inbox.messages == []


def test_the_admin_jobs_page_lists_failures(client, auth, ctx, tomorrow_visit):
    User.update(email=None).where(User.id == tomorrow_visit.patient.user_id).execute()
    send_reminder(tomorrow_visit.id)
    auth.login("admin")
    page = client.get("/admin/jobs")
    assert page.status_code == 200 and "no email address" in page.text
    assert '<tr class="failed">' in page.text
    auth.logout()
    auth.login("dr.one")
    assert client.get("/admin/jobs").status_code == 403


# --- monthly reports ----------------------------------------------------------------------------

def test_monthly_report_mail_with_the_pdf_goes_once(ctx, inbox, people):
    doctor = people.doctor("dr.one")
    first = dt.date(2026, 10, 1)
    Appointment.create(patient=people.patient("pat.one"), doctor=doctor, date=first,
                       time=dt.time(9), status="completed", reason="x")
    assert send_monthly_report(doctor.id, first) == ("sent", None)
    assert send_monthly_report(doctor.id, first) == ("skipped", None)
    [message] = inbox.messages
    assert message["X-Envelope-To"] == "one@test.example"
    assert "October 2026" in message["Subject"]
    html = body(message, "html")
    assert "Completed" in html and "<td>1</td>" in html
    [pdf] = list(message.iter_attachments())
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_content().startswith(b"%PDF")
    assert ReportSend.get().status == "sent" and ReportSend.get().period == "2026-10"


def test_the_hourly_job_queues_what_is_due_and_the_queue_sends_it(app, inbox, people,
                                                                  tomorrow_visit):
    import tasks
    from hms.notices import queue_notices

    tasks.huey.immediate, tasks.app = True, app  # the queue runs each task at once, in-process
    try:
        with app.app_context():
            app.config.update(TIMEZONE="UTC", REMINDER_HOUR=18, REMINDER_DAYS_AHEAD=1)
            day_before = tomorrow_visit.date - dt.timedelta(days=1)
            at_six = dt.datetime.combine(day_before, dt.time(18, 5), tzinfo=UTC)
            # On the 1st of a month (some instants of the matrix) last month's reports are due
            # from 07:00, so the 17:05 run sends them.
            reports_today = 2 if day_before.day == 1 else 0
            assert queue_notices(at_six - dt.timedelta(hours=1), tasks.send_reminder,
                                 tasks.send_monthly_report) == {"reminders": 0,
                                                                "reports": reports_today}
            assert queue_notices(at_six, tasks.send_reminder, tasks.send_monthly_report) == \
                {"reminders": 1, "reports": 0}
            assert queue_notices(at_six, tasks.send_reminder, tasks.send_monthly_report) == \
                {"reminders": 0, "reports": 0}
            first = dt.datetime(2026, 12, 1, 9, tzinfo=UTC)
            assert queue_notices(first, tasks.send_reminder, tasks.send_monthly_report) == \
                {"reminders": 0, "reports": 2}  # both active doctors
    finally:
        tasks.huey.immediate, tasks.app = False, None
    assert sorted(m["X-Envelope-To"] for m in inbox.messages) == sorted(
        ["one@test.example", "pat1@test.example", "two@test.example"]
        + ["one@test.example", "two@test.example"] * (reports_today // 2))

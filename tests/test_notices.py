"""Reminders and monthly reports, sent to a real SMTP server (aiosmtpd) on loopback: when they
fall due, how a worker claims one, and how failures, lost answers and dead workers end."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import threading

import pytest
from aiosmtpd.controller import Controller

from hms import notices, work
from hms.clock import utc_now
from hms.models import Appointment, Doctor, Reminder, ReportSend, User
from hms.notices import ics, reminder_due, report_due, send_monthly_report, send_reminder
from hms.scheduling import starts_at
from instants import DEFAULT
from support import csrf_token, free_port

# Date-sensitive: run at every instant of the calendar matrix (tests/instants.py).
pytestmark = pytest.mark.calendar

UTC = dt.UTC
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def ctx(app):
    """An app context in which tomorrow's appointments' reminders are due already (two days
    ahead at 18:00 is yesterday evening or earlier, at any instant of the matrix)."""
    app.config.update(REMINDER_DAYS_AHEAD=2)
    with app.app_context():
        yield app


@pytest.fixture
def tomorrow_visit(people, diary):
    """Pat One's booked appointment with Dr One tomorrow at 09:30."""
    return Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                              date=diary, time=dt.time(9, 30), reason="Check-up")


def sweep(now: dt.datetime | None = None) -> dict:
    """One sweep that marks what is due as queued and hands it to nobody: the tests then play
    the worker by calling send_reminder and send_monthly_report themselves."""
    def nobody(*_args) -> None:
        return None

    return work.sweep(now or utc_now(), nobody, nobody, nobody)


def reminder(appt: Appointment) -> Reminder:
    return Reminder.get(Reminder.appointment == appt.id)


def body(message, subtype: str) -> str:
    return message.get_body(preferencelist=(subtype,)).get_content()


class SlowInbox:
    """An SMTP server that takes `delay` seconds to answer the end of a message's data, after
    it has stored the message."""

    def __init__(self, delay: float) -> None:
        self.delay, self.messages = delay, []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(email.message_from_bytes(envelope.content,
                                                      policy=email.policy.default))
        await asyncio.sleep(self.delay)
        return "250 OK"


@pytest.fixture
def slow_smtp(app):
    """Start a SlowInbox with the given delay, and point the app at it."""
    controllers = []

    def start(delay: float) -> SlowInbox:
        inbox = SlowInbox(delay)
        controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
        controller.start()
        controllers.append(controller)
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port)
        return inbox

    yield start
    for controller in controllers:
        controller.stop()


# --- when ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("day, hour, ahead, expected", [
    (dt.date(2026, 1, 15), 18, 1, dt.datetime(2026, 1, 14, 18)),   # GMT
    (dt.date(2026, 7, 15), 18, 1, dt.datetime(2026, 7, 14, 17)),   # BST
    (dt.date(2026, 7, 15), 9, 0, dt.datetime(2026, 7, 15, 8)),     # the same morning
    # Across the spring change (29 March 2026, 01:00 UTC) and the autumn one (25 October).
    (dt.date(2026, 3, 30), 23, 1, dt.datetime(2026, 3, 29, 22)),
    (dt.date(2026, 3, 29), 23, 1, dt.datetime(2026, 3, 28, 23)),
    (dt.date(2026, 10, 25), 0, 0, dt.datetime(2026, 10, 24, 23)),
    (dt.date(2026, 10, 26), 0, 0, dt.datetime(2026, 10, 26, 0)),
])
def test_a_reminder_falls_due_at_the_clinics_hour_before_its_day(ctx, day, hour, ahead,
                                                                 expected):
    ctx.config.update(TIMEZONE="Europe/London", REMINDER_HOUR=hour, REMINDER_DAYS_AHEAD=ahead)
    assert reminder_due(day) == expected


def test_the_sweep_makes_each_reminder_once_when_due_and_never_after_the_start(ctx, people,
                                                                              diary):
    ctx.config.update(TIMEZONE="UTC", REMINDER_HOUR=18, REMINDER_DAYS_AHEAD=1)
    visit = Appointment.create(patient=people.patient("pat.one"),
                               doctor=people.doctor("dr.one"), date=diary, time=dt.time(9),
                               reason="x")
    due = dt.datetime.combine(diary - dt.timedelta(days=1), dt.time(18))
    assert notices.new_reminders(due - MINUTE) == 0
    assert notices.new_reminders(due) == 1
    assert notices.new_reminders(due + MINUTE) == 0  # it has its row
    row = reminder(visit)
    assert (row.status, row.expires_at) == ("queued", dt.datetime.combine(diary, dt.time(9)))
    # Booked after its reminder time (here: at 08:00 on the day), it is reminded at once;
    # one that has started is not.
    late = Appointment.create(patient=people.patient("pat.two"),
                              doctor=people.doctor("dr.two"), date=diary, time=dt.time(10),
                              reason="x")
    assert notices.new_reminders(dt.datetime.combine(diary, dt.time(10))) == 0
    assert notices.new_reminders(dt.datetime.combine(diary, dt.time(8))) == 1
    assert reminder(late).status == "queued"


@pytest.mark.parametrize("now_utc, expected", [
    (dt.datetime(2026, 12, 1, 8, 0), dt.date(2026, 11, 1)),
    (dt.datetime(2026, 12, 1, 6, 0), None),  # before 07:00 clinic time
    (dt.datetime(2026, 12, 2, 8, 0), dt.date(2026, 11, 1)),  # a missed day only delays them
    (dt.datetime(2026, 12, 8, 7, 0), None),  # a week after: too late for November's
    (dt.datetime(2026, 3, 31, 23, 30), None),  # 00:30 BST on 1 April: too early
    (dt.datetime(2026, 4, 1, 6, 30), dt.date(2026, 3, 1)),
])
def test_monthly_reports_are_due_for_a_week_from_the_first(ctx, now_utc, expected):
    found = report_due(now_utc)
    assert (found and found[0]) == expected


# --- reminders ----------------------------------------------------------------------------------

def test_reminder_mail_has_text_html_a_calendar_file_and_its_message_id(ctx, inbox,
                                                                       tomorrow_visit, diary):
    assert sweep()["reminders"] == 1
    assert send_reminder(tomorrow_visit.id) == "sent"
    [message] = inbox.messages
    assert message["X-Envelope-To"] == "pat1@test.example"
    assert "Dr Ada One" in message["Subject"]
    text = body(message, "plain")
    zone = dt.datetime.combine(diary, dt.time(9, 30), tzinfo=ctx_zone(ctx)).tzname()
    assert "Dr Ada One (Cardiology)" in text and f"Time:    09:30 {zone}" in text
    assert message["Subject"].endswith(f"at 09:30 {zone}")
    assert diary.strftime("%A %-d %B %Y") in text and "1 Infirmary Road" in text
    assert "Check-up" not in message["Subject"] and "<table" in body(message, "html")
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "appointment.ics"
    calendar = attachment.get_content()
    calendar = calendar.decode() if isinstance(calendar, bytes) else calendar
    assert f"UID:appointment-{tomorrow_visit.id}@hms" in calendar
    start = dt.datetime.combine(diary, dt.time(9, 30), tzinfo=ctx_zone(ctx)).astimezone(UTC)
    assert f"DTSTART:{start:%Y%m%dT%H%M%SZ}" in calendar
    row = reminder(tomorrow_visit)
    assert row.status == "sent" and row.sent_at is not None and row.attempts == 1
    assert message["Message-ID"].strip() == row.message_id and "@hms.invalid>" in row.message_id


def ctx_zone(app):
    from zoneinfo import ZoneInfo

    return ZoneInfo(app.config["TIMEZONE"])


def test_the_calendar_uid_is_stable_and_a_bare_cr_cannot_break_a_line(ctx, tomorrow_visit):
    assert ics(tomorrow_visit).split(b"DTSTAMP")[0] == ics(tomorrow_visit).split(b"DTSTAMP")[0]
    tomorrow_visit.reason = "Cough\rATTENDEE:evil"
    assert b"\rATTENDEE" not in ics(tomorrow_visit)
    assert b"Cough\\nATTENDEE:evil" in ics(tomorrow_visit)


def test_a_reminder_is_sent_once_however_often_the_sweep_and_the_task_run(ctx, inbox,
                                                                         tomorrow_visit):
    assert sweep()["reminders"] == 1
    assert send_reminder(tomorrow_visit.id) == "sent"
    assert send_reminder(tomorrow_visit.id) == "skipped"
    assert sweep(utc_now() + 10 * MINUTE)["reminders"] == 0
    assert send_reminder(tomorrow_visit.id) == "skipped"
    assert len(inbox.messages) == 1


def test_a_message_the_queue_lost_is_handed_out_again(ctx, inbox, tomorrow_visit):
    now = utc_now()
    assert sweep(now)["reminders"] == 1  # ... and the message vanished with Redis
    assert sweep(now + MINUTE)["reminders"] == 0  # a worker may still be about to take it
    assert sweep(now + work.REQUEUE)["reminders"] == 1
    assert send_reminder(tomorrow_visit.id) == "sent"
    assert send_reminder(tomorrow_visit.id) == "skipped"  # the first message, found at last
    assert len(inbox.messages) == 1


def test_two_workers_at_once_send_each_reminder_once(app, inbox, people, diary):
    app.config.update(REMINDER_DAYS_AHEAD=2)
    visits = [Appointment.create(patient=people.patient(p), doctor=people.doctor(d), date=diary,
                                 time=dt.time(10), reason="x")
              for p, d in (("pat.one", "dr.one"), ("pat.two", "dr.two"))]
    with app.app_context():
        assert sweep()["reminders"] == 2
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def worker() -> None:
        from hms.db import db

        with app.app_context(), db.connection_context():
            barrier.wait(timeout=10)
            for visit in visits:
                outcomes.append(send_reminder(visit.id))

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
    assert sweep()["reminders"] == 1
    Appointment.update(status=status).where(Appointment.id == tomorrow_visit.id).execute()
    assert send_reminder(tomorrow_visit.id) == "expired"
    assert reminder(tomorrow_visit).status == "expired" and inbox.messages == []
    other = Appointment.create(patient=tomorrow_visit.patient, doctor=tomorrow_visit.doctor,
                               date=tomorrow_visit.date, time=dt.time(11), reason="x",
                               status=status)
    sweep()
    assert Reminder.get_or_none(Reminder.appointment == other.id) is None


def test_a_failed_send_backs_off_is_retried_until_the_start_and_then_expires(
        ctx, inbox, tomorrow_visit, frozen_clock):
    port = ctx.config["SMTP_PORT"]
    ctx.config["SMTP_PORT"] = free_port()  # nobody listens there
    sweep()
    delays = []
    for _ in range(8):  # the worker tries; each failure waits longer, at most an hour
        assert send_reminder(tomorrow_visit.id) == "failed"
        row = reminder(tomorrow_visit)
        assert row.status == "failed" and "ConnectionRefusedError" in row.last_error
        delays.append((row.due_at - utc_now()) // MINUTE)
        assert sweep(row.due_at - dt.timedelta(seconds=1))["reminders"] == 0  # not yet
        assert sweep(row.due_at)["reminders"] == 1
        frozen_clock.move_to(row.due_at.replace(tzinfo=UTC))
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60]
    # Once the appointment has started, it is expired, and never sent late.
    start = starts_at(tomorrow_visit)
    ctx.config["SMTP_PORT"] = port
    sweep(start)
    row = reminder(tomorrow_visit)
    assert row.status == "expired" and row.last_error == notices.UNSENT_IN_TIME
    assert send_reminder(tomorrow_visit.id) == "skipped" and inbox.messages == []


def test_a_retry_after_a_failure_sends_with_the_same_message_id(ctx, inbox, tomorrow_visit):
    port = ctx.config["SMTP_PORT"]
    ctx.config["SMTP_PORT"] = free_port()
    sweep()
    assert send_reminder(tomorrow_visit.id) == "failed"
    ctx.config["SMTP_PORT"] = port
    sweep(reminder(tomorrow_visit).due_at)
    assert send_reminder(tomorrow_visit.id) == "sent"
    [message] = inbox.messages
    assert message["Message-ID"].strip() == reminder(tomorrow_visit).message_id
    assert reminder(tomorrow_visit).attempts == 2


def test_a_worker_that_died_before_handing_the_message_over_is_replaced(ctx, inbox,
                                                                       tomorrow_visit):
    sweep()
    claimed = notices._claim(Reminder, reminder(tomorrow_visit), utc_now())  # ... then died
    assert claimed.status == "sending" and claimed.due_at == utc_now() + notices.lease()
    assert sweep(claimed.due_at - MINUTE)["reminders"] == 0  # its lease still holds
    assert sweep(claimed.due_at)["reminders"] == 1
    assert send_reminder(tomorrow_visit.id) == "sent" and len(inbox.messages) == 1


def test_a_worker_that_died_after_handing_the_message_over_leaves_it_unknown(ctx, inbox,
                                                                            tomorrow_visit):
    sweep()
    claimed = notices._claim(Reminder, reminder(tomorrow_visit), utc_now())
    notices._handing_over(Reminder, claimed)  # the data went out, and the worker died
    assert sweep(claimed.due_at)["reminders"] == 0
    row = reminder(tomorrow_visit)
    assert row.status == "unknown" and row.last_error == notices.LOST_REPLY
    assert send_reminder(tomorrow_visit.id) == "skipped" and inbox.messages == []


def test_sending_an_unknown_one_again_asks_first_without_javascript(app, client, auth,
                                                                    tomorrow_visit):
    """It may have arrived: the form asks (the browser's dialog with htmx, a page without),
    and nothing is queued until the admin says yes. (No app context is held across the
    requests: each must get its own `g`.)"""
    app.config.update(REMINDER_DAYS_AHEAD=2)
    with app.app_context():
        sweep()
        notices._handing_over(Reminder, notices._claim(Reminder, reminder(tomorrow_visit),
                                                       utc_now()))
        sweep(reminder(tomorrow_visit).due_at)
        assert reminder(tomorrow_visit).status == "unknown"
    auth.login("admin")
    page = client.get("/admin/jobs")
    assert 'hx-confirm="The mail server may have delivered it already. Send it again?"' \
        in page.text and 'name="ask" value="1"' in page.text
    url = f"/admin/jobs/reminders/{reminder(tomorrow_visit).id}/retry"
    asked = client.post(url, data={"csrf_token": csrf_token(page.text), "ask": "1"})
    assert asked.status_code == 200 and "Send it again?" in asked.text
    assert "Yes, send it again" in asked.text and reminder(tomorrow_visit).status == "unknown"
    import tasks

    tasks.app = app  # the sweep that hands it out runs in this process
    try:
        answer = client.post(url, data={"csrf_token": csrf_token(asked.text), "ask": ""},
                             follow_redirects=True)
    finally:
        tasks.app = None
    assert "Queued again" in answer.text and reminder(tomorrow_visit).status == "queued"


def test_a_worker_whose_lease_was_taken_back_does_not_send(ctx, inbox, tomorrow_visit):
    """A slow worker and the one that replaced it: only one of them gets to the server."""
    sweep()
    slow = notices._claim(Reminder, reminder(tomorrow_visit), utc_now())
    sweep(slow.due_at)  # the lease ran out: queued again
    assert send_reminder(tomorrow_visit.id) == "sent"
    with pytest.raises(notices.Abandoned):
        notices._handing_over(Reminder, slow)
    assert len(inbox.messages) == 1


def test_a_slow_answer_to_the_data_is_waited_for(ctx, slow_smtp, tomorrow_visit):
    """RFC 5321 allows ten minutes for the answer to the end of the data: a server that takes
    seconds gets the message once, and the reminder is sent."""
    server = slow_smtp(delay=2.5)
    ctx.config["SMTP_TIMEOUT"] = 600
    sweep()
    assert send_reminder(tomorrow_visit.id) == "sent"
    assert len(server.messages) == 1


def test_a_lost_answer_to_the_data_is_unknown_and_not_sent_again(ctx, slow_smtp,
                                                               tomorrow_visit):
    """The server stored the message, but answered after the timeout: the outcome is unknown,
    and no sweep sends it again."""
    server = slow_smtp(delay=2.5)
    ctx.config["SMTP_TIMEOUT"] = 1
    sweep()
    assert send_reminder(tomorrow_visit.id) == "unknown"
    row = reminder(tomorrow_visit)
    assert row.status == "unknown" and "timed out" in row.last_error
    assert sweep(utc_now() + dt.timedelta(hours=2))["reminders"] == 0
    assert send_reminder(tomorrow_visit.id) == "skipped"
    assert len(server.messages) == 1


def test_without_smtp_mail_goes_to_the_outbox_folder(ctx, tomorrow_visit, tmp_path):
    ctx.config["SMTP_HOST"] = ""
    sweep()
    assert send_reminder(tomorrow_visit.id) == "sent"
    [eml] = list((tmp_path / "instance" / "outbox").glob("*.eml"))
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["To"] == "pat1@test.example" and "Reminder" in message["Subject"]


def test_a_patient_without_email_is_a_visible_failure(ctx, inbox, tomorrow_visit):
    User.update(email=None).where(User.id == tomorrow_visit.patient.user_id).execute()
    sweep()
    assert send_reminder(tomorrow_visit.id) == "failed"
    assert "no email" in Reminder.get().last_error and inbox.messages == []


def test_the_admin_jobs_page_shows_failures_and_tries_again_now(client, auth, app, inbox,
                                                                tomorrow_visit):
    app.config.update(REMINDER_DAYS_AHEAD=2)
    with app.app_context():
        sweep()
        User.update(email=None).where(User.id == tomorrow_visit.patient.user_id).execute()
        send_reminder(tomorrow_visit.id)
    auth.login("admin")
    page = client.get("/admin/jobs")
    assert page.status_code == 200 and "no email address" in page.text
    assert '<tr class="failed">' in page.text and "retrying at" in page.text
    assert "Try again now" in page.text
    User.update(email="pat1@test.example").where(
        User.id == tomorrow_visit.patient.user_id).execute()
    row = Reminder.get()
    url = f"/admin/jobs/reminders/{row.id}/retry"
    assert client.post(url).status_code == 400  # no CSRF token
    import tasks

    tasks.huey.immediate, tasks.app = True, app  # the queue runs the task at once
    try:
        answer = client.post(url, data={"csrf_token": csrf_token(page.text)},
                             follow_redirects=True)
    finally:
        tasks.huey.immediate, tasks.app = False, None
    assert answer.status_code == 200 and "Queued again" in answer.text
    assert Reminder.get().status == "sent" and len(inbox.messages) == 1
    assert client.post(url, data={"csrf_token": csrf_token(page.text)},
                       follow_redirects=True).text.count("cannot be tried again") == 1
    assert client.post("/admin/jobs/reminders/999999/retry",
                       data={"csrf_token": csrf_token(page.text)}).status_code == 404
    assert client.post("/admin/jobs/nonsense/1/retry",
                       data={"csrf_token": csrf_token(page.text)}).status_code == 404
    auth.logout()
    auth.login("dr.one")
    assert client.get("/admin/jobs").status_code == 403


# --- monthly reports ----------------------------------------------------------------------------

def test_monthly_report_mail_with_the_pdf_goes_once(ctx, inbox, people, frozen_clock):
    doctor = people.doctor("dr.one")
    first = dt.date(2026, 10, 1)
    Appointment.create(patient=people.patient("pat.one"), doctor=doctor, date=first,
                       time=dt.time(9), status="completed", reason="x")
    frozen_clock.move_to(dt.datetime(2026, 11, 1, 9, tzinfo=UTC))
    assert sweep()["reports"] == 2  # both active doctors
    assert send_monthly_report(doctor.id, first) == "sent"
    assert send_monthly_report(doctor.id, first) == "skipped"
    [message] = inbox.messages
    assert message["X-Envelope-To"] == "one@test.example"
    assert "October 2026" in message["Subject"]
    html = body(message, "html")
    assert "Completed" in html and "<td>1</td>" in html
    [pdf] = list(message.iter_attachments())
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_content().startswith(b"%PDF")
    row = ReportSend.get(ReportSend.doctor == doctor.id)
    assert row.status == "sent" and row.period == "2026-10"
    assert message["Message-ID"].strip() == row.message_id


def test_the_sweep_hands_what_is_due_to_the_queue_and_the_queue_sends_it(app, inbox, people,
                                                                        tomorrow_visit):
    import tasks

    tasks.huey.immediate, tasks.app = True, app  # the queue runs each task at once, in-process
    try:
        with app.app_context():
            app.config.update(TIMEZONE="UTC", REMINDER_HOUR=18, REMINDER_DAYS_AHEAD=1)
            day_before = tomorrow_visit.date - dt.timedelta(days=1)
            at_six = dt.datetime.combine(day_before, dt.time(18))

            def run(now: dt.datetime) -> dict:
                return work.sweep(now, tasks.send_reminder, tasks.send_monthly_report,
                                  tasks.export_history)

            # On the 1st to the 7th of a month (some instants of the matrix), last month's
            # reports are due, so the 17:59 run sends them.
            reports_due = 2 if day_before.day <= 7 else 0
            assert run(at_six - MINUTE)["reminders"] == 0
            assert run(at_six) == {"reminders": 1, "reports": 0, "exports": 0, "accounts": 0,
                                   "offers": 0, "recalls": 0, "not handed out": 0}
            assert run(at_six + work.REQUEUE)["reminders"] == 0  # sent: nothing to hand out
    finally:
        tasks.huey.immediate, tasks.app = False, None
    assert sorted(m["X-Envelope-To"] for m in inbox.messages) == sorted(
        ["pat1@test.example"] + ["one@test.example", "two@test.example"] * (reports_due // 2))


def test_an_expired_report_and_a_failed_export_can_be_tried_again_but_not_a_sent_one(
        ctx, people):
    from hms import exporting
    from hms.models import ExportJob

    now = utc_now()
    first = dt.date(2026, 10, 1)
    sweep(dt.datetime(2026, 11, 1, 9))
    report = ReportSend.get(ReportSend.doctor == people.doctor("dr.one").id)
    assert not work.retry("reports", report, now)  # queued: nothing to try again
    ReportSend.update(status="expired").where(ReportSend.id == report.id).execute()
    assert work.retry("reports", ReportSend.get_by_id(report.id), now)
    again = ReportSend.get_by_id(report.id)
    assert again.status == "queued" and again.expires_at >= now + notices.REPORT_WINDOW
    assert send_monthly_report(people.doctor("dr.one").id, first) == "sent"  # to the outbox
    job = exporting.start_export(people.user("pat.one"), people.patient("pat.one"))
    exporting.mark_failed(job.id, "boom")
    failed = ExportJob.get_by_id(job.id)
    assert work.retry("exports", failed, now)
    assert not work.retry("exports", failed, now)  # it changed meanwhile: not twice
    assert ExportJob.get_by_id(job.id).status == "queued"
    assert exporting.run_export(job.id) == "done"
    assert not work.retry("exports", ExportJob.get_by_id(job.id), now)


def _unescape_ics_text(value: str) -> str:
    """A TEXT value read back as a calendar program does, refusing what RFC 5545 forbids."""
    out, chars = [], iter(value)
    for char in chars:
        assert char not in ";,", f"an unescaped {char!r} in {value!r}"
        if char == "\\":
            char = next(chars)
            assert char in "\\;,nN", f"a bad escape \\{char} in {value!r}"
            out.append("\n" if char in "nN" else char)
        else:
            out.append(char)
    return "".join(out)


@pytest.mark.calendar(DEFAULT)
def test_every_text_of_the_calendar_file_is_escaped_and_folded(ctx, people, tomorrow_visit):
    long_name = "Dr Zoë Ångström-Øster, MD; ÜBER\\SPECIAL " + "ß€😀" * 25  # 115 of 120
    Doctor.update(full_name=long_name).where(Doctor.id == tomorrow_visit.doctor_id).execute()
    ctx.config.update(CLINIC_NAME="St Mary's; Ward 3, East", CLINIC_ADDRESS="1 Road\r\nLeeds\rUK")
    reason = "Pain; left arm, since C:\\Monday\nand\r\nworse\rATTENDEE:evil " + "é" * 100
    tomorrow_visit.reason = reason
    tomorrow_visit.save()
    data = ics(Appointment.get_by_id(tomorrow_visit.id))

    assert data.endswith(b"\r\n")
    physical = data[:-2].split(b"\r\n")
    for line in physical:
        assert len(line) <= 75, line
        assert b"\r" not in line and b"\n" not in line
        line.decode("utf-8")  # folded between characters, never inside one
    logical: list[str] = []
    for line in physical:
        if line.startswith(b" "):
            logical[-1] += line[1:].decode()
        else:
            logical.append(line.decode())
    fields = dict(line.split(":", 1) for line in logical)
    assert not any(name.startswith("ATTENDEE") for name in fields)
    assert _unescape_ics_text(fields["SUMMARY"]) == f"Appointment with {long_name}"
    assert _unescape_ics_text(fields["LOCATION"]) == "St Mary's; Ward 3, East, 1 Road\nLeeds\nUK"
    assert _unescape_ics_text(fields["DESCRIPTION"]) == (
        f"Appointment no. {tomorrow_visit.id}. Pain; left arm, since C:\\Monday\nand\nworse\n"
        "ATTENDEE:evil " + "é" * 100)
    assert len(physical) > len(logical)  # the long ones were folded

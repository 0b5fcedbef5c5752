"""A day that runs itself: automatic no-shows staff can take back, arrival, start and end of
the consultation with the wait shown at the desk, late cancellations, and booking only through
the desk after too many no-shows."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from hms.clock import clinic_now, utc_now
from hms.models import Appointment, AuditLog
from hms.scheduling import starts_at
from hms.visits import mark_no_shows
from instants import DEFAULT, MATRIX
from support import csrf_token

# The run's grace period crosses midnight, and the autumn hour repeats.
pytestmark = pytest.mark.calendar(DEFAULT, *(i for i in MATRIX if i.name in (
    "00:05", "23:55", "fall-back-01:30-second", "spring-forward-03:30")))

HTMX = {"HX-Request": "true"}
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def now(app) -> dt.datetime:
    with app.app_context():
        return clinic_now().replace(second=0, microsecond=0)


def visit_at(people, moment: dt.datetime, patient: str = "pat.one", **values) -> Appointment:
    values.setdefault("doctor", people.doctor("dr.one"))
    return Appointment.create(patient=people.patient(patient), date=moment.date(),
                              time=moment.time(), reason="Check-up", **values)


def post_status(client, appt, action, **headers):
    token = csrf_token(client.get("/", follow_redirects=True).text)
    return client.post(f"/appointments/{appt.id}/status", headers=headers,
                       data={"csrf_token": token, "action": action})


def row_of(page: str, appt) -> str:
    return re.search(rf'<tr id="appt-{appt.id}".*?</tr>', page, re.S)[0]


def at_start_plus(app, frozen_clock, appt, minutes: int) -> dt.datetime:
    """Move the clock to `minutes` after the appointment starts; return that instant (UTC)."""
    with app.app_context():
        moment = starts_at(appt) + minutes * MINUTE
    frozen_clock.move_to(moment.replace(tzinfo=dt.UTC))
    return moment


def test_booked_appointments_not_checked_in_after_the_grace_become_no_shows_once(
        app, people, now, frozen_clock):
    missed = visit_at(people, now.replace(hour=0, minute=0))
    arrived = visit_at(people, now.replace(hour=0, minute=0), patient="pat.two",
                       status="checked_in", doctor=people.doctor("dr.two"))
    with app.app_context():
        assert mark_no_shows(at_start_plus(app, frozen_clock, missed, 29)) == 0  # in its grace
        assert mark_no_shows(at_start_plus(app, frozen_clock, missed, 30)) == 1
        assert mark_no_shows(utc_now()) == 0  # a second run, or a second worker: once
    marked = Appointment.get_by_id(missed.id)
    assert marked.status == "no_show" and marked.no_show_auto
    assert Appointment.get_by_id(arrived.id).status == "checked_in"


def test_staff_take_an_automatic_no_show_back_the_same_day_and_the_run_leaves_it(
        app, client, auth, people, now, frozen_clock):
    missed = visit_at(people, now.replace(hour=0, minute=0))
    with app.app_context():
        mark_no_shows(at_start_plus(app, frozen_clock, missed, 40))
    auth.login("desk")
    queue = client.get("/desk/").text
    assert '<span class="tag auto">automatic</span>' in row_of(queue, missed)
    assert 'value="undo_no_show"' in row_of(queue, missed)
    undone = post_status(client, missed, "undo_no_show", **HTMX)
    assert undone.status_code == 200 and "no-show taken back" in undone.text
    back = Appointment.get_by_id(missed.id)
    assert back.status == "booked" and not back.no_show_auto
    assert back.no_show_undone_at == utc_now()
    with app.app_context():
        assert mark_no_shows(utc_now() + 60 * MINUTE) == 0  # never marked again
    assert post_status(client, missed, "check_in").status_code == 303  # they did come
    assert Appointment.get_by_id(missed.id).status == "checked_in"
    assert [a.action for a in AuditLog.select().order_by(AuditLog.id)] == [
        "status:undo_no_show", "status:checked_in"]


def test_a_no_show_cannot_be_taken_back_on_a_later_day(app, client, auth, people, now):
    """Staff take a no-show back on its day; one the day's run marked after midnight (a visit
    late in the evening), the day after too. Never later."""
    marked_by_hand = visit_at(people, now - dt.timedelta(days=1), status="no_show")
    marked_last_night = visit_at(
        people, dt.datetime.combine(now.date() - dt.timedelta(days=1), dt.time(23, 30)),
        patient="pat.two", status="no_show", no_show_auto=True)
    long_ago = visit_at(people, now - dt.timedelta(days=2), status="no_show", no_show_auto=True)
    auth.login("desk")
    for appt in (marked_by_hand, long_ago):
        refused = post_status(client, appt, "undo_no_show", **HTMX)
        assert refused.status_code == 409
        assert "on the day of the appointment only" in refused.text
        assert Appointment.get_by_id(appt.id).status == "no_show"
    assert post_status(client, marked_last_night, "undo_no_show", **HTMX).status_code == 200
    assert Appointment.get_by_id(marked_last_night.id).status == "booked"
    auth.logout()
    auth.login("pat.one")
    assert post_status(client, marked_by_hand, "undo_no_show").status_code == 403


def test_arrival_start_and_end_are_recorded_and_the_desk_sees_the_wait(
        app, client, auth, people, now, frozen_clock):
    appt = visit_at(people, now.replace(hour=0, minute=0))
    at_start_plus(app, frozen_clock, appt, 5)  # the day has all its hours ahead
    auth.login("desk")
    assert post_status(client, appt, "check_in").status_code == 303
    arrived = utc_now()
    assert Appointment.get_by_id(appt.id).checked_in_at == arrived
    frozen_clock.move_to((arrived + 12 * MINUTE).replace(tzinfo=dt.UTC))
    assert "waiting 12 min" in row_of(client.get("/desk/").text, appt)
    refused = post_status(client, appt, "start", **HTMX)  # the doctor's to start
    assert refused.status_code == 409 and "Your role cannot start" in refused.text
    auth.logout()
    auth.login("dr.one")
    day = client.get("/doctor/").text
    assert 'value="start"' in row_of(day, appt)
    started = post_status(client, appt, "start", **HTMX)
    assert started.status_code == 200 and "Pat One: in with the doctor." in started.text
    assert "with the doctor" in started.text and 'value="start"' not in started.text
    assert Appointment.get_by_id(appt.id).started_at == utc_now()
    again = post_status(client, appt, "start", **HTMX)
    assert again.status_code == 409 and "already started" in again.text
    frozen_clock.move_to((utc_now() + 9 * MINUTE).replace(tzinfo=dt.UTC))
    assert post_status(client, appt, "complete").status_code == 303
    done = Appointment.get_by_id(appt.id)
    assert done.status == "completed" and done.ended_at - done.started_at == 9 * MINUTE
    assert done.started_at - done.checked_in_at == 12 * MINUTE
    detail = client.get(f"/appointments/{appt.id}").text
    assert "Arrived" in detail and "in with the doctor at" in detail


def test_a_consultation_starts_only_after_check_in(app, client, auth, people, now):
    appt = visit_at(people, now.replace(hour=0, minute=0))
    auth.login("dr.one")
    refused = post_status(client, appt, "start", **HTMX)
    assert refused.status_code == 409 and Appointment.get_by_id(appt.id).started_at is None


def test_cancellations_are_classified_by_notice(app, client, auth, people, diary):
    soon = Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                              date=diary, time=dt.time(9), reason="x")
    later = Appointment.create(patient=people.patient("pat.one"),
                               doctor=people.doctor("dr.one"),
                               date=diary + dt.timedelta(days=3), time=dt.time(9), reason="x")
    auth.login("pat.one")
    for appt in (soon, later):
        page = client.get(f"/appointments/{appt.id}")
        assert client.post(f"/appointments/{appt.id}/cancel", data={
            "csrf_token": csrf_token(page.text), "reason": "Away"}).status_code == 303
    with app.app_context():
        soon_notice = starts_at(soon) - utc_now()
    assert Appointment.get_by_id(soon.id).late_cancel == (soon_notice < dt.timedelta(hours=24))
    assert not Appointment.get_by_id(later.id).late_cancel
    detail = client.get(f"/appointments/{soon.id}").text
    assert ("Late: less than 24 hours before" in detail) == (soon_notice < dt.timedelta(hours=24))


def test_after_three_no_shows_a_patient_books_only_through_the_desk(
        app, client, auth, people, diary, now):
    patient = people.patient("pat.one")
    for n in range(3):
        Appointment.create(patient=patient, doctor=people.doctor("dr.two"), time=dt.time(9),
                           date=now.date() - dt.timedelta(days=20 + n), status="no_show")
    slot = f"{diary.isoformat()}T09:00"
    auth.login("pat.one")
    assert "booked with you through the front desk" in client.get("/me/").text
    page = client.get(f"/appointments/book/{people.doctor('dr.one').id}?slot={slot}")
    refused = client.post(f"/appointments/book/{people.doctor('dr.one').id}", data={
        "csrf_token": csrf_token(page.text), "slot": slot, "reason": "Cough"})
    assert refused.status_code == 403 and "through the front desk" in refused.text
    assert Appointment.select().where(Appointment.status == "booked").count() == 0
    auth.logout()
    auth.login("desk")
    desk = client.get(f"/desk/?patient={patient.id}&doctor={people.doctor('dr.one').id}").text
    assert "Books through the desk only: missed 3 appointments" in desk
    booked = client.post("/desk/book", data={
        "csrf_token": csrf_token(desk), "patient_id": patient.id,
        "doctor_id": people.doctor("dr.one").id, "slot": slot, "reason": "Cough"})
    assert booked.status_code == 303
    assert Appointment.get(Appointment.status == "booked").booked_by_id == \
        people.user("desk").id


def test_no_shows_older_than_the_period_do_not_count(app, client, auth, people, diary, now):
    patient = people.patient("pat.one")
    for days_ago in (20, 181, 190):
        Appointment.create(patient=patient, doctor=people.doctor("dr.two"), time=dt.time(9),
                           date=now.date() - dt.timedelta(days=days_ago), status="no_show")
    auth.login("pat.one")
    slot = f"{diary.isoformat()}T09:00"
    page = client.get(f"/appointments/book/{people.doctor('dr.one').id}?slot={slot}")
    booked = client.post(f"/appointments/book/{people.doctor('dr.one').id}", data={
        "csrf_token": csrf_token(page.text), "slot": slot, "reason": "Cough"})
    assert booked.status_code == 303  # two of the three are more than 180 days old


def test_the_reports_give_waits_consultations_punctuality_and_late_cancellations(
        app, client, auth, people):
    """A month of Dr One's: three visits with their times, an automatic no-show and a late
    cancellation, as the doctor's report, its PDF and the hospital's monthly report count them."""
    from test_exports import pdf_text

    from hms.scheduling import starts_at

    doctor, patient = people.doctor("dr.one"), people.patient("pat.one")
    with app.app_context():
        day = (clinic_now().date().replace(day=1) - dt.timedelta(days=20)).replace(day=10)
    visits = [  # (time, waited, late start, consultation) in minutes
        (dt.time(9), 5, 5, 10), (dt.time(10), 10, 12, 15), (dt.time(11), 20, -3, 30)]
    for time, waited, late, length in visits:
        appt = Appointment(patient=patient, doctor=doctor, date=day, time=time,
                           status="completed")
        with app.app_context():
            start = starts_at(appt) + late * MINUTE
        appt.checked_in_at, appt.started_at = start - waited * MINUTE, start
        appt.ended_at = start + length * MINUTE
        appt.save()
    Appointment.create(patient=patient, doctor=doctor, date=day, time=dt.time(12),
                       status="no_show", no_show_auto=True)
    Appointment.create(patient=patient, doctor=doctor, date=day, time=dt.time(13),
                       status="cancelled", late_cancel=True)
    auth.login("dr.one")
    page = client.get(f"/doctor/report?period=month&start={day.isoformat()}")
    assert page.status_code == 200
    figures = re.sub(r"<[^>]+>", " ", page.text)
    for expected in ("10 min Median wait", "15 min Median consultation",
                     "66.7% Started on time", "20.0% No-show rate",  # (the tiles above)
                     "Late cancellations 1", "No-shows 1 (1 marked automatically)"):
        assert " ".join(expected.split()) in " ".join(figures.split()), expected
    pdf = client.get(f"/doctor/report.pdf?period=month&start={day.isoformat()}")
    text = " ".join(pdf_text(pdf.data).split())
    assert "Median wait" in text and "Late cancellations 1" in text
    auth.logout()
    auth.login("admin")
    monthly = client.get(f"/admin/reports/monthly?month={day:%Y-%m}").text
    row = re.search(r"<tr><td>Dr Ada One</td>.*?</tr>", monthly[monthly.index(
        "No-shows, late cancellations and overbooking by doctor"):])[0]
    assert re.sub(r"<[^>]+>", " ", row).split() == ["Dr", "Ada", "One", "4", "1", "20.0%",
                                                    "1", "0"]

"""One-click replies: a reminder's signed links confirm or cancel its appointment without a
login, until it starts; cancelling asks for a reason and keeps to the cutoff."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from hms import links
from hms.clock import clinic_now, utc_now
from hms.models import Appointment
from hms.notices import send_reminder
from hms.scheduling import reschedule_appointment, starts_at
from instants import DEFAULT, MATRIX
from support import csrf_token

pytestmark = pytest.mark.calendar(DEFAULT, *(i for i in MATRIX if i.name in (
    "23:55", "fall-back-01:30-first", "spring-forward-03:30")))


@pytest.fixture
def tomorrow_visit(people, diary):
    return Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                              date=diary, time=dt.time(11), reason="Check-up")


def reply_path(app, appt, action: str) -> str:
    with app.app_context():
        return re.sub(r"^https?://[^/]+", "", links.reply_url(appt.id, action))


def test_the_reminder_carries_both_links_and_the_confirm_link_marks_the_appointment(
        app, client, people, tomorrow_visit, inbox):
    from hms.models import Reminder

    with app.app_context():
        Reminder.create(appointment=tomorrow_visit, due_at=utc_now(),
                        expires_at=starts_at(tomorrow_visit), message_id="<r@hms>")
        assert send_reminder(tomorrow_visit.id) == "sent"
    [message] = inbox.messages
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    confirm = re.search(r"https?://[^/\s]+(/reply/\d+/confirm/\w+)", text)[1]
    cancel = re.search(r"https?://[^/\s]+(/reply/\d+/cancel/\w+)", text)[1]
    assert confirm in html and cancel in html
    page = client.get(confirm)  # opening it, as a mail scanner would, changes nothing
    assert page.status_code == 200 and "Yes, I will come" in page.text
    assert Appointment.get_by_id(tomorrow_visit.id).confirmed_at is None
    done = client.post(confirm, data={"csrf_token": csrf_token(page.text)})
    assert done.status_code == 200 and "the clinic knows you are coming" in done.text
    assert Appointment.get_by_id(tomorrow_visit.id).confirmed_at == utc_now()
    again = client.post(confirm, data={"csrf_token": csrf_token(page.text)})
    assert again.status_code == 200  # confirming twice is harmless
    assert Appointment.get_by_id(tomorrow_visit.id).confirmed_at == utc_now()


def test_a_confirmed_appointment_shows_on_the_doctors_day_and_the_desk_queue(
        app, client, auth, people):
    with app.app_context():
        today = clinic_now().date()
    appt = Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                              date=today, time=dt.time(0), reason="Check-up",
                              confirmed_at=utc_now())  # confirmed from yesterday's reminder
    auth.login("dr.one")
    row = re.search(rf'<tr id="appt-{appt.id}".*?</tr>', client.get("/doctor/").text, re.S)[0]
    assert '<span class="tag confirmed">confirmed</span>' in row
    auth.logout()
    auth.login("desk")
    row = re.search(rf'<tr id="appt-{appt.id}".*?</tr>', client.get("/desk/").text, re.S)[0]
    assert '<span class="tag confirmed">confirmed</span>' in row


def test_the_cancel_link_asks_for_a_reason_then_cancels(app, client, people, tomorrow_visit):
    path = reply_path(app, tomorrow_visit, "cancel")
    page = client.get(path)
    assert page.status_code == 200 and "Why can you not come?" in page.text
    blank = client.post(path, data={"csrf_token": csrf_token(page.text), "reason": "  "})
    assert blank.status_code == 422 and "Tell the clinic briefly why" in blank.text
    assert 'aria-invalid="true"' in blank.text
    assert Appointment.get_by_id(tomorrow_visit.id).status == "booked"
    done = client.post(path, data={"csrf_token": csrf_token(page.text), "reason": "Flu"})
    assert done.status_code == 200 and "Your appointment is cancelled" in done.text
    cancelled = Appointment.get_by_id(tomorrow_visit.id)
    assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "Flu")
    assert cancelled.cancelled_by_id == people.user("pat.one").id
    with app.app_context():
        late = starts_at(cancelled) - utc_now() < dt.timedelta(hours=24)
    assert cancelled.late_cancel == late  # by the notice it gave
    after = client.get(path)
    assert after.status_code == 200 and "This appointment is cancelled" in after.text


def test_cancelling_online_ends_at_the_cutoff(app, client, people, tomorrow_visit,
                                             frozen_clock):
    path = reply_path(app, tomorrow_visit, "cancel")
    with app.app_context():
        start = starts_at(tomorrow_visit)
    frozen_clock.move_to((start - dt.timedelta(hours=1)).replace(tzinfo=dt.UTC))
    page = client.get(path)
    assert page.status_code == 200 and "too late to cancel online" in page.text
    token = csrf_token(client.get("/login").text)  # the page offers no form now
    refused = client.post(path, data={"csrf_token": token, "reason": "Flu"})
    assert refused.status_code == 409 and "too late to cancel online" in refused.text
    assert Appointment.get_by_id(tomorrow_visit.id).status == "booked"


def test_the_links_expire_when_the_appointment_starts(app, client, tomorrow_visit,
                                                      frozen_clock):
    confirm = reply_path(app, tomorrow_visit, "confirm")
    with app.app_context():
        start = starts_at(tomorrow_visit)
    frozen_clock.move_to(start.replace(tzinfo=dt.UTC))
    gone = client.get(confirm)
    assert gone.status_code == 410 and "the appointment has started" in gone.text
    assert client.post(confirm, data={}).status_code in (400, 410)
    assert Appointment.get_by_id(tomorrow_visit.id).confirmed_at is None


def test_a_wrong_or_borrowed_signature_is_not_found(app, client, people, tomorrow_visit, diary):
    confirm = reply_path(app, tomorrow_visit, "confirm")
    other = Appointment.create(patient=people.patient("pat.two"), doctor=people.doctor("dr.one"),
                               date=diary, time=dt.time(10), reason="x")
    sig = confirm.rsplit("/", 1)[1]
    assert client.get(f"/reply/{other.id}/confirm/{sig}").status_code == 404  # another's
    assert client.get(f"/reply/{tomorrow_visit.id}/cancel/{sig}").status_code == 404  # action
    assert client.get(confirm[:-4] + "aaaa").status_code == 404


def test_a_moved_appointment_points_to_its_new_time(app, client, people, tomorrow_visit, diary):
    path = reply_path(app, tomorrow_visit, "confirm")
    with app.app_context():
        reschedule_appointment(tomorrow_visit, diary, dt.time(9, 30), people.user("pat.one"))
    page = client.get(path)
    assert page.status_code == 200 and "This appointment was moved to" in page.text
    assert "Yes, I will come" not in page.text


def test_a_signature_that_is_not_ascii_is_not_found(client, tomorrow_visit):
    assert client.get(f"/reply/{tomorrow_visit.id}/confirm/%C3%A9t%C3%A9").status_code == 404
    assert client.get("/offers/1/%C3%A9t%C3%A9").status_code == 404


def test_a_link_of_an_appointment_moved_twice_points_to_where_it_is_now(
        app, client, people, tomorrow_visit, diary, frozen_clock):
    path = reply_path(app, tomorrow_visit, "confirm")
    with app.app_context():
        middle = reschedule_appointment(tomorrow_visit, diary, dt.time(9, 30),
                                        people.user("pat.one"))
        now = reschedule_appointment(middle, diary + dt.timedelta(days=2), dt.time(10),
                                     people.user("pat.one"))
        first_start = starts_at(tomorrow_visit)
    frozen_clock.move_to((first_start + dt.timedelta(minutes=5)).replace(tzinfo=dt.UTC))
    page = client.get(path)  # the first time has passed; the appointment itself has not
    assert page.status_code == 200
    assert f"moved to {now.date:%A %-d %B} at 10:00" in page.text


def test_the_signed_links_buttons_need_the_csrf_token(app, client, tomorrow_visit):
    """The links are public, their buttons are not free for other sites to press."""
    for action in ("confirm", "cancel"):
        path = reply_path(app, tomorrow_visit, action)
        assert client.post(path, data={"reason": "x"}).status_code == 400
    assert Appointment.get_by_id(tomorrow_visit.id).status == "booked"
    assert Appointment.get_by_id(tomorrow_visit.id).confirmed_at is None

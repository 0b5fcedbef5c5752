"""The patient's side: directory, slot picker, booking, my appointments, reschedule, cancel."""

from __future__ import annotations

import datetime as dt
import gzip

import pytest

from hms.models import Appointment, User
from hms.scheduling import horizon_end
from support import csrf_token, statements

# Date-sensitive: run at every instant of the calendar matrix (tests/instants.py).
pytestmark = pytest.mark.calendar

HTMX = {"HX-Request": "true"}


@pytest.fixture
def patient_client(client, auth):
    auth.login("pat.one")
    return client


def key(day: dt.date, hhmm: str) -> str:
    return f"{day.isoformat()}T{hhmm}"


def book(client, doctor_id: int, slot: str, reason: str = "Chest pain", **headers):
    page = client.get(f"/appointments/book/{doctor_id}?slot={slot}")
    return client.post(f"/appointments/book/{doctor_id}", headers=headers, data={
        "csrf_token": csrf_token(page.text), "slot": slot, "reason": reason})


# --- directory and picker ---------------------------------------------------------------------

def test_directory_lists_active_doctors_filtered_and_searched(patient_client, people):
    page = patient_client.get("/doctors/")
    assert "Dr Ada One" in page.text and "Dr Bo Two" in page.text
    found = patient_client.get("/doctors/?q=ada", headers=HTMX)
    assert found.text.startswith('<section id="doctor-list"') and "<html" not in found.text
    assert "Dr Ada One" in found.text and "Dr Bo Two" not in found.text
    dept = people.doctor("dr.two").department_id
    assert "Dr Ada One" not in patient_client.get(f"/doctors/?department={dept}").text


def test_deactivated_doctor_vanishes_from_directory_and_booking(patient_client, people, diary):
    doctor = people.doctor("dr.one")
    User.update(is_active=False).where(User.id == doctor.user_id).execute()
    assert "Dr Ada One" not in patient_client.get("/doctors/").text
    assert patient_client.get(f"/doctors/{doctor.id}").status_code == 404
    page = patient_client.get("/doctors/")
    response = patient_client.post(f"/appointments/book/{doctor.id}", data={
        "csrf_token": csrf_token(page.text), "slot": key(diary, "09:00"), "reason": "x"})
    assert response.status_code == 404
    assert Appointment.select().count() == 0


def test_doctor_page_shows_soonest_free_times_and_the_picker(patient_client, people, diary):
    doctor = people.doctor("dr.one")
    page = patient_client.get(f"/doctors/{doctor.id}?date={diary.isoformat()}")
    assert page.status_code == 200
    assert f"/appointments/book/{doctor.id}?slot={key(diary, '09:00')}" in page.text
    assert "Dr Ada One" in page.text and "Cardiology" in page.text


def test_the_picker_opens_on_the_first_day_with_a_free_time(patient_client, people, diary):
    """Today has nothing free (the diary starts tomorrow): the page opens on tomorrow's times,
    not on "No free times today"."""
    page = patient_client.get(f"/doctors/{people.doctor('dr.one').id}").text
    assert f'<option value="{diary.isoformat()}" selected>' in page
    assert "No free times" not in page and f"Free times on {diary:%A %-d %B}" in page


def test_picker_fragment_lists_only_free_times_and_stays_small(patient_client, people, diary):
    doctor = people.doctor("dr.one")
    Appointment.create(patient=people.patient("pat.two"), doctor=doctor, date=diary,
                       time=dt.time(9, 30), reason="x")
    response = patient_client.get(f"/doctors/{doctor.id}?date={diary.isoformat()}",
                                  headers={**HTMX, "Accept-Encoding": "gzip"})
    html = gzip.decompress(response.data).decode()
    assert html.startswith('<section id="slot-picker"')
    assert ">09:00<" in html and ">09:30<" not in html and ">10:00<" in html
    assert len(response.data) < 2048  # the picker swap stays under 2 KB compressed
    assert "HX-Request" in response.headers["Vary"]


def test_the_picker_swap_does_not_look_up_the_soonest_times_it_never_shows(
        app, patient_client, people, diary):
    """The doctor's page lists the soonest free times across the whole horizon; a day picked
    in its slot picker swaps the picker alone, so it looks at that day only (issue 15)."""
    url = f"/doctors/{people.doctor('dr.one').id}?date={diary.isoformat()}"
    with app.app_context():
        horizon = repr(horizon_end())
    patient_client.get(url)  # the free times are cached from here on
    with statements() as page:
        assert "Soonest" in patient_client.get(url).text
    with statements() as swap:
        assert ">09:00<" in patient_client.get(url, headers=HTMX).text
    assert any(horizon in sql for sql in page)  # the patient's bookings up to the horizon
    assert not any(horizon in sql for sql in swap)


@pytest.mark.parametrize("date", ["2001-01-01", "2999-12-31", "soon"])
def test_picker_refuses_days_outside_the_horizon(patient_client, people, date):
    doctor = people.doctor("dr.one")
    assert patient_client.get(f"/doctors/{doctor.id}?date={date}").status_code == 404


def test_doctors_cannot_use_the_directory(client, auth, people):
    auth.login("dr.one")
    assert client.get("/doctors/").status_code == 403
    assert client.get(f"/doctors/{people.doctor('dr.two').id}").status_code == 403


# --- booking ----------------------------------------------------------------------------------

def test_booking_creates_the_appointment_and_shows_a_confirmation(patient_client, people, diary):
    doctor = people.doctor("dr.one")
    response = book(patient_client, doctor.id, key(diary, "09:00"))
    assert response.status_code == 303
    appt = Appointment.get(Appointment.patient == people.patient("pat.one"))
    assert (appt.doctor.id, appt.date, appt.time, appt.reason, appt.status) == \
        (doctor.id, diary, dt.time(9), "Chest pain", "booked")
    confirmation = patient_client.get(response.headers["Location"])
    assert "Booked:" in confirmation.text and "Chest pain" in confirmation.text


def test_booking_needs_a_reason_and_keeps_the_slot(patient_client, people, diary):
    response = book(patient_client, people.doctor("dr.one").id, key(diary, "09:00"), reason=" ")
    assert response.status_code == 422
    assert 'id="reason-error"' in response.text
    assert f'value="{key(diary, "09:00")}"' in response.text
    assert Appointment.select().count() == 0


def test_a_taken_slot_offers_the_nearest_free_ones_and_keeps_the_reason(
        patient_client, people, diary):
    doctor = people.doctor("dr.one")
    Appointment.create(patient=people.patient("pat.two"), doctor=doctor, date=diary,
                       time=dt.time(10), reason="x")
    response = book(patient_client, doctor.id, key(diary, "10:00"), reason="Dizzy spells")
    assert response.status_code == 409
    assert "that slot was just taken" in response.text.replace("&#39;", "'").lower()
    assert f'value="{key(diary, "09:30")}"' in response.text   # a nearest free one, offered
    assert ">Dizzy spells</textarea>" in response.text
    assert Appointment.select().count() == 1


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_after_a_taken_slot_the_reason_is_in_no_url_and_the_booking_completes(
        patient_client, people, diary, headers):
    doctor = people.doctor("dr.one")
    Appointment.create(patient=people.patient("pat.two"), doctor=doctor, date=diary,
                       time=dt.time(10), reason="x")
    response = book(patient_client, doctor.id, key(diary, "10:00"), reason="Dizzy spells",
                    **headers)
    assert response.status_code == 409
    assert not [u for u in urls_in(response) if "dizzy" in u.lower()]
    response = patient_client.post(f"/appointments/book/{doctor.id}", headers=headers, data={
        "csrf_token": csrf_token(response.text), "slot": key(diary, "09:30"),
        "reason": "Dizzy spells"})
    # Plain: a 303 to the appointment; htmx: the appointment itself, with its address.
    assert response.status_code == (200 if headers else 303)
    assert not [u for u in urls_in(response) if "dizzy" in u.lower()]
    assert Appointment.get(Appointment.time == dt.time(9, 30)).reason == "Dizzy spells"


def test_a_reason_in_the_booking_url_is_not_read(patient_client, people, diary):
    doctor = people.doctor("dr.one")
    page = patient_client.get(f"/appointments/book/{doctor.id}",
                              query_string={"slot": key(diary, "09:00"), "reason": "Secret"})
    assert page.status_code == 200 and "Secret" not in page.text


def urls_in(response) -> list[str]:
    """Every URL a response hands the browser: its links, forms, htmx requests and headers."""
    import re

    found = re.findall(r'(?:href|action|src|hx-get|hx-post|hx-push-url)="([^"]*)"',
                       response.text)
    return found + [response.headers.get(h, "") for h in (
        "Location", "HX-Push-Url", "HX-Location", "HX-Redirect", "HX-Replace-Url")]


def test_taken_slot_refusal_is_a_fragment_for_htmx(patient_client, people, diary):
    doctor = people.doctor("dr.one")
    Appointment.create(patient=people.patient("pat.two"), doctor=doctor, date=diary,
                       time=dt.time(10), reason="x")
    response = book(patient_client, doctor.id, key(diary, "10:00"), **HTMX)
    assert response.status_code == 409 and response.text.startswith('<form id="book-form"')


@pytest.mark.parametrize("username", ["dr.one", "desk", "admin"])
def test_only_patients_book_here(client, auth, people, diary, username):
    auth.login(username)
    page = client.get("/", follow_redirects=True)
    response = client.post(f"/appointments/book/{people.doctor('dr.one').id}", data={
        "csrf_token": csrf_token(page.text), "slot": key(diary, "09:00"), "reason": "x"})
    assert response.status_code == 403
    assert Appointment.select().count() == 0


def test_booking_without_csrf_is_refused(patient_client, people, diary):
    response = patient_client.post(f"/appointments/book/{people.doctor('dr.one').id}",
                                   data={"slot": key(diary, "09:00"), "reason": "x"})
    assert response.status_code == 400 and Appointment.select().count() == 0


def test_booking_page_is_get_post_only(patient_client, people):
    doctor = people.doctor("dr.one")
    assert patient_client.delete(f"/appointments/book/{doctor.id}").status_code == 405


# --- my appointments, reschedule, cancel ------------------------------------------------------

@pytest.fixture
def booked(people, diary):
    """Pat One's 09:00 appointment with Dr One, tomorrow."""
    return Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                              date=diary, time=dt.time(9), reason="Cough")


def test_my_appointments_lists_upcoming_and_past(patient_client, people, booked):
    Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.two"),
                       date=booked.date - dt.timedelta(days=10), time=dt.time(9),
                       status="completed", reason="Old visit")
    page = patient_client.get("/appointments/").text
    upcoming, past = page.split("Past and cancelled")
    assert booked.date.strftime("%a %-d %b %Y") in upcoming
    assert "Dr Bo Two" in past and "Dr Bo Two" not in upcoming


def test_another_patients_appointment_is_404_everywhere(client, auth, booked):
    auth.login("pat.two")
    token = csrf_token(client.get("/appointments/").text)
    assert client.get(f"/appointments/{booked.id}").status_code == 404
    assert client.get(f"/appointments/{booked.id}/reschedule").status_code == 404
    assert client.post(f"/appointments/{booked.id}/cancel",
                       data={"csrf_token": token}).status_code == 404
    assert Appointment.get_by_id(booked.id).status == "booked"


def test_reschedule_moves_the_appointment(patient_client, booked, diary):
    page = patient_client.get(f"/appointments/{booked.id}/reschedule?slot={key(diary, '11:00')}")
    assert "Move to" in page.text
    response = patient_client.post(f"/appointments/{booked.id}/reschedule", data={
        "csrf_token": csrf_token(page.text), "slot": key(diary, "11:00")})
    assert response.status_code == 303
    new = Appointment.get(Appointment.rescheduled_from == booked.id)
    assert (new.time, new.status) == (dt.time(11), "booked")
    assert Appointment.get_by_id(booked.id).status == "rescheduled"
    assert "Moved from" in patient_client.get(response.headers["Location"]).text


def test_reschedule_into_a_taken_slot_is_refused(patient_client, people, booked, diary):
    Appointment.create(patient=people.patient("pat.two"), doctor=booked.doctor, date=diary,
                       time=dt.time(11), reason="x")
    page = patient_client.get(f"/appointments/{booked.id}/reschedule")
    response = patient_client.post(f"/appointments/{booked.id}/reschedule", data={
        "csrf_token": csrf_token(page.text), "slot": key(diary, "11:00")})
    assert response.status_code == 409 and "just taken" in response.text
    assert Appointment.get_by_id(booked.id).status == "booked"


def test_reschedule_picker_fragment_for_htmx(patient_client, booked, diary):
    response = patient_client.get(
        f"/appointments/{booked.id}/reschedule?date={diary.isoformat()}", headers=HTMX)
    assert response.text.startswith('<section id="slot-picker"')
    assert f"/appointments/{booked.id}/reschedule?slot={key(diary, '10:00')}" in response.text


def test_cancel_frees_the_slot_and_records_who_and_why(patient_client, people, booked):
    page = patient_client.get(f"/appointments/{booked.id}")
    assert "Cancel appointment" in page.text and "Reschedule" in page.text
    response = patient_client.post(f"/appointments/{booked.id}/cancel", data={
        "csrf_token": csrf_token(page.text), "reason": "Feeling better"})
    assert response.status_code == 303
    appt = Appointment.get_by_id(booked.id)
    assert (appt.status, appt.cancel_reason, appt.cancelled_by.username) == \
        ("cancelled", "Feeling better", "pat.one")
    again = patient_client.post(f"/appointments/{booked.id}/cancel",
                                data={"csrf_token": csrf_token(page.text)})
    assert again.status_code == 409 and "cannot be cancelled" in again.text
    detail = patient_client.get(f"/appointments/{booked.id}").text
    assert "Cancel appointment" not in detail and "Reschedule" not in detail
    # When it was cancelled, in clinic time with the zone named: never UTC beside clinic times.
    # In the hour the clocks go back, the zone tells the two passes apart.
    from hms.clock import clinic_zone

    with patient_client.application.app_context():
        local = appt.cancelled_at.replace(tzinfo=dt.UTC).astimezone(clinic_zone())
    assert f"<dd>{local:%-d %b %Y %H:%M} {local.tzname()} by Pat One</dd>" in detail
    assert "UTC" not in detail


def test_cancel_is_post_only(patient_client, booked):
    assert patient_client.get(f"/appointments/{booked.id}/cancel").status_code == 405


def test_reschedule_picker_opens_on_the_appointments_day(patient_client, booked, diary):
    page = patient_client.get(f"/appointments/{booked.id}/reschedule")
    assert f'<option value="{diary.isoformat()}" selected>' in page.text
    assert f"reschedule?slot={key(diary, '10:00')}" in page.text


@pytest.mark.parametrize("slot, message", [
    ("2999-12-31T09:00", "days ahead"),
    ("2001-01-01T09:00", "already passed"),
])
def test_the_confirm_page_says_at_once_when_a_slot_cannot_be_booked(
        patient_client, people, slot, message):
    page = patient_client.get(f"/appointments/book/{people.doctor('dr.one').id}?slot={slot}")
    assert page.status_code == 200 and message in page.text
    assert 'name="reason"' not in page.text


def test_the_confirm_page_offers_the_nearest_when_the_slot_is_already_taken(
        patient_client, people, diary):
    doctor = people.doctor("dr.one")
    Appointment.create(patient=people.patient("pat.two"), doctor=doctor, date=diary,
                       time=dt.time(10), reason="x")
    page = patient_client.get(f"/appointments/book/{doctor.id}?slot={key(diary, '10:00')}")
    assert "just taken" in page.text and f'value="{key(diary, "10:30")}"' in page.text

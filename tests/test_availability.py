"""The doctor's availability screens: week grid, toggles, bulk actions and the weekly plan."""

from __future__ import annotations

import datetime as dt

import pytest

from hms.models import Appointment, DoctorAvailability, WorkingHours
from support import csrf_token

# Date-sensitive: run at every instant of the calendar matrix (tests/instants.py).
pytestmark = pytest.mark.calendar

HTMX = {"HX-Request": "true"}


def _slot(people, day, time):
    return DoctorAvailability.get(doctor=people.doctor("dr.one"), date=day, time_slot=time)


@pytest.fixture
def doctor_client(client, auth):
    auth.login("dr.one")
    return client


def _token(client, diary):
    return csrf_token(client.get(f"/availability/?week={diary.isoformat()}").text)


def test_week_grid_shows_the_doctors_slots(doctor_client, diary):
    page = doctor_client.get(f"/availability/?week={diary.isoformat()}")
    assert page.status_code == 200
    key = f"{diary.isoformat()}T09:00"
    assert f'value="close {key}"' in page.text          # open: the button closes it
    assert f'value="open {diary.isoformat()}T17:00"' in page.text  # never opened: closed


def test_this_weeks_past_days_offer_no_whole_day_buttons(doctor_client):
    """Days gone by cannot be opened or closed: no "Whole day" buttons, and their cells are
    plain text (an aria-label on a bare span is not allowed)."""
    from hms.clock import clinic_today
    from hms.scheduling import week_start

    with doctor_client.application.app_context():
        today = clinic_today()
    page = doctor_client.get("/availability/").text
    monday = week_start(today)
    for offset in range(7):
        day = monday + dt.timedelta(days=offset)
        shown = f'value="close day {day.isoformat()}"' in page
        assert shown == (day >= today), day
    assert '<span class="cell past" aria-label' not in page


@pytest.mark.parametrize("week", ["2001-01-01", "2999-01-01", "not-a-date"])
def test_weeks_outside_this_week_to_the_horizon_are_404(doctor_client, week):
    assert doctor_client.get(f"/availability/?week={week}").status_code == 404


@pytest.mark.parametrize("username", ["pat.one", "desk", "admin"])
def test_only_doctors_have_an_availability_grid(client, auth, username):
    auth.login(username)
    assert client.get("/availability/").status_code == 403
    assert client.get("/availability/plan").status_code == 403


def test_toggle_with_htmx_swaps_one_cell(doctor_client, people, diary):
    token = _token(doctor_client, diary)
    response = doctor_client.post("/availability/slot", headers=HTMX, data={
        "csrf_token": token, "slot": f"close {diary.isoformat()}T09:00"})
    assert response.status_code == 200
    assert response.text.startswith("<button") and 'class="cell closed"' in response.text
    assert "<table" not in response.text
    assert not _slot(people, diary, dt.time(9)).is_available


def test_toggle_without_js_redirects_back_to_the_week(doctor_client, people, diary):
    token = _token(doctor_client, diary)
    response = doctor_client.post("/availability/slot", data={
        "csrf_token": token, "slot": f"open {diary.isoformat()}T15:00"})
    assert response.status_code == 303
    monday = diary - dt.timedelta(days=diary.weekday())
    assert response.headers["Location"].endswith(f"week={monday.isoformat()}")
    assert _slot(people, diary, dt.time(15)).is_available


def test_closing_a_booked_slot_is_refused_with_a_message(doctor_client, people, diary):
    Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                       date=diary, time=dt.time(9), reason="x")
    token = _token(doctor_client, diary)
    response = doctor_client.post("/availability/slot", headers=HTMX, data={
        "csrf_token": token, "slot": f"close {diary.isoformat()}T09:00"})
    assert response.status_code == 409
    assert "holds an appointment" in response.text and 'hx-swap-oob' in response.text
    assert _slot(people, diary, dt.time(9)).is_available
    plain = doctor_client.post("/availability/slot", follow_redirects=True, data={
        "csrf_token": token, "slot": f"close {diary.isoformat()}T09:00"})
    assert "holds an appointment" in plain.text


@pytest.mark.parametrize("slot", ["close yesterday", "shut 2030-01-01T09:00", "",
                                  "open 2030-01-01", "open 2030-01-01T09:00:30",
                                  "open 2030-01-01T09:00+05:00"])
def test_malformed_toggle_is_400(doctor_client, diary, slot):
    token = _token(doctor_client, diary)
    assert doctor_client.post("/availability/slot", data={
        "csrf_token": token, "slot": slot}).status_code == 400


def test_bulk_close_mornings_keeps_booked_slots_and_says_so(doctor_client, people, diary):
    Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                       date=diary, time=dt.time(10), reason="x")
    monday = diary - dt.timedelta(days=diary.weekday())
    token = _token(doctor_client, diary)
    response = doctor_client.post("/availability/bulk", headers=HTMX, data={
        "csrf_token": token, "week": monday.isoformat(), "action": "close mornings"})
    assert response.status_code == 200 and response.text.startswith('<section id="grid"')
    assert "holds an appointment and was left open" in response.text
    assert _slot(people, diary, dt.time(10)).is_available
    assert not _slot(people, diary, dt.time(9)).is_available


def test_bulk_open_a_day_without_js(doctor_client, people, diary):
    monday = diary - dt.timedelta(days=diary.weekday())
    token = _token(doctor_client, diary)
    response = doctor_client.post("/availability/bulk", data={
        "csrf_token": token, "week": monday.isoformat(),
        "action": f"open day {diary.isoformat()}"}, follow_redirects=True)
    assert response.status_code == 200 and "slots updated" in response.text
    assert _slot(people, diary, dt.time(17, 30)).is_available  # the grid's whole day


def test_bulk_refuses_unknown_actions_and_days_of_other_weeks(doctor_client, diary):
    monday = diary - dt.timedelta(days=diary.weekday())
    token = _token(doctor_client, diary)
    for action in ["delete everything", f"open day {(monday + dt.timedelta(days=9)).isoformat()}"]:
        assert doctor_client.post("/availability/bulk", data={
            "csrf_token": token, "week": monday.isoformat(), "action": action}).status_code == 400


def test_copy_previous_week_repeats_its_pattern(doctor_client, people, diary):
    next_monday = diary - dt.timedelta(days=diary.weekday()) + dt.timedelta(days=7)
    token = _token(doctor_client, diary)
    response = doctor_client.post("/availability/bulk", data={
        "csrf_token": token, "week": next_monday.isoformat(), "action": "copy previous"})
    assert response.status_code == 303
    same_day_next_week = diary + dt.timedelta(days=7)  # beyond the diary fixture's days
    assert _slot(people, same_day_next_week, dt.time(9)).is_available
    assert not DoctorAvailability.select().where(
        DoctorAvailability.date == same_day_next_week, DoctorAvailability.time_slot == dt.time(15),
        DoctorAvailability.is_available == True).exists()  # noqa: E712


def test_weekly_plan_saves_and_opens_slots(doctor_client, people, tomorrow):
    page = doctor_client.get("/availability/plan")
    data = {"csrf_token": csrf_token(page.text)}
    for d in range(5):
        data |= {f"d{d}_start1": "09:00", f"d{d}_end1": "12:00",
                 f"d{d}_start2": "13:00", f"d{d}_end2": "16:00"}
    response = doctor_client.post("/availability/plan", data=data, follow_redirects=True)
    assert response.status_code == 200 and "Weekly plan saved" in response.text
    plan = WorkingHours.select().where(WorkingHours.doctor == people.doctor("dr.one"))
    assert plan.count() == 10
    assert 'value="13:00"' in response.text
    assert DoctorAvailability.select().where(
        DoctorAvailability.time_slot == dt.time(15, 30)).exists()


@pytest.mark.parametrize("fields, message", [
    ({"d0_start1": "12:00", "d0_end1": "09:00"}, "end after it starts"),
    ({"d0_start1": "09:00", "d0_end1": "09:10"}, "at least one slot"),
    ({"d0_start1": "09:10", "d0_end1": "12:00"}, "slot boundary"),
    ({"d0_start1": "09:00+05:00", "d0_end1": "10:00"}, "like 09:00"),
    ({"d0_start1": "09:00"}, "Give both a start and an end time"),
    ({"d0_start1": "09:00", "d0_end1": "12:00", "d0_start2": "11:00", "d0_end2": "14:00"},
     "overlap"),
])
def test_weekly_plan_refuses_bad_periods_beside_the_day(doctor_client, people, fields, message):
    page = doctor_client.get("/availability/plan")
    response = doctor_client.post("/availability/plan",
                                  data={"csrf_token": csrf_token(page.text), **fields})
    assert response.status_code == 422
    assert 'id="d0-error"' in response.text and message in response.text
    assert WorkingHours.select().count() == 0


def test_bulk_counts_only_slots_that_changed_and_sends_its_message_once(
        doctor_client, people, diary):
    Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                       date=diary, time=dt.time(10), reason="x")
    monday = diary - dt.timedelta(days=diary.weekday())
    token = _token(doctor_client, diary)
    data = {"csrf_token": token, "week": monday.isoformat(),
            "action": f"close day {diary.isoformat()}"}
    first = doctor_client.post("/availability/bulk", headers=HTMX, data=data)
    # Six morning slots were open; one holds an appointment.
    assert "5 slots updated. 1 slot holds an appointment" in first.text
    assert first.text.count("slots updated") == 1 and "hx-swap-oob" not in first.text
    again = doctor_client.post("/availability/bulk", headers=HTMX, data=data)
    assert "0 slots updated." in again.text


@pytest.mark.parametrize("when", ["T09:17", "far"])
def test_slots_off_the_grid_or_beyond_the_diary_cannot_be_opened(doctor_client, people, diary,
                                                                 when):
    day = diary + dt.timedelta(days=400) if when == "far" else diary
    time = "09:00" if when == "far" else "09:17"
    token = _token(doctor_client, diary)
    response = doctor_client.post("/availability/slot", headers=HTMX, data={
        "csrf_token": token, "slot": f"open {day.isoformat()}T{time}"})
    assert response.status_code == 409 and "not a slot of the diary" in response.text
    assert not DoctorAvailability.select().where(
        DoctorAvailability.date == day,
        DoctorAvailability.time_slot.in_([dt.time(9, 17), dt.time(9)] if when == "far"
                                         else [dt.time(9, 17)])).exists()

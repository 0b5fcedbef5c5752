"""Daylight saving time in the clinic's zone (Europe/London in tests), as hms/clock.py decides
it: a skipped wall time is never a slot; a repeated one means its first pass, in summer time,
is shown with its zone, and starts, reminds and goes into calendar files at that instant."""

from __future__ import annotations

import datetime as dt

import pytest

from hms.clock import clinic_now, to_clinic
from hms.models import Appointment, DoctorAvailability
from hms.notices import ics, new_reminders, reminder_due, send_reminder
from hms.scheduling import (
    SchedulingError,
    book_appointment,
    cancel_appointment,
    free_slots,
    open_week_from_plan,
    replace_plan,
    set_slot,
    set_slots,
)
from instants import at

SPRING, AUTUMN = dt.date(2027, 3, 28), dt.date(2027, 10, 31)  # both Sundays
NIGHT = [dt.time(h, m) for h in range(4) for m in (0, 30)]  # 00:00 to 03:30
SKIPPED = {dt.time(1), dt.time(1, 30)}


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def week_before(frozen_clock):
    """The clock a week before the change of that test (the default instant is in June)."""
    def move(day: dt.date):
        frozen_clock.move_to(at(day.year, day.month, day.day, 10, 0) - dt.timedelta(days=7))
    return move


def open_night(doctor, day):
    DoctorAvailability.insert_many([{"doctor": doctor.id, "date": day, "time_slot": t}
                                    for t in NIGHT]).execute()


def test_a_weekly_plan_never_opens_the_skipped_spring_hour(ctx, people, week_before):
    week_before(SPRING)
    doctor = people.doctor("dr.one")
    replace_plan(doctor, [(SPRING.weekday(), dt.time(0), dt.time(4))])
    opened = {r.time_slot for r in DoctorAvailability.select().where(
        DoctorAvailability.doctor == doctor, DoctorAvailability.date == SPRING)}
    assert opened == set(NIGHT) - SKIPPED
    autumn = {r.time_slot for r in DoctorAvailability.select().where(
        DoctorAvailability.doctor == doctor, DoctorAvailability.date == AUTUMN)}
    assert autumn == set()  # beyond the horizon from March; the autumn test opens its own
    assert open_week_from_plan(doctor, SPRING, 1) == 0  # nothing more to add


def test_the_skipped_hour_cannot_be_opened_by_hand(ctx, people, week_before):
    week_before(SPRING)
    doctor = people.doctor("dr.one")
    with pytest.raises(SchedulingError, match="clocks go forward"):
        set_slot(doctor, SPRING, dt.time(1, 30), True)
    assert set_slots(doctor, [(SPRING, t) for t in NIGHT], True) == (len(NIGHT) - 2, 0)
    assert not DoctorAvailability.select().where(DoctorAvailability.time_slot.in_(SKIPPED)
                                                 ).exists()
    set_slot(doctor, SPRING, dt.time(1, 30), False)  # closing it is harmless


def test_a_skipped_time_in_the_database_is_never_offered_or_booked(ctx, people, week_before):
    week_before(SPRING)
    doctor, patient = people.doctor("dr.one"), people.patient("pat.one")
    open_night(doctor, SPRING)  # as an import or an older version might have left them
    offered = [t for _, t in free_slots(doctor, SPRING, SPRING)]
    assert offered == [t for t in NIGHT if t not in SKIPPED]
    with pytest.raises(SchedulingError, match="does not happen"):
        book_appointment(patient, doctor, SPRING, dt.time(1, 30), "x", patient.user)
    assert Appointment.select().count() == 0


def test_the_availability_grid_marks_the_skipped_hour(client, auth, people, app, week_before):
    week_before(SPRING)
    app.config.update(DAY_START="00:00", DAY_END="04:00")
    auth.login("dr.one")
    page = client.get(f"/availability/?week={SPRING - dt.timedelta(days=6)}").text
    assert page.count("not on the clock that day") == 2
    assert 'value="open 2027-03-28T01:30"' not in page and 'value="open 2027-03-28T02:00"' in page


def test_a_repeated_autumn_time_is_shown_with_its_zone_and_booked_once(
        client, auth, people, week_before):
    week_before(AUTUMN)
    doctor = people.doctor("dr.one")
    open_night(doctor, AUTUMN)
    auth.login("pat.one")
    picker = client.get(f"/doctors/{doctor.id}?date={AUTUMN}", headers={"HX-Request": "true"})
    assert ">01:30 BST<" in picker.text and ">02:00<" in picker.text and ">00:30<" in picker.text
    page = client.get(f"/appointments/book/{doctor.id}?slot=2027-10-31T01:30")
    assert "Sunday 31 October at 01:30 BST" in page.text


def test_in_the_second_pass_a_first_pass_appointment_has_started(ctx, people, frozen_clock,
                                                                 week_before):
    week_before(AUTUMN)
    doctor, patient = people.doctor("dr.one"), people.patient("pat.one")
    open_night(doctor, AUTUMN)
    early = book_appointment(patient, doctor, AUTUMN, dt.time(1, 30), "x", patient.user)
    late = book_appointment(patient, doctor, AUTUMN, dt.time(2, 30), "y", patient.user)
    frozen_clock.move_to(at(2027, 10, 31, 1, 15, fold=1))  # 01:15 GMT = 45 min after 01:30 BST
    with pytest.raises(SchedulingError, match="already started"):
        cancel_appointment(early, patient.user)
    upcoming = [a.id for a in Appointment.upcoming_for_patient(patient, clinic_now())]
    assert upcoming == [late.id]
    assert [t for _, t in free_slots(doctor, AUTUMN, AUTUMN)] == [dt.time(2), dt.time(3),
                                                                   dt.time(3, 30)]
    cancel_appointment(late, people.user("desk"))  # 02:30 GMT is still ahead (the desk:
    # patients stop cancelling online CANCEL_CUTOFF_HOURS before)


def test_in_the_first_pass_the_repeated_hour_is_still_ahead(ctx, people, frozen_clock):
    frozen_clock.move_to(at(2027, 10, 31, 1, 15))  # 01:15 BST, the first pass
    doctor, patient = people.doctor("dr.one"), people.patient("pat.one")
    open_night(doctor, AUTUMN)
    assert [t for _, t in free_slots(doctor, AUTUMN, AUTUMN)][0] == dt.time(1, 30)
    book_appointment(patient, doctor, AUTUMN, dt.time(1, 30), "x", patient.user)


@pytest.mark.parametrize("day, time, utc", [
    (dt.date(2027, 1, 12), dt.time(9), "20270112T090000Z"),  # winter: GMT
    (dt.date(2027, 6, 15), dt.time(9), "20270615T080000Z"),  # summer: BST
    (SPRING, dt.time(2), "20270328T010000Z"),  # the first hour after the jump
    (AUTUMN, dt.time(1, 30), "20271031T003000Z"),  # the repeated hour's first pass
    (AUTUMN, dt.time(2), "20271031T020000Z"),
])
def test_calendar_files_carry_the_utc_instant_for_that_date(ctx, people, day, time, utc):
    appt = Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                              date=day, time=time, reason="x")
    calendar = ics(appt).decode()
    assert f"DTSTART:{utc}\r\n" in calendar
    start = dt.datetime.strptime(utc, "%Y%m%dT%H%M%SZ")
    assert f"DTEND:{start + dt.timedelta(minutes=30):%Y%m%dT%H%M%SZ}\r\n" in calendar


def test_the_reminder_of_a_repeated_time_names_its_zone(ctx, people, inbox):
    appt = Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                              date=AUTUMN, time=dt.time(1, 30), reason="x")
    ctx.config.update(REMINDER_DAYS_AHEAD=1000)  # due long ago, so the sweep makes its row
    assert new_reminders(dt.datetime(2027, 10, 30, 12)) == 1
    assert send_reminder(appt.id) == "sent"
    [message] = inbox.messages
    assert "01:30 BST" in message["Subject"]
    assert "01:30 BST" in message.get_body(preferencelist=("plain",)).get_content()


def hourly_sweeps(day: dt.date):
    """Sweeps every hour (at :00 UTC) across a clinic day, as naive UTC instants."""
    start = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(22))
    return [start + dt.timedelta(hours=h) for h in range(28)]


@pytest.mark.parametrize("day", [SPRING, AUTUMN, dt.date(2027, 6, 15)])
@pytest.mark.parametrize("hour", [0, 1, 2, 18])
def test_the_reminder_hour_comes_once_on_every_day_even_when_it_is_skipped_or_repeated(
        ctx, people, day, hour):
    ctx.config.update(REMINDER_HOUR=hour, REMINDER_DAYS_AHEAD=1)
    due = reminder_due(day + dt.timedelta(days=1))
    assert to_clinic(due).date() == day
    if day == SPRING and hour == 1:  # 01:00 never happens: due at 02:00 BST, the next instant
        assert due == dt.datetime(2027, 3, 28, 1)
    elif day == AUTUMN and hour == 1:  # 01:00 happens twice: due at the first (BST)
        assert due == dt.datetime(2027, 10, 31, 0)
    else:
        assert to_clinic(due).time() == dt.time(hour)
    Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                       date=day + dt.timedelta(days=1), time=dt.time(10), reason="x")
    made = [run for run in hourly_sweeps(day) if new_reminders(run)]
    assert made == [min(run for run in hourly_sweeps(day) if run >= due)]


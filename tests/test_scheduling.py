"""The booking rules of hms/scheduling.py, without the web layer."""

from __future__ import annotations

import datetime as dt

import pytest

from hms.models import Appointment, DoctorAvailability, User, WorkingHours
from hms.scheduling import (
    SchedulingError,
    SlotTaken,
    book_appointment,
    cancel_appointment,
    cell_state,
    free_slots,
    open_slots_from_plans,
    replace_plan,
    reschedule_appointment,
    set_slot,
    slot_times,
    week_grid,
    week_start,
)

# Date-sensitive: run at every instant of the calendar matrix (tests/instants.py).
pytestmark = pytest.mark.calendar

NINE, HALF_NINE, TEN = dt.time(9), dt.time(9, 30), dt.time(10)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def one(people):
    return people.doctor("dr.one")


@pytest.fixture
def pat(people):
    return people.patient("pat.one")


@pytest.fixture
def other(people):
    return people.patient("pat.two")


@pytest.fixture
def booker(people):
    return people.user("pat.one")


def test_slot_times_cut_a_period_into_whole_slots():
    assert slot_times(dt.time(9), dt.time(10, 45), 30) == [NINE, HALF_NINE, TEN]


def test_booking_a_free_slot_creates_a_live_appointment(ctx, diary, one, pat, booker):
    appt = book_appointment(pat, one, diary, NINE, "  Chest pain ", booker)
    assert (appt.status, appt.reason, appt.booked_by.id) == ("booked", "Chest pain", booker.id)
    assert (diary, NINE) not in free_slots(one, diary, diary)


def test_a_taken_slot_is_refused_with_the_nearest_free_ones(ctx, diary, one, pat, other, booker):
    book_appointment(pat, one, diary, NINE, "x", booker)
    with pytest.raises(SlotTaken) as refused:
        book_appointment(other, one, diary, NINE, "y", booker)
    assert "just taken" in refused.value.message
    assert (diary, HALF_NINE) in refused.value.nearest
    assert (diary, NINE) not in refused.value.nearest
    assert Appointment.select().count() == 1


def test_a_patient_cannot_hold_two_appointments_at_once(ctx, diary, people, pat, booker):
    book_appointment(pat, people.doctor("dr.one"), diary, NINE, "x", booker)
    with pytest.raises(SchedulingError, match="already have an appointment"):
        book_appointment(pat, people.doctor("dr.two"), diary, NINE, "y", booker)


@pytest.mark.parametrize("when, message", [
    (lambda day: (day - dt.timedelta(days=2), NINE), "already passed"),
    (lambda day: (day + dt.timedelta(days=60), NINE), "up to 28 days ahead"),
    (lambda day: (day, dt.time(15)), "does not see patients at that time"),
])
def test_past_far_and_unopened_slots_are_refused(ctx, diary, one, pat, booker, when, message):
    day, time = when(diary)
    DoctorAvailability.insert(doctor=one, date=day, time_slot=time).on_conflict_ignore().execute()
    if message == "does not see patients at that time":
        DoctorAvailability.delete().where(DoctorAvailability.time_slot == time).execute()
    with pytest.raises(SchedulingError, match=message):
        book_appointment(pat, one, day, time, "x", booker)
    assert Appointment.select().count() == 0


def test_a_closed_slot_is_refused(ctx, diary, one, pat, booker):
    set_slot(one, diary, NINE, False)
    with pytest.raises(SchedulingError, match="does not see patients"):
        book_appointment(pat, one, diary, NINE, "x", booker)


def test_a_deactivated_doctor_cannot_be_booked(ctx, diary, one, pat, booker):
    User.update(is_active=False).where(User.id == one.user_id).execute()
    with pytest.raises(SchedulingError, match="not taking appointments"):
        book_appointment(pat, one, diary, NINE, "x", booker)


def test_reschedule_moves_in_one_step_and_links_the_new_to_the_old(ctx, diary, one, pat, booker):
    old = book_appointment(pat, one, diary, NINE, "Rash", booker)
    new = reschedule_appointment(old, diary, TEN, booker)
    old = Appointment.get_by_id(old.id)
    assert old.status == "rescheduled" and old.cancelled_by.id == booker.id
    assert (new.status, new.time, new.reason) == ("booked", TEN, "Rash")
    assert new.rescheduled_from.id == old.id
    assert (diary, NINE) in free_slots(one, diary, diary)  # the old slot is free again


def test_a_failed_reschedule_changes_nothing(ctx, diary, one, pat, other, booker):
    mine = book_appointment(pat, one, diary, NINE, "x", booker)
    book_appointment(other, one, diary, TEN, "y", booker)
    with pytest.raises(SlotTaken):
        reschedule_appointment(mine, diary, TEN, booker)
    assert Appointment.get_by_id(mine.id).status == "booked"
    assert Appointment.select().count() == 2


@pytest.mark.parametrize("status", ["completed", "cancelled", "no_show", "rescheduled"])
def test_finished_appointments_cannot_be_moved_or_cancelled(ctx, diary, one, pat, booker, status):
    appt = book_appointment(pat, one, diary, NINE, "x", booker)
    Appointment.update(status=status).where(Appointment.id == appt.id).execute()
    with pytest.raises(SchedulingError, match="cannot be rescheduled"):
        reschedule_appointment(appt, diary, TEN, booker)
    with pytest.raises(SchedulingError, match="cannot be cancelled"):
        cancel_appointment(appt, booker)


def test_cancel_is_soft_and_frees_the_slot_at_once(ctx, diary, one, pat, other, booker):
    appt = book_appointment(pat, one, diary, NINE, "x", booker)
    cancel_appointment(appt, booker, "  Feeling better ")
    appt = Appointment.get_by_id(appt.id)
    assert (appt.status, appt.cancel_reason, appt.cancelled_by.id) == \
        ("cancelled", "Feeling better", booker.id)
    assert appt.cancelled_at is not None
    assert book_appointment(other, one, diary, NINE, "y", booker).status == "booked"


def test_closing_a_booked_slot_is_refused_and_nothing_changes(ctx, diary, one, pat, booker):
    book_appointment(pat, one, diary, NINE, "x", booker)
    with pytest.raises(SchedulingError, match="holds an appointment"):
        set_slot(one, diary, NINE, False)
    assert DoctorAvailability.get(doctor=one, date=diary, time_slot=NINE).is_available


def test_past_slots_cannot_be_changed(ctx, diary, one):
    with pytest.raises(SchedulingError, match="passed"):
        set_slot(one, diary - dt.timedelta(days=2), NINE, True)


def test_week_grid_shows_open_closed_booked_and_past(ctx, diary, one, pat, booker):
    book_appointment(pat, one, diary, NINE, "x", booker)
    set_slot(one, diary, TEN, False)
    grid = week_grid(one, week_start(diary))
    assert grid.cell(diary, NINE).state == "booked"
    assert grid.cell(diary, HALF_NINE).state == "open"
    assert grid.cell(diary, TEN).state == "closed"
    assert grid.cell(diary, dt.time(17)).state == "closed"  # inside the grid's day, never opened
    now = dt.datetime.combine(diary, TEN)
    assert cell_state(diary, NINE, True, None, now).state == "past"
    assert cell_state(diary, TEN, True, None, now).state == "past"  # starting now: too late
    assert cell_state(diary, HALF_NINE, True, 7, now).state == "booked"


def test_weekly_plan_opens_new_weeks_but_keeps_hand_closed_slots(ctx, app, diary, one):
    set_slot(one, diary, NINE, False)
    added = replace_plan(one, [(d, dt.time(14), dt.time(15)) for d in range(7)])
    assert added > 0 and WorkingHours.select().where(WorkingHours.doctor == one).count() == 7
    assert (diary, dt.time(14)) in free_slots(one, diary, diary)
    assert not DoctorAvailability.get(doctor=one, date=diary, time_slot=NINE).is_available
    # The daily job adds nothing more: the plan is already open up to the horizon.
    before = DoctorAvailability.select().count()
    open_slots_from_plans()
    assert DoctorAvailability.select().count() == before

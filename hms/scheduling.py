"""The clinic's calendar and the booking rules: slots, availability, book, reschedule, cancel.

No Flask here beyond reading the configuration: the CLI, tasks and views all use it. Every
write that carries a rule runs in `write_transaction()`, so its checks and its write happen
under one lock; the schema's unique indexes stay the final guarantee.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from blinker import Namespace
from flask import current_app
from peewee import IntegrityError, fn

from hms import cache
from hms.clock import clinic_instant, clinic_now, clinic_today, utc_now, wall_time_exists
from hms.db import write_transaction
from hms.models import (
    Appointment,
    Doctor,
    DoctorAvailability,
    Patient,
    User,
    WorkingHours,
)

NOON = dt.time(12)

# Sent after a change that may have freed or opened times of these doctors (a cancellation, a
# move, slots opened), with their ids: the waitlist offers such times at once
# (hms/waitlist.py). Sent after the commit; the sweep makes the same offers within a minute if
# a receiver fails.
signals = Namespace()
slots_freed = signals.signal("slots-freed")
# Statuses in which a patient may still move or cancel their appointment; once checked in,
# only staff change it (hms/visits.py).
MOVABLE = ("booked",)


# --- time -------------------------------------------------------------------------------------

def horizon_end() -> dt.date:
    """The last day patients may book."""
    return clinic_today() + dt.timedelta(days=current_app.config["BOOKING_HORIZON_DAYS"])


def week_start(day: dt.date) -> dt.date:
    """The Monday of the week a day falls in."""
    return day - dt.timedelta(days=day.weekday())


def slot_minutes() -> int:
    return current_app.config["SLOT_MINUTES"]


def slot_times(start: dt.time, end: dt.time, minutes: int) -> list[dt.time]:
    """The slot start times from start (inclusive) while a whole slot fits before end."""
    day = dt.date(2000, 1, 1)
    at, stop = dt.datetime.combine(day, start), dt.datetime.combine(day, end)
    step = dt.timedelta(minutes=minutes)
    times = []
    while at + step <= stop:
        times.append(at.time())
        at += step
    return times


SLOT_FORMAT = "%Y-%m-%dT%H:%M"


def slot_key(day: dt.date, time: dt.time) -> str:
    """A slot as forms and links carry it: '2026-11-24T09:00'."""
    return dt.datetime.combine(day, time).strftime(SLOT_FORMAT)


def _ascii(value: str | None) -> str:
    """The value for strptime, or '' (which it refuses) when it holds anything but ASCII:
    strptime reads some non-ASCII digits ('2026-11-2٤' is 24 November)."""
    return value if value and value.isascii() else ""


def parse_slot(value: str | None) -> tuple[dt.date, dt.time] | None:
    """'2026-11-24T09:00' → (date, time); None for anything else (seconds, offsets, junk)."""
    try:
        at = dt.datetime.strptime(_ascii(value), SLOT_FORMAT)
    except ValueError:
        return None
    return at.date(), at.time()


def parse_day(value: str | None) -> dt.date | None:
    """'2026-11-24' → a date; None for anything else."""
    try:
        return dt.datetime.strptime(_ascii(value), "%Y-%m-%d").date()
    except ValueError:
        return None


def parse_clock(value: str | None) -> dt.time | None:
    """'09:30' → a time; None for anything else."""
    try:
        return dt.datetime.strptime(_ascii(value), "%H:%M").time()
    except ValueError:
        return None


def on_slot_grid(time: dt.time) -> bool:
    """Whether a time starts a slot: slots start every SLOT_MINUTES from midnight."""
    return time.second == 0 and (time.hour * 60 + time.minute) % slot_minutes() == 0


def last_diary_day() -> dt.date:
    """The last day a doctor's grid reaches: the end of the week the horizon falls in."""
    return week_start(horizon_end()) + dt.timedelta(days=6)


def grid_times() -> list[dt.time]:
    """The rows of the availability grid: the clinic's day cut into slots."""
    start, end = (parse_clock(current_app.config[k]) for k in ("DAY_START", "DAY_END"))
    return slot_times(start, end, slot_minutes())


# --- errors -----------------------------------------------------------------------------------

class SchedulingError(Exception):
    """A rule refused the change; the message is for the person at the screen."""

    status = 409

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TooLong(SchedulingError):
    """A typed text is longer than its field takes: bad input (422), not a conflict."""

    status = 422


class SlotTaken(SchedulingError):
    """Someone else holds the slot; `nearest` offers the closest free ones instead."""

    def __init__(self, message: str, nearest: list[tuple[dt.date, dt.time]]):
        super().__init__(message)
        self.nearest = nearest


# --- reading the diary ------------------------------------------------------------------------

def _live_at(doctor_field, date_field, time_field):
    """A correlated 'a live appointment holds this slot' subquery (an overbooked appointment
    holds none)."""
    return Appointment.select(Appointment.id).where(
        Appointment.doctor == doctor_field, Appointment.date == date_field,
        Appointment.time == time_field, Appointment.is_live(), ~Appointment.overbook)


def free_slots(doctor: Doctor, first: dt.date, last: dt.date, limit: int | None = None,
               patient: Patient | None = None) -> list[tuple[dt.date, dt.time]]:
    """The doctor's open, unbooked slots from first to last that are still in the future and
    within the booking horizon, soonest first; with a patient, only times they are free."""
    now = clinic_now()
    last = min(last, horizon_end())
    slot = DoctorAvailability
    query = (slot.select(slot.date, slot.time_slot)
             .where(slot.doctor == doctor, slot.is_available == True,  # noqa: E712
                    slot.date.between(max(first, now.date()), last),
                    ~fn.EXISTS(_live_at(slot.doctor, slot.date, slot.time_slot)))
             .order_by(slot.date, slot.time_slot))
    if patient is not None:
        query = query.where(~fn.EXISTS(Appointment.select(Appointment.id).where(
            Appointment.patient == patient, Appointment.date == slot.date,
            Appointment.time == slot.time_slot, Appointment.is_live())))
    found = []
    for day, time in query.tuples():
        if dt.datetime.combine(day, time) > now and wall_time_exists(day, time):
            found.append((day, time))
            if limit and len(found) == limit:
                break
    return found


def next_free_slots(doctor: Doctor, limit: int = 6,
                    patient: Patient | None = None) -> list[tuple[dt.date, dt.time]]:
    """The doctor's soonest free slots (that the patient, if given, is free for), as offered
    on the doctor's page: read through the cache, see offered_slots."""
    return offered_slots(doctor, clinic_today(), horizon_end(), limit, patient)


def offered_slots(doctor: Doctor, first: dt.date, last: dt.date, limit: int | None = None,
                  patient: Patient | None = None) -> list[tuple[dt.date, dt.time]]:
    """The free slots shown to someone booking, as free_slots gives them: the doctor's free
    slots come from the cache (fresh after every change to their diary or appointments); past
    times and the patient's own bookings are taken out on every call. Booking re-checks."""
    now = clinic_now()
    low, high = first.isoformat(), min(last, horizon_end()).isoformat()
    after = now.strftime(SLOT_FORMAT)  # slots start on the minute: later than now's minute
    busy = _patient_busy(patient, first, last) if patient is not None else set()
    found = []
    for key in _free_slot_keys(doctor):
        if low <= key[:10] <= high and key > after and key not in busy:
            found.append(parse_slot(key))
            if limit and len(found) == limit:
                break
    return found


def _free_slot_keys(doctor: Doctor) -> list[str]:
    """The doctor's free slots from today to the horizon as slot keys, cached per day."""
    today = clinic_today()
    return cache.remember(f"slots:{doctor.id}", today.isoformat(), lambda: [
        slot_key(*slot) for slot in free_slots(doctor, today, horizon_end())])


def _patient_busy(patient: Patient, first: dt.date, last: dt.date) -> set[str]:
    """The slot keys at which the patient holds a live appointment (with any doctor)."""
    return {slot_key(day, time) for day, time in Appointment.select(
        Appointment.date, Appointment.time
    ).where(Appointment.patient == patient, Appointment.date.between(first, last),
            Appointment.is_live()).tuples()}


def nearest_free_slots(doctor: Doctor, day: dt.date, time: dt.time,
                       limit: int = 4) -> list[tuple[dt.date, dt.time]]:
    """The free slots closest in time to the one asked for (same doctor, within 3 days)."""
    wanted = dt.datetime.combine(day, time)
    nearby = free_slots(doctor, day - dt.timedelta(days=3), day + dt.timedelta(days=3))
    nearby.sort(key=lambda s: abs(dt.datetime.combine(*s) - wanted))
    return sorted(nearby[:limit])


def bookable_days() -> list[dt.date]:
    """The days a patient may pick from: today to the end of the horizon."""
    today = clinic_today()
    return [today + dt.timedelta(days=i) for i in range((horizon_end() - today).days + 1)]


@dataclass
class Cell:
    """One slot of the availability grid."""

    day: dt.date
    time: dt.time
    state: str  # open, closed, booked, past, or skipped (a time the clocks jump over)
    appointment_id: int | None = None

    @property
    def key(self) -> str:
        return slot_key(self.day, self.time)


@dataclass
class WeekGrid:
    """A doctor's week as rows of slot times by columns of days."""

    monday: dt.date
    days: list[dt.date]
    times: list[dt.time]
    cells: dict[tuple[dt.date, dt.time], Cell] = field(default_factory=dict)

    def cell(self, day: dt.date, time: dt.time) -> Cell:
        return self.cells[(day, time)]


def week_grid(doctor: Doctor, monday: dt.date) -> WeekGrid:
    """The doctor's diary for one week, each slot open, closed, booked or past."""
    days = [monday + dt.timedelta(days=i) for i in range(7)]
    open_slots = {(d, t): ok for d, t, ok in DoctorAvailability.select(
        DoctorAvailability.date, DoctorAvailability.time_slot, DoctorAvailability.is_available
    ).where(DoctorAvailability.doctor == doctor,
            DoctorAvailability.date.between(days[0], days[-1])).tuples()}
    booked = {(d, t): i for d, t, i in Appointment.select(
        Appointment.date, Appointment.time, Appointment.id
    ).where(Appointment.doctor == doctor, Appointment.date.between(days[0], days[-1]),
            Appointment.is_live()).tuples()}
    times = sorted(set(grid_times()) | {t for _, t in open_slots} | {t for _, t in booked})
    now = clinic_now()
    grid = WeekGrid(monday, days, times)
    for day in days:
        for time in times:
            grid.cells[(day, time)] = cell_state(day, time, open_slots.get((day, time), False),
                                                 booked.get((day, time)), now)
    return grid


def cell_state(day: dt.date, time: dt.time, is_open: bool, appointment_id: int | None,
               now: dt.datetime) -> Cell:
    if appointment_id:
        return Cell(day, time, "booked", appointment_id)
    if dt.datetime.combine(day, time) <= now:
        return Cell(day, time, "past")
    if not wall_time_exists(day, time):
        return Cell(day, time, "skipped")  # the clocks go forward over it
    return Cell(day, time, "open" if is_open else "closed")


def read_cell(doctor: Doctor, day: dt.date, time: dt.time) -> Cell:
    """One slot's current state."""
    row = DoctorAvailability.get_or_none(doctor=doctor, date=day, time_slot=time)
    booked = _live_at(doctor.id, day, time).scalar()
    return cell_state(day, time, bool(row and row.is_available), booked, clinic_now())


# --- changing the diary -----------------------------------------------------------------------

def _set_open(doctor: Doctor, day: dt.date, time: dt.time, is_open: bool) -> None:
    (DoctorAvailability.insert(doctor=doctor, date=day, time_slot=time, is_available=is_open)
     .on_conflict(conflict_target=[DoctorAvailability.doctor, DoctorAvailability.date,
                                   DoctorAvailability.time_slot],
                  update={DoctorAvailability.is_available: is_open})
     .execute())


def set_slot(doctor: Doctor, day: dt.date, time: dt.time, is_open: bool) -> Cell:
    """Open or close one slot. Closing a slot that a live appointment holds is refused."""
    if dt.datetime.combine(day, time) <= clinic_now():
        raise SchedulingError("That time has passed; past slots cannot be changed.")
    if not on_slot_grid(time) or day > last_diary_day():
        raise SchedulingError("That is not a slot of the diary.")
    if is_open and not wall_time_exists(day, time):
        raise SchedulingError(f"{time:%H:%M} does not happen on {day:%a %d %b}: the clocks go "
                              "forward over it.")
    with write_transaction():
        if not is_open and _live_at(doctor.id, day, time).exists():
            raise SchedulingError(
                f"{day:%a %d %b} {time:%H:%M} holds an appointment. Move or cancel the "
                "appointment first; the slot stays open until then.")
        _set_open(doctor, day, time, is_open)
    cache.diary_changed(doctor.id)  # after the commit: see hms/cache.py
    if is_open:
        slots_freed.send(doctor_ids=[doctor.id])
    return read_cell(doctor, day, time)


def set_slots(doctor: Doctor, slots: list[tuple[dt.date, dt.time]],
              is_open: bool) -> tuple[int, int]:
    """Open or close many slots at once. Past slots are left alone, and so (when closing) are
    slots holding appointments. Returns (slots whose state changed, kept because booked)."""
    now = clinic_now()
    changed = kept = 0
    with write_transaction():
        days = {day for day, _ in slots}
        current = {(d, t): ok for d, t, ok in DoctorAvailability.select(
            DoctorAvailability.date, DoctorAvailability.time_slot, DoctorAvailability.is_available
        ).where(DoctorAvailability.doctor == doctor, DoctorAvailability.date.in_(days)).tuples()}
        for day, time in slots:
            if dt.datetime.combine(day, time) <= now:
                continue
            if is_open and not wall_time_exists(day, time):
                continue  # the clocks go forward over it
            if current.get((day, time), False) == is_open:
                if (day, time) not in current:
                    _set_open(doctor, day, time, is_open)  # closed on purpose: plans keep off
                continue
            if not is_open and _live_at(doctor.id, day, time).exists():
                kept += 1
                continue
            _set_open(doctor, day, time, is_open)
            changed += 1
    if changed:
        cache.diary_changed(doctor.id)
        if is_open:
            slots_freed.send(doctor_ids=[doctor.id])
    return changed, kept


def bulk_slots(grid: WeekGrid, scope: str,
               day: dt.date | None = None) -> list[tuple[dt.date, dt.time]]:
    """The slots of a week a bulk action covers: one day, all mornings or all afternoons."""
    if scope == "day":
        return [(day, t) for t in grid.times]
    if scope == "mornings":
        return [(d, t) for d in grid.days for t in grid.times if t < NOON]
    if scope == "afternoons":
        return [(d, t) for d in grid.days for t in grid.times if t >= NOON]
    raise ValueError(scope)


def copy_previous_week(doctor: Doctor, monday: dt.date) -> tuple[int, int]:
    """Give this week the open/closed pattern of the week before (future slots only; booked
    slots stay open). Returns (changed, kept because booked)."""
    before = monday - dt.timedelta(days=7)
    pattern = {(d + dt.timedelta(days=7), t) for d, t in DoctorAvailability.select(
        DoctorAvailability.date, DoctorAvailability.time_slot
    ).where(DoctorAvailability.doctor == doctor, DoctorAvailability.is_available == True,  # noqa: E712
            DoctorAvailability.date.between(before, before + dt.timedelta(days=6))).tuples()}
    grid = week_grid(doctor, monday)
    to_open = sorted(pattern)
    to_close = [k for k, c in grid.cells.items() if c.state == "open" and k not in pattern]
    opened, _ = set_slots(doctor, to_open, True)
    closed, kept = set_slots(doctor, to_close, False)
    return opened + closed, kept


def open_week_from_plan(doctor: Doctor, first_day: dt.date, days: int = 7,
                        tell: bool = True) -> int:
    """Open the slots of the doctor's weekly plan for each day from first_day on. Slots that
    already exist, open or closed, stay as they are. Returns how many slots were added; with
    `tell`, says so (slots_freed)."""
    minutes = slot_minutes()
    plan = list(WorkingHours.select().where(WorkingHours.doctor == doctor))
    rows = []
    for offset in range(days):
        day = first_day + dt.timedelta(days=offset)
        for hours in plan:
            if hours.weekday == day.weekday():
                rows += [
                    {"doctor": doctor.id, "date": day, "time_slot": t, "is_available": True}
                    for t in slot_times(hours.start_time, hours.end_time, minutes)
                    if wall_time_exists(day, t)  # not in the hour the clocks skip
                ]
    if not rows:
        return 0
    with write_transaction():
        count = DoctorAvailability.select().where(DoctorAvailability.doctor == doctor).count
        before = count()
        DoctorAvailability.insert_many(rows).on_conflict_ignore().execute()
        added = count() - before
    if added:
        cache.diary_changed(doctor.id)
        if tell:
            slots_freed.send(doctor_ids=[doctor.id])
    return added


def open_slots_from_plans() -> int:
    """Open every active doctor's planned slots from today to the end of the booking horizon:
    new weeks fill themselves. Returns how many slots were added."""
    today = clinic_today()
    days = (horizon_end() - today).days + 1
    doctors = Doctor.select().join(User).where(User.is_active == True)  # noqa: E712
    added = {doctor.id: open_week_from_plan(doctor, today, days, tell=False)
             for doctor in doctors}
    if opened := [doctor_id for doctor_id, n in added.items() if n]:
        slots_freed.send(doctor_ids=opened)  # once for all: the waitlist reads them together
    return sum(added.values())


def replace_plan(doctor: Doctor, periods: list[tuple[int, dt.time, dt.time]]) -> int:
    """Replace the doctor's weekly plan and open its slots up to the horizon. Returns how many
    slots were added."""
    with write_transaction():
        WorkingHours.delete().where(WorkingHours.doctor == doctor).execute()
        for weekday, start, end in periods:
            WorkingHours.create(doctor=doctor, weekday=weekday, start_time=start, end_time=end)
    today = clinic_today()
    return open_week_from_plan(doctor, today, (horizon_end() - today).days + 1)


# --- booking ----------------------------------------------------------------------------------

def check_slot(doctor: Doctor, day: dt.date, time: dt.time) -> None:
    """Refuse a slot that cannot be booked, with the reason a patient can act on. Read-only:
    pages call it before asking for a reason; bookings call it again under the write lock."""
    if not doctor.user.is_active:
        raise SchedulingError(f"{doctor.full_name} is not taking appointments.")
    if dt.datetime.combine(day, time) <= clinic_now():
        raise SchedulingError("That time has already passed. Please pick a later slot.")
    if not wall_time_exists(day, time):
        raise SchedulingError("That time does not happen that day: the clocks go forward over "
                              "it. Please pick another slot.")
    if day > horizon_end():
        raise SchedulingError(
            f"Appointments can be booked up to {current_app.config['BOOKING_HORIZON_DAYS']} "
            "days ahead.")
    if not DoctorAvailability.select().where(
            DoctorAvailability.doctor == doctor, DoctorAvailability.date == day,
            DoctorAvailability.time_slot == time,
            DoctorAvailability.is_available == True).exists():  # noqa: E712
        raise SchedulingError(f"{doctor.full_name} does not see patients at that time.")
    if _live_at(doctor.id, day, time).exists():
        raise _taken(doctor, day, time)


def _taken(doctor: Doctor, day: dt.date, time: dt.time) -> SlotTaken:
    return SlotTaken("Sorry, that slot was just taken. Here are the nearest free ones.",
                     nearest_free_slots(doctor, day, time))


def _check_patient_free(patient: Patient, day: dt.date, time: dt.time) -> None:
    if Appointment.select().where(Appointment.patient == patient, Appointment.date == day,
                                  Appointment.time == time,
                                  Appointment.is_live()).exists():
        raise SchedulingError("You already have an appointment at that time.")


def _insert(doctor: Doctor, day: dt.date, time: dt.time, **values) -> Appointment:
    try:
        with write_transaction():  # a savepoint when nested: a refusal undoes only this insert
            return Appointment.create(doctor=doctor, date=day, time=time, **values)
    except IntegrityError:
        # The schema's guarantee caught what the checks could not see.
        if _live_at(doctor.id, day, time).exists():
            raise _taken(doctor, day, time) from None
        raise SchedulingError("You already have an appointment at that time.") from None


def _recent_no_shows():
    """The condition for no-shows within the last NO_SHOW_PERIOD_DAYS."""
    since = clinic_today() - dt.timedelta(days=current_app.config["NO_SHOW_PERIOD_DAYS"])
    return (Appointment.status == "no_show") & (Appointment.date >= since)


def missed_appointments(patient: Patient) -> list[Appointment]:
    """The patient's no-shows within the last NO_SHOW_PERIOD_DAYS, newest first."""
    return list(Appointment.select(Appointment, Doctor).join(Doctor)
                .where(Appointment.patient == patient, _recent_no_shows())
                .order_by(Appointment.date.desc(), Appointment.time.desc()))


def desk_only(patient: Patient) -> list[Appointment]:
    """The no-shows for which the patient may book only through the front desk (none: they
    may book themselves): NO_SHOW_LIMIT or more within NO_SHOW_PERIOD_DAYS."""
    missed = missed_appointments(patient)
    return missed if len(missed) >= current_app.config["NO_SHOW_LIMIT"] else []


def desk_only_patients(patient_ids: set[int]) -> set[int]:
    """Of these patients, those who book through the desk only (as desk_only), in one query."""
    if not patient_ids:
        return set()
    return {p for (p,) in Appointment.select(Appointment.patient).where(
        Appointment.patient.in_(patient_ids), _recent_no_shows()).group_by(Appointment.patient)
        .having(fn.COUNT(Appointment.id) >= current_app.config["NO_SHOW_LIMIT"]).tuples()}


class DeskOnly(SchedulingError):
    """The patient has missed too many appointments lately to book online."""

    status = 403


def check_may_book_online(patient: Patient) -> None:
    """Refuse a patient's own booking after too many recent no-shows, saying what to do."""
    missed = desk_only(patient)
    if missed:
        raise DeskOnly(
            f"You missed {len(missed)} appointments since {missed[-1].date:%-d %B %Y}, so "
            "appointments are now booked with you through the front desk. Please call or "
            "visit the clinic to book.")


def book_appointment(patient: Patient, doctor: Doctor, day: dt.date, time: dt.time,
                     reason: str, by: User, online: bool | None = None) -> Appointment:
    """Book a free slot for a patient, or raise SchedulingError saying why not. A booking
    made online (by default: one a patient makes) must not be for a patient who books through
    the desk only; a waitlist offer the desk arranged is not online (hms/waitlist.py)."""
    with write_transaction():
        if by.role == "patient" if online is None else online:
            check_may_book_online(patient)
        check_slot(doctor, day, time)
        _check_patient_free(patient, day, time)
        appt = _insert(doctor, day, time, patient=patient, reason=reason.strip(), booked_by=by)
    cache.appointments_changed(doctor.id)
    return appt


def reschedule_appointment(appointment: Appointment, day: dt.date, time: dt.time,
                           by: User, doctor: Doctor | None = None) -> Appointment:
    """Move a booked appointment to another free slot (of the same doctor, or of the doctor
    given: an admin reassigning a deactivated doctor's patients), in one transaction. The old
    one is marked rescheduled (freeing its slot); the new one records which it replaced."""
    with write_transaction():
        old = Appointment.to_change(appointment.id)
        target = doctor or old.doctor
        if old.status not in MOVABLE:
            raise SchedulingError(f"A {old.status.replace('_', ' ')} appointment cannot be "
                                  "rescheduled.")
        if dt.datetime.combine(old.date, old.time) <= clinic_now():
            raise SchedulingError("This appointment has already started; it cannot be moved.")
        if (old.date, old.time, old.doctor_id) == (day, time, target.id):
            raise SchedulingError("That is the appointment's current time. Pick another slot.")
        check_slot(target, day, time)
        old.status, old.cancelled_at, old.cancelled_by = "rescheduled", utc_now(), by
        old.save()
        _check_patient_free(old.patient, day, time)
        moved = _insert(target, day, time, patient=old.patient, reason=old.reason,
                        booked_by=by, rescheduled_from=old)
    cache.appointments_changed(old.doctor_id, moved.doctor_id)
    slots_freed.send(doctor_ids=[old.doctor_id])
    return moved


def slot_start(day: dt.date, time: dt.time) -> dt.datetime:
    """When a clinic wall-clock time happens, in naive UTC as timestamps are stored."""
    return clinic_instant(day, time).replace(tzinfo=None)


def starts_at(appt: Appointment) -> dt.datetime:
    """When the appointment starts, in naive UTC as timestamps are stored."""
    return slot_start(appt.date, appt.time)


def part_of_day(time: dt.time) -> str:
    """The session a slot belongs to: the morning, or the afternoon (from noon)."""
    return "morning" if time < NOON else "afternoon"


def online_cancel_ends(appt: Appointment) -> dt.datetime:
    """Until when (naive UTC) a patient may cancel the appointment themselves."""
    return starts_at(appt) - dt.timedelta(hours=current_app.config["CANCEL_CUTOFF_HOURS"])


def is_late_cancel(appt: Appointment, at: dt.datetime) -> bool:
    """Whether cancelling at `at` (naive UTC) gives less notice than LATE_CANCEL_HOURS."""
    return starts_at(appt) - at < dt.timedelta(hours=current_app.config["LATE_CANCEL_HOURS"])


def cancel_appointment(appointment: Appointment, by: User, reason: str = "") -> Appointment:
    """Cancel a live appointment (softly: who, when, why, and whether at short notice); its
    slot frees at once. A patient cancels online only until CANCEL_CUTOFF_HOURS before."""
    with write_transaction():
        appt = Appointment.to_change(appointment.id)
        if appt.status not in MOVABLE:
            raise SchedulingError(f"A {appt.status.replace('_', ' ')} appointment cannot be "
                                  "cancelled.")
        if dt.datetime.combine(appt.date, appt.time) <= clinic_now():
            raise SchedulingError("This appointment has already started; it cannot be cancelled.")
        now = utc_now()
        if by.role == "patient" and now >= online_cancel_ends(appt):
            raise SchedulingError(
                f"It is less than {current_app.config['CANCEL_CUTOFF_HOURS']} hours to the "
                "appointment, too late to cancel online. Please call the clinic.")
        appt.status, appt.cancelled_at, appt.cancelled_by = "cancelled", now, by
        appt.cancel_reason = reason.strip() or None
        appt.late_cancel = is_late_cancel(appt, now)
        appt.save()
    cache.appointments_changed(appt.doctor_id)
    slots_freed.send(doctor_ids=[appt.doctor_id])
    return appt


def confirm_appointment(appointment: Appointment) -> Appointment:
    """The patient says they will come (a reminder's link): noted once, until it starts."""
    with write_transaction():
        appt = Appointment.to_change(appointment.id)
        if appt.status != "booked":
            raise SchedulingError(f"This appointment is {appt.status.replace('_', ' ')}; "
                                  "there is nothing to confirm.")
        if dt.datetime.combine(appt.date, appt.time) <= clinic_now():
            raise SchedulingError("This appointment has already started.")
        if appt.confirmed_at is None:
            appt.confirmed_at = utc_now()
            appt.save()
    return appt


def first_free_slot(department_id: int, day: dt.date, patient: Patient | None = None
                    ) -> tuple[Doctor, dt.date, dt.time] | None:
    """The earliest free slot on one day among a specialization's active doctors (that the
    patient, if given, is free for), as (doctor, day, time); None when all are full."""
    found = [(slots[0], doctor) for doctor in doctor_directory(department_id=department_id)
             if (slots := offered_slots(doctor, day, day, limit=1, patient=patient))]
    if not found:
        return None
    (day, time), doctor = min(found, key=lambda f: (f[0], f[1].full_name))
    return doctor, day, time


def doctor_directory(query: str = "", department_id: int | None = None):
    """Active doctors, optionally filtered by name and specialization."""
    doctors = Doctor.bookable()
    if query:
        doctors = doctors.where(Doctor.full_name.contains(query.strip()))
    if department_id:
        doctors = doctors.where(Doctor.department == department_id)
    return doctors


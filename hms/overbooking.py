"""Audited overbooking: a doctor (or an admin) allows a session, a morning or an afternoon, a
few appointments over its slots, and the front desk books into them, each with its reason.

An overbooked appointment is a live appointment marked `overbook`, at a time of the session
that a normal booking already holds. It holds no slot of the doctor's (the live-slot unique
index leaves it out, and keeps holding for every normal booking); the patient's time it holds
like any other. The allowance's row is read under the write lock (and locked on PostgreSQL),
so two desks cannot both take the last place. Every overbooking is written to the audit log
with who, and the reports count them. No Flask views here.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app
from peewee import IntegrityError, fn

from hms import cache
from hms.audit import audit
from hms.clock import clinic_now, clinic_today, utc_now
from hms.db import is_sqlite, write_transaction
from hms.models import (
    SESSIONS,
    Appointment,
    Doctor,
    DoctorAvailability,
    OverbookAllowance,
    Patient,
    User,
)
from hms.scheduling import (
    NOON,
    SchedulingError,
    SlotTaken,
    TooLong,
    check_slot,
    horizon_end,
    on_slot_grid,
    part_of_day,
)

REASON_MAX = 500
SESSION_WORDS = {"morning": "this morning", "afternoon": "this afternoon"}


def _in_session(part: str):
    return Appointment.time < NOON if part == "morning" else Appointment.time >= NOON


def set_allowance(doctor: Doctor, day: dt.date, part: str, extra: int, by: User) -> None:
    """Allow `extra` appointments over a session (0 takes the allowance away); from today up
    to the booking horizon. Places already used stay booked."""
    if part not in SESSIONS:
        raise SchedulingError("Choose the morning or the afternoon.")
    if not clinic_today() <= day <= horizon_end():
        raise SchedulingError("Choose a day from today up to the booking horizon.")
    if not 0 <= extra <= 10:
        raise SchedulingError("Allow from 0 to 10 extra appointments.")
    with write_transaction():
        OverbookAllowance.delete().where(OverbookAllowance.doctor == doctor,
                                         OverbookAllowance.date == day,
                                         OverbookAllowance.part_of_day == part).execute()
        if extra:
            OverbookAllowance.create(doctor=doctor, date=day, part_of_day=part, extra=extra,
                                     set_by=by, set_at=utc_now())
        audit(by, f"overbook allowance:{extra}", None, "doctor", doctor.id)


def allowances(doctor: Doctor, first: dt.date, last: dt.date) -> list[dict]:
    """The doctor's allowances from first to last, each with how many places are used."""
    rows = list(OverbookAllowance.select().where(
        OverbookAllowance.doctor == doctor, OverbookAllowance.date.between(first, last))
        .order_by(OverbookAllowance.date, OverbookAllowance.part_of_day.desc()))
    used = _used(doctor, first, last)
    return [{"date": r.date, "part": r.part_of_day, "extra": r.extra,
             "used": used.get((r.date, r.part_of_day), 0)} for r in rows]


def _used(doctor: Doctor, first: dt.date, last: dt.date) -> dict[tuple[dt.date, str], int]:
    """Live overbooked appointments per (day, session)."""
    used: dict[tuple[dt.date, str], int] = {}
    for day, time in (Appointment.select(Appointment.date, Appointment.time)
                      .where(Appointment.doctor == doctor, Appointment.date.between(first, last),
                             Appointment.overbook, Appointment.is_live())
                      .tuples()):
        key = (day, part_of_day(time))
        used[key] = used.get(key, 0) + 1
    return used


def places_left(doctor: Doctor, day: dt.date) -> dict[str, int]:
    """How many more appointments may be overbooked in each session of a day (0: none)."""
    return {a["part"]: max(0, a["extra"] - a["used"]) for a in allowances(doctor, day, day)}


def overbook_times(doctor: Doctor, day: dt.date, patient: Patient | None = None
                   ) -> list[dt.time]:
    """The times of a day the desk may overbook: slots of a session with places left that a
    booking holds already, still to come (and, with a patient, when they are free)."""
    left = places_left(doctor, day)
    if not any(left.values()):
        return []
    now = clinic_now()
    held = {t for (t,) in Appointment.select(Appointment.time).where(
        Appointment.doctor == doctor, Appointment.date == day, Appointment.is_live(),
        ~Appointment.overbook).tuples()}
    opened = DoctorAvailability.select(DoctorAvailability.time_slot).where(
        DoctorAvailability.doctor == doctor, DoctorAvailability.date == day,
        DoctorAvailability.is_available == True)  # noqa: E712
    busy = {t for (t,) in Appointment.select(Appointment.time).where(
        Appointment.patient == patient, Appointment.date == day, Appointment.is_live())
        .tuples()} if patient else set()
    return [t for (t,) in opened.order_by(DoctorAvailability.time_slot).tuples()
            if t in held and t not in busy and left.get(part_of_day(t), 0) > 0
            and dt.datetime.combine(day, t) > now]


def overbook(patient: Patient, doctor: Doctor, day: dt.date, time: dt.time, reason: str,
             why: str, by: User) -> Appointment:
    """Book a patient over a session's allowance at a time a booking already holds, with the
    reason for the visit and the reason for overbooking; raise SchedulingError saying why not."""
    reason, why = reason.strip(), why.strip()
    if by.role not in ("receptionist", "admin"):
        raise SchedulingError("Only the front desk books over a session.")
    if not why:
        raise TooLong("Say why this patient must be seen over the session.")
    if len(why) > REASON_MAX or len(reason) > REASON_MAX:
        raise TooLong(f"Use at most {REASON_MAX} characters.")
    if not on_slot_grid(time):
        raise SchedulingError("That is not a time of the doctor's diary.")
    part = part_of_day(time)
    with write_transaction():
        query = OverbookAllowance.select().where(
            OverbookAllowance.doctor == doctor, OverbookAllowance.date == day,
            OverbookAllowance.part_of_day == part)
        allowance = (query if is_sqlite() else query.for_update()).first()
        try:
            check_slot(doctor, day, time)
        except SlotTaken:
            pass  # held by a booking: what an overbooking is for
        else:
            raise SchedulingError("That time is free: book it as usual.")
        used = (Appointment.select(fn.COUNT(Appointment.id))
                .where(Appointment.doctor == doctor, Appointment.date == day,
                       Appointment.overbook, Appointment.is_live(), _in_session(part))
                .scalar())
        if allowance is None or used >= allowance.extra:
            raise SchedulingError(f"No overbooking place is left {SESSION_WORDS[part]} for "
                                  f"{doctor.full_name}; the doctor or an admin may allow more.")
        try:
            with write_transaction():
                appt = Appointment.create(patient=patient, doctor=doctor, date=day, time=time,
                                          reason=reason, booked_by=by, overbook=True,
                                          overbook_reason=why)
        except IntegrityError:
            raise SchedulingError("The patient already has an appointment at that time.") \
                from None
        audit(by, "overbook", patient, "appointment", appt.id)
    cache.appointments_changed(doctor.id)
    current_app.logger.info("Appointment %s overbooked by user %s", appt.id, by.id)
    return appt

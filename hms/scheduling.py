"""The clinic's calendar: wall-clock time in the clinic's zone, slots and opening diaries.

No Flask here beyond reading the configuration: the CLI, tasks and views all use it.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app

from hms.db import db
from hms.models import Doctor, DoctorAvailability, WorkingHours


def clinic_zone() -> ZoneInfo:
    """The clinic's IANA time zone from configuration."""
    return ZoneInfo(current_app.config["TIMEZONE"])


def clinic_now() -> dt.datetime:
    """The wall-clock time at the clinic, without tzinfo, as appointments are stored."""
    return dt.datetime.now(clinic_zone()).replace(tzinfo=None)


def clinic_today() -> dt.date:
    """Today's date at the clinic."""
    return clinic_now().date()


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


def open_week_from_plan(doctor: Doctor, first_day: dt.date, days: int = 7) -> int:
    """Open the slots of the doctor's weekly plan for each day; existing slots stay as they are.

    Returns how many slots were added.
    """
    minutes = current_app.config["SLOT_MINUTES"]
    plan = list(WorkingHours.select().where(WorkingHours.doctor == doctor))
    rows = []
    for offset in range(days):
        day = first_day + dt.timedelta(days=offset)
        for hours in plan:
            if hours.weekday == day.weekday():
                rows += [
                    {"doctor": doctor.id, "date": day, "time_slot": t, "is_available": True}
                    for t in slot_times(hours.start_time, hours.end_time, minutes)
                ]
    if not rows:
        return 0
    with db.atomic():
        before = DoctorAvailability.select().where(DoctorAvailability.doctor == doctor).count()
        DoctorAvailability.insert_many(rows).on_conflict_ignore().execute()
        after = DoctorAvailability.select().where(DoctorAvailability.doctor == doctor).count()
    return after - before

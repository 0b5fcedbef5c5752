"""The one clock: every reading of the current time in HMS goes through this module.

Tests freeze it (time-machine in tests/conftest.py), and a test fails if any other module of
`hms/` or `tasks.py` reads the time itself. It is also where the clinic's wall clock meets UTC:

- Stored timestamps (created_at, cancelled_at, sent_at, ...) are naive UTC: `utc_now()`.
- Appointment dates and slot times are naive wall-clock times in `HMS_TIMEZONE`.
- Daylight saving time, decided once:
  * a wall time that does not exist (the hour skipped when clocks go forward) is never a slot:
    it is not opened, offered or booked (`wall_time_exists`);
  * a wall time that happens twice (the hour repeated when clocks go back) means its first
    occurrence, in summer time; pages name the zone for such times ("01:30 BST") and
    `clinic_instant` converts with that rule, so reminders, calendar files and "has it
    started" use the right UTC offset for the date;
  * `clinic_now()` is the wall clock as it orders against stored slots: during the second pass
    through a repeated hour every slot of that hour (its first occurrence) has already begun,
    so "now" stands just before the end of the repeated hour until the clock passes it.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app

_MINUTE = dt.timedelta(minutes=1)


def utc_now() -> dt.datetime:
    """Now in UTC, naive, as timestamps are stored."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def utc_instant() -> dt.datetime:
    """Now in UTC, timezone-aware."""
    return dt.datetime.now(dt.UTC)


def clinic_zone() -> ZoneInfo:
    """The clinic's IANA time zone from configuration."""
    return ZoneInfo(current_app.config["TIMEZONE"])


def clinic_now() -> dt.datetime:
    """The clinic's wall-clock time, without tzinfo, as appointments are stored (see above for
    the repeated autumn hour)."""
    zone = clinic_zone()
    local = utc_instant().astimezone(zone)
    wall = local.replace(tzinfo=None)
    if local.fold and _repeated(wall, zone):
        end = wall.replace(second=0, microsecond=0)
        while _repeated(end, zone):
            end += _MINUTE
        return end - dt.timedelta(microseconds=1)
    return wall


def clinic_today() -> dt.date:
    """Today's date at the clinic."""
    return clinic_now().date()


def to_clinic(moment: dt.datetime) -> dt.datetime:
    """An instant (aware, or naive UTC as stored) as the clinic's wall-clock time, naive."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(clinic_zone()).replace(tzinfo=None)


def clinic_time(moment: dt.datetime, fmt: str = "%-d %b %Y %H:%M") -> str:
    """A stored instant as people read it: clinic time, the zone named ('3 Dec 2026 14:05
    GMT'), so no page mixes UTC with clinic time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    local = moment.astimezone(clinic_zone())
    return f"{local.strftime(fmt)} {local.tzname()}"


def clinic_instant(day: dt.date, time: dt.time) -> dt.datetime:
    """The aware UTC instant a clinic wall-clock time names (a repeated time: its first
    occurrence)."""
    return dt.datetime.combine(day, time).replace(tzinfo=clinic_zone(), fold=0).astimezone(dt.UTC)


def wall_time_exists(day: dt.date, time: dt.time) -> bool:
    """False for a wall-clock time skipped when the clocks go forward."""
    wall = dt.datetime.combine(day, time)
    zone = clinic_zone()
    return wall.replace(tzinfo=zone).astimezone(dt.UTC).astimezone(zone).replace(
        tzinfo=None) == wall


def is_repeated(day: dt.date, time: dt.time) -> bool:
    """True for a wall-clock time that happens twice, when the clocks go back."""
    return _repeated(dt.datetime.combine(day, time), clinic_zone())


def zone_name(day: dt.date, time: dt.time) -> str:
    """The zone's abbreviation at a wall-clock time, as HMS reads it ('BST', 'GMT')."""
    return dt.datetime.combine(day, time).replace(tzinfo=clinic_zone(), fold=0).tzname() or ""


def hhmm(time: dt.time, day: dt.date) -> str:
    """A clinic time as pages show it, '09:30'; in the repeated hour with its zone, '01:30 BST',
    so it cannot be mistaken for the second pass."""
    shown = time.strftime("%H:%M")
    return f"{shown} {zone_name(day, time)}" if is_repeated(day, time) else shown


def hhmm_zone(time: dt.time, day: dt.date) -> str:
    """A clinic time with its zone always named, '09:30 GMT', for what is read away from the
    clinic: e-mails and calendar text."""
    return f"{time:%H:%M} {zone_name(day, time)}"


def _repeated(wall: dt.datetime, zone: ZoneInfo) -> bool:
    first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return False
    # Offsets also differ inside a skipped hour; a repeated time survives the round trip.
    return first.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) == wall

"""The clinic's numbers: appointments per day, by status, by department and by doctor, outcome
rates, and a doctor's activity over a week or a month.

No Flask views here: the analytics pages, the PDF reports and the monthly mail share these.
Everything is counted by the appointment's own (clinic wall-clock) date, from the daily rollup
(`AppointmentDay`, kept exact by triggers), so a period costs its doctor-days, not its
appointments. "Appointments" are the
live ones, those that held a slot: booked, checked in, completed and no-show. Cancelled and
rescheduled appointments freed their slot; cancelled ones are counted on their own, and a
rescheduled one is counted once, as the appointment that replaced it.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import statistics

from peewee import fn

from hms.clock import clinic_instant
from hms.models import (
    LIVE_STATUSES,
    STATUSES,
    WAITING_STATUSES,
    Appointment,
    AppointmentDay,
    Department,
    Doctor,
    Treatment,
    User,
)
from hms.scheduling import slot_start, week_start

# An appointment has an outcome once it is completed, missed or cancelled: the rates' base.
OUTCOMES = ("completed", "no_show", "cancelled")
PERIODS = ("week", "month")
EARLIEST = dt.date(2000, 1, 1)
# [0-9], not \d: that also matches '٣', which int() would read as 3.
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
RECENT_DAYS = 30  # "the last 30 days" of the statistics pages and the doctor's day


# --- periods ----------------------------------------------------------------------------------

def last_days(count: int, today: dt.date) -> tuple[dt.date, dt.date]:
    """The last `count` clinic days, today included."""
    return today - dt.timedelta(days=count - 1), today


def days_of(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every clinic day from the first to the last, both included."""
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def month_of(day: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of the month a day falls in."""
    return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])


def previous_month(day: dt.date) -> dt.date:
    """The first day of the month before the one a day falls in."""
    return (day.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def period_of(period: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """The week (Monday to Sunday) or the calendar month that a day falls in."""
    if period == "week":
        monday = week_start(day)
        return monday, monday + dt.timedelta(days=6)
    return month_of(day)


def period_label(first: dt.date, last: dt.date) -> str:
    """'March 2026', 'Week of 2 March 2026', or '3 February 2026 to 4 March 2026'."""
    if (first, last) == month_of(first):
        return f"{first:%B %Y}"
    if first.weekday() == 0 and (last - first).days == 6:
        return f"Week of {first.day} {first:%B %Y}"
    return f"{first.day} {first:%B %Y} to {last.day} {last:%B %Y}"


def parse_month(value: str | None) -> dt.date | None:
    """'2026-03' → 1 March 2026; None for anything else, or a month before the year 2000."""
    match = _MONTH.fullmatch(value or "")
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < EARLIEST.year:
        return None
    return dt.date(int(match[1]), int(match[2]), 1)


def parse_date(value: str | None) -> dt.date | None:
    """'2026-03-17' → that day; None for anything else, or a day before the year 2000."""
    if not _DAY.fullmatch(value or ""):
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return None
    return day if day >= EARLIEST else None


def utc_bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The stored (naive UTC) instants at which the clinic's first day starts and the day after
    the last starts: timestamps such as created_at are UTC, clinic days are not."""
    def utc(day: dt.date) -> dt.datetime:
        return clinic_instant(day, dt.time()).replace(tzinfo=None)

    return utc(first), utc(last + dt.timedelta(days=1))


# --- counts -----------------------------------------------------------------------------------

def _days(first: dt.date, last: dt.date, doctor: Doctor | None = None):
    """The condition 'a doctor-day of the rollup within the period' (one doctor's, when given)."""
    condition = AppointmentDay.date.between(first, last)
    return condition & (AppointmentDay.doctor == doctor) if doctor else condition


def daily_statuses(first: dt.date, last: dt.date, doctor: Doctor | None = None
                   ) -> dict[dt.date, dict[str, int]]:
    """Each day of the period that has appointments, with its count in every status: one read
    of the rollup, from which both the per-day and the by-status figures come."""
    sums = [fn.SUM(getattr(AppointmentDay, s)) for s in STATUSES]
    rows = (AppointmentDay.select(AppointmentDay.date, *sums)
            .where(_days(first, last, doctor)).group_by(AppointmentDay.date).tuples())
    return {day: dict(zip(STATUSES, counts, strict=True)) for day, *counts in rows}


def per_day(first: dt.date, last: dt.date, daily: dict[dt.date, dict[str, int]]
            ) -> list[tuple[dt.date, int]]:
    """Appointments on each clinic day of the period, days without any included."""
    return [(day, sum(daily[day][s] for s in LIVE_STATUSES) if day in daily else 0)
            for day in days_of(first, last)]


def status_counts(daily: dict[dt.date, dict[str, int]]) -> dict[str, int]:
    """Every appointment of the period by its status, all statuses present (zero or not)."""
    return {status: sum(day[status] for day in daily.values()) for status in STATUSES}


def rates(statuses: dict[str, int]) -> dict[str, int | float | None]:
    """Completion, no-show and cancellation rates among the appointments with an outcome
    (completed, no-show or cancelled); None when none has an outcome yet."""
    outcomes = sum(statuses[s] for s in OUTCOMES)

    def share(status: str) -> float | None:
        return statuses[status] / outcomes if outcomes else None

    return {"outcomes": outcomes, "completion": share("completed"),
            "no_show": share("no_show"), "cancellation": share("cancelled")}


def doctor_totals(first: dt.date, last: dt.date) -> list[dict]:
    """Every doctor with appointments in the period: their department, appointments, completed
    and no-shows (one read of the rollup for the departments and the busiest doctors)."""
    live = fn.SUM(AppointmentDay.live())
    rows = (AppointmentDay.select(AppointmentDay.doctor, live, fn.SUM(AppointmentDay.completed),
                                  fn.SUM(AppointmentDay.no_show),
                                  fn.SUM(AppointmentDay.cancelled))
            .where(_days(first, last)).group_by(AppointmentDay.doctor).having(live > 0)
            .tuples())
    counts = {doctor: numbers for doctor, *numbers in rows}
    late, over = late_cancellations(first, last), overbooked(first, last)
    doctors = (Doctor.select(Doctor.id, Doctor.full_name, Doctor.department, Department.name)
               .join(Department).where(Doctor.id.in_(list(counts))).tuples()) if counts else []
    return [{"name": name, "department_id": department_id, "department": department,
             "appointments": counts[i][0], "completed": counts[i][1], "no_show": counts[i][2],
             "cancelled": counts[i][3], "late_cancelled": late.get(i, 0),
             "overbooked": over.get(i, 0)}
            for i, name, department_id, department in doctors]


def department_counts(totals: list[dict]) -> list[tuple[str, int]]:
    """Appointments per specialization (every department, busiest first)."""
    counts: dict[int, int] = {}
    for doctor in totals:
        counts[doctor["department_id"]] = counts.get(doctor["department_id"], 0) \
            + doctor["appointments"]
    pairs = [(d.name, counts.get(d.id, 0)) for d in Department.select().order_by(Department.name)]
    return sorted(pairs, key=lambda pair: -pair[1])


def attendance(totals: list[dict]) -> list[dict]:
    """Every doctor with appointments, by name: their no-shows, late cancellations and
    overbooked appointments, and their no-show rate (as `rates` reckons it)."""
    keys = ("name", "appointments", "no_show", "late_cancelled", "overbooked")
    return [{k: d[k] for k in keys} | {"no_show_rate": rates(d)["no_show"]}
            for d in sorted(totals, key=lambda d: d["name"])]


def busiest_doctors(totals: list[dict], limit: int = 10) -> list[dict]:
    """The doctors with the most appointments in the period, with how many they completed and
    how many patients did not come."""
    ranked = sorted(totals, key=lambda d: (-d["appointments"], d["name"]))[:limit]
    keys = ("name", "department", "appointments", "completed", "no_show")
    return [{k: d[k] for k in keys} for d in ranked]


def treatments_written(first: dt.date, last: dt.date, author: User | int | None = None) -> int:
    """Treatment records written during the period's clinic days (by one author, when given)."""
    start, end = utc_bounds(first, last)
    query = Treatment.select().where(Treatment.created_at >= start, Treatment.created_at < end)
    return (query.where(Treatment.author == author) if author is not None else query).count()


def new_patients(first: dt.date, last: dt.date) -> int:
    """Patients registered during the period's clinic days."""
    start, end = utc_bounds(first, last)
    return (User.select().where(User.role == "patient", User.created_at >= start,
                                User.created_at < end).count())


def follow_ups_due(doctor: Doctor, first: dt.date, last: dt.date) -> int:
    """Follow-up visits the doctor asked for that fall due in the period (a patient asked back
    for one day counts once, however many records say so)."""
    return (Treatment.select(Appointment.patient, Treatment.follow_up_date).join(Appointment)
            .where(Appointment.doctor == doctor,
                   Treatment.follow_up_date.between(first, last))
            .distinct().count())


# --- the day as it ran: late cancellations, overbooking, waits and consultations --------------

PUNCTUAL = dt.timedelta(minutes=10)  # a consultation that starts this late is still on time


def _period(first: dt.date, last: dt.date, doctor: Doctor | None = None):
    condition = Appointment.date.between(first, last)
    return condition & (Appointment.doctor == doctor) if doctor else condition


def late_cancellations(first: dt.date, last: dt.date, doctor: Doctor | None = None
                       ) -> dict[int, int]:
    """Cancellations with less notice than LATE_CANCEL_HOURS, per doctor (through the
    status-and-date index: a period's cancelled appointments)."""
    return dict(Appointment.select(Appointment.doctor, fn.COUNT(Appointment.id))
                .where(Appointment.status == "cancelled", _period(first, last, doctor),
                       Appointment.late_cancel == True)  # noqa: E712
                .group_by(Appointment.doctor).tuples())


def overbooked(first: dt.date, last: dt.date, doctor: Doctor | None = None) -> dict[int, int]:
    """Live overbooked appointments per doctor (through their own small index)."""
    return dict(Appointment.select(Appointment.doctor, fn.COUNT(Appointment.id))
                .where(Appointment.overbook, _period(first, last, doctor), Appointment.is_live())
                .group_by(Appointment.doctor).tuples())


def _median_minutes(spans: list[dt.timedelta]) -> float | None:
    return round(statistics.median(spans).total_seconds() / 60, 1) if spans else None


def visit_times(doctor: Doctor, first: dt.date, last: dt.date) -> dict:
    """How the doctor's visits of the period ran, from the times recorded at check-in, start
    and end: the median wait (arrival to start), the median consultation (start to end), the
    share started on time (at most PUNCTUAL after the appointment's time, or before it), and
    how many visits each figure is over. Automatic no-shows are counted apart."""
    rows = (Appointment.select(Appointment.date, Appointment.time, Appointment.checked_in_at,
                               Appointment.started_at, Appointment.ended_at,
                               Appointment.status, Appointment.no_show_auto)
            .where(_period(first, last, doctor),
                   Appointment.started_at.is_null(False) | (Appointment.status == "no_show"))
            .tuples())
    waits, lengths, punctual, started, automatic = [], [], 0, 0, 0
    for day, time, arrived, began, ended, status, auto in rows:
        if status == "no_show":
            automatic += bool(auto)
            continue
        started += 1
        if arrived:
            waits.append(max(began - arrived, dt.timedelta()))
        if ended:
            lengths.append(max(ended - began, dt.timedelta()))
        punctual += began - slot_start(day, time) <= PUNCTUAL
    return {"started": started, "waits": len(waits), "median_wait": _median_minutes(waits),
            "consultations": len(lengths), "median_length": _median_minutes(lengths),
            "punctuality": punctual / started if started else None,
            "automatic_no_shows": automatic}


def _totals(statuses: dict[str, int]) -> dict[str, int]:
    return {"appointments": sum(statuses[s] for s in LIVE_STATUSES),
            "completed": statuses["completed"], "cancelled": statuses["cancelled"],
            "no_show": statuses["no_show"],
            "open": sum(statuses[s] for s in WAITING_STATUSES)}


# --- the reports ------------------------------------------------------------------------------

def hospital_summary(first: dt.date, last: dt.date) -> dict:
    """The whole hospital over a period: what the analytics page and monthly report show."""
    daily = daily_statuses(first, last)
    statuses = status_counts(daily)
    doctors = doctor_totals(first, last)
    totals = _totals(statuses) | {"treatments": treatments_written(first, last),
                                  "new_patients": new_patients(first, last),
                                  "late_cancelled": sum(d["late_cancelled"] for d in doctors),
                                  "overbooked": sum(d["overbooked"] for d in doctors)}
    return {"first_day": first, "last_day": last, "label": period_label(first, last),
            "totals": totals, "rates": rates(statuses),
            "per_day": per_day(first, last, daily), "by_status": list(statuses.items()),
            "by_department": department_counts(doctors), "busiest": busiest_doctors(doctors),
            "attendance": attendance(doctors)}


def doctor_activity(doctor: Doctor, first_day: dt.date, last_day: dt.date) -> dict:
    """One doctor's activity over a period: appointments, completed, cancelled, no-shows,
    treatments written and follow-ups due, with rates, per day and by status. Plain values,
    and no patient's name, so it can go into a mailed PDF."""
    daily = daily_statuses(first_day, last_day, doctor)
    statuses = status_counts(daily)
    counts = _totals(statuses) | {
        "treatments": treatments_written(first_day, last_day, doctor.user_id),
        "follow_ups": follow_ups_due(doctor, first_day, last_day),
        "late_cancelled": late_cancellations(first_day, last_day, doctor).get(doctor.id, 0),
        "overbooked": overbooked(first_day, last_day, doctor).get(doctor.id, 0),
    }
    department = Department.get_by_id(doctor.department_id).name
    return {"doctor_id": doctor.id, "doctor_name": doctor.full_name, "department": department,
            "first_day": first_day, "last_day": last_day,
            "label": period_label(first_day, last_day), "counts": counts,
            "rates": rates(statuses), "per_day": per_day(first_day, last_day, daily),
            "by_status": list(statuses.items()),
            "times": visit_times(doctor, first_day, last_day)}


def summary_as_json(summary: dict) -> dict:
    """A hospital summary as JSON values (dates as ISO text), for the cache."""
    return summary | {"first_day": summary["first_day"].isoformat(),
                      "last_day": summary["last_day"].isoformat(),
                      "per_day": [(day.isoformat(), n) for day, n in summary["per_day"]]}


def summary_from_json(data: dict) -> dict:
    """A hospital summary back from summary_as_json's values."""
    return data | {"first_day": dt.date.fromisoformat(data["first_day"]),
                   "last_day": dt.date.fromisoformat(data["last_day"]),
                   "per_day": [(dt.date.fromisoformat(day), n) for day, n in data["per_day"]]}

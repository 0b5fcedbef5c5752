"""Each role's landing page, an appointment's detail, and the health check."""

from __future__ import annotations

import datetime as dt
import functools
import operator

from flask import Blueprint, current_app, redirect, url_for
from flask_login import current_user
from peewee import fn

from hms import cache, recalls, waitlist
from hms.auth import doctor_of, landing_url, patient_of, role_required
from hms.cache import redis_ok
from hms.clock import clinic_now, clinic_today, utc_instant, utc_now
from hms.db import db
from hms.doctors import directory
from hms.models import (
    STATUSES,
    WAITING_STATUSES,
    Appointment,
    AppointmentTally,
    Doctor,
    User,
    UserTally,
    WorkingHours,
)
from hms.scheduling import desk_only, week_start
from hms.stats import RECENT_DAYS, doctor_activity, last_days
from hms.web import render, wants_fragment

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    """Send each user to their role's landing page, and visitors to the login."""
    if current_user.is_authenticated:
        return redirect(landing_url(current_user))
    return redirect(url_for("auth.login"))


@bp.get("/admin/")
@role_required("admin")
def admin():
    """The administrator's overview: people, appointments by status, today's load per doctor."""
    today = clinic_today()
    stats = hospital_stats(today)
    counts = {
        "Active doctors": stats["doctors"],
        # Patients register themselves (hms/auth.py), so they are counted fresh, not cached:
        # one row of the tally that triggers keep.
        "Active patients": UserTally.active("patient"),
        "Appointments today": stats["today"],
    }
    return render("home/admin.html", "home/_admin_stats.html", today=today, counts=counts,
                  by_status=stats["by_status"], load=stats["load"],
                  more_doctors=stats["busy_doctors"] - len(stats["load"]),
                  attention=needs_attention(today))


def needs_attention(today: dt.date) -> list[tuple[str, str]]:
    """What waits for an administrator, first on their dashboard, each with where to act:
    background work that failed or whose outcome is unknown, active doctors nobody can book
    for want of working hours, and deactivated doctors with appointments still ahead. Two
    queries, each reading a few rows through an index, at any size of hospital."""
    from hms.work import KINDS

    items = []
    counts = [model.select(fn.COUNT(model.id)).where(model.status.in_(("failed", "unknown")))
              for model in KINDS.values()]
    stuck = sum(n for (n,) in functools.reduce(operator.add, counts).tuples())  # UNION ALL
    if stuck:
        items.append((f"{stuck} background job{'' if stuck == 1 else 's'} failed or may not "
                      "have arrived", url_for("admin.jobs")))
    has_hours = fn.EXISTS(WorkingHours.select().where(WorkingHours.doctor == Doctor.id))
    ahead = fn.EXISTS(Appointment.select().where(
        Appointment.doctor == Doctor.id, Appointment.date >= today, Appointment.is_live()))
    doctors = list(Doctor.select(Doctor.id, Doctor.full_name, User.is_active).join(User)
                   .where((User.is_active & ~has_hours) | (~User.is_active & ahead))
                   .order_by(Doctor.full_name).tuples())
    items += [(f"{name} has no working hours: nobody can book them",
               url_for("availability.doctor_plan", doctor_id=doctor_id))
              for doctor_id, name, active in doctors if active]
    items += [(f"{name} is deactivated with appointments ahead: reassign or cancel them",
               url_for("admin.doctor", doctor_id=doctor_id))
              for doctor_id, name, active in doctors if not active]
    return items


BUSIEST_SHOWN = 10  # doctors in the dashboard's "today's load", busiest first


def hospital_stats(today: dt.date) -> dict:
    """Active doctors, appointments by status, today's appointments and how many doctors have
    them, and the BUSIEST_SHOWN busiest doctors' load, from the cache."""

    def count() -> dict:
        by_status = AppointmentTally.by_status()
        load = (Doctor.select(Doctor.id, Doctor.full_name, fn.COUNT(Appointment.id).alias("n"))
                .join(Appointment)
                .where(Appointment.date == today, Appointment.is_live())
                .group_by(Doctor.id)
                .order_by(fn.COUNT(Appointment.id).desc(), Doctor.full_name).tuples())
        load = list(load)
        return {"doctors": UserTally.active("doctor"),
                "by_status": [(s, by_status.get(s, 0)) for s in STATUSES],
                "load": load[:BUSIEST_SHOWN], "busy_doctors": len(load),
                "today": sum(n for *_, n in load)}

    return cache.remember("stats", today.isoformat(), count)


@bp.get("/doctor/")
@role_required("doctor")
def doctor():
    """A doctor's day: today's appointments in time order, the next patient highlighted, and
    counts for today, this week and what is still to come."""
    me = doctor_of(current_user)
    now = clinic_now()
    today = now.date()
    appointments = list(Appointment.on_day(today, me))
    waiting = [a for a in appointments if a.status in WAITING_STATUSES]
    ahead = doctor_counts(me, today)
    counts = {
        "Today": len(appointments),
        "This week": ahead["week"],
        # Today's part of "upcoming" moves with the clock, so it comes from today's list.
        "Upcoming": ahead["later"] + sum(1 for a in appointments
                                         if a.status == "booked" and a.time >= now.time()),
    }
    # Not for the list's own refreshes, which swap only the list.
    recent = None if wants_fragment() else recent_figures(me, today)
    return render("home/doctor.html", "home/_day_list.html", today=today, counts=counts,
                  appointments=appointments, next_id=waiting[0].id if waiting else None,
                  recent=recent)


def recent_figures(doctor: Doctor, today: dt.date) -> dict:
    """A doctor's last 30 days in figures (their counts and rates), for the day's page; the
    charts are on the statistics page. Cached with the doctor's other counts."""

    def count() -> dict:
        report = doctor_activity(doctor, *last_days(RECENT_DAYS, today))
        return {"counts": report["counts"], "rates": report["rates"]}

    return cache.remember(f"stats:{doctor.id}", f"recent:{today.isoformat()}", count)


def doctor_counts(doctor: Doctor, today: dt.date) -> dict:
    """A doctor's live appointments this week and booked ones after today, from the cache."""

    def count() -> dict:
        monday = week_start(today)
        mine = Appointment.select().where(Appointment.doctor == doctor,
                                          Appointment.is_live())
        return {"week": mine.where(Appointment.date.between(
                    monday, monday + dt.timedelta(days=6))).count(),
                "later": mine.where(Appointment.status == "booked",
                                    Appointment.date > today).count()}

    return cache.remember(f"stats:{doctor.id}", today.isoformat(), count)


@bp.get("/me/")
@role_required("patient")
def patient():
    """A patient's upcoming appointments, and the doctors they last saw, to book again."""
    me = patient_of(current_user)
    return render("home/patient.html", "home/_upcoming.html", patient=me,
                  appointments=list(Appointment.upcoming_for_patient(me, clinic_now())),
                  recent_doctors=recent_doctors(me),
                  offers=waitlist.open_offers(me, utc_now()), waiting=waitlist.entries_of(me),
                  recalls=recalls.of_patient(me), desk_only=desk_only(me),
                  today=clinic_today())


def recent_doctors(patient, limit: int = 3) -> list[dict]:
    """The patient's last doctors still in the directory, newest first: most patients book
    with a doctor they know, and a link here saves them the directory's round trip."""
    listed = {d["id"]: d for d in directory()["doctors"]}
    latest = (Appointment.select(Appointment.doctor).where(Appointment.patient == patient)
              .order_by(Appointment.date.desc(), Appointment.time.desc()).limit(20))
    ids = dict.fromkeys(a.doctor_id for a in latest if a.doctor_id in listed)
    return [listed[i] for i in list(ids)[:limit]]


@bp.get("/healthz")
def health():
    """For the run script and monitoring: is the database answering, and is Redis?"""
    db.execute_sql("SELECT 1")
    redis = "ok" if redis_ok(current_app.config["REDIS_URL"]) else "unavailable"
    return {"database": "ok", "redis": redis, "time": utc_instant().isoformat()}

"""Each role's landing page, an appointment's detail, and the health check."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, redirect, url_for
from flask_login import current_user
from peewee import fn

from hms.auth import doctor_of, landing_url, patient_of, role_required
from hms.cache import redis_ok
from hms.db import db
from hms.models import (
    LIVE_STATUSES,
    STATUSES,
    WAITING_STATUSES,
    Appointment,
    Doctor,
    Patient,
    User,
)
from hms.scheduling import clinic_now, clinic_today, week_start
from hms.web import render

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
    by_status = dict(
        Appointment.select(Appointment.status, fn.COUNT(Appointment.id))
        .group_by(Appointment.status).tuples()
    )
    load = (
        Doctor.select(Doctor.full_name, fn.COUNT(Appointment.id).alias("n"))
        .join(Appointment)
        .where(Appointment.date == today, Appointment.status.in_(LIVE_STATUSES))
        .group_by(Doctor.id).order_by(fn.COUNT(Appointment.id).desc()).tuples()
    )
    counts = {
        "Active doctors": Doctor.select().join(User).where(User.is_active == True).count(),  # noqa: E712
        "Active patients": Patient.select().join(User).where(User.is_active == True).count(),  # noqa: E712
        "Appointments today": sum(n for _, n in load),
    }
    return render("home/admin.html", "home/_admin_stats.html", today=today, counts=counts,
                  by_status=[(s, by_status.get(s, 0)) for s in STATUSES], load=list(load))


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
    monday = week_start(today)
    mine = Appointment.select().where(Appointment.doctor == me,
                                      Appointment.status.in_(LIVE_STATUSES))
    counts = {
        "Today": len(appointments),
        "This week": mine.where(Appointment.date.between(
            monday, monday + dt.timedelta(days=6))).count(),
        "Upcoming": mine.where(Appointment.status == "booked",
                               Appointment.starting_from(now)).count(),
    }
    return render("home/doctor.html", "home/_day_list.html", today=today, counts=counts,
                  appointments=appointments, next_id=waiting[0].id if waiting else None)


@bp.get("/me/")
@role_required("patient")
def patient():
    """A patient's upcoming appointments."""
    me = patient_of(current_user)
    return render("home/patient.html", "home/_upcoming.html", patient=me,
                  appointments=list(Appointment.upcoming_for_patient(me, clinic_now())))


@bp.get("/desk/")
@role_required("receptionist", "admin")
def desk():
    """The front desk's view of today: every doctor's appointments in time order."""
    today = clinic_today()
    return render("home/desk.html", "home/_day_list.html", today=today,
                  appointments=list(Appointment.on_day(today)))


@bp.get("/healthz")
def health():
    """For the run script and monitoring: is the database answering, and is Redis?"""
    db.execute_sql("SELECT 1")
    redis = "ok" if redis_ok(current_app.config["REDIS_URL"]) else "unavailable"
    return {"database": "ok", "redis": redis, "time": dt.datetime.now(dt.UTC).isoformat()}

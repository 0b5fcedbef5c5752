"""The doctor directory, each doctor's page, and the slot picker."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, request, url_for
from flask_login import current_user

from hms import cache
from hms.auth import patient_of, role_required
from hms.clock import clinic_today
from hms.models import Department, Doctor
from hms.scheduling import (
    bookable_days,
    doctor_directory,
    next_free_slots,
    offered_slots,
    parse_day,
)
from hms.web import arg_int, render, wants_fragment

bp = Blueprint("doctors", __name__, url_prefix="/doctors")

BOOKERS = ("patient", "receptionist", "admin")


@bp.get("/")
@role_required(*BOOKERS)
def index():
    """Active doctors, searchable by name as you type and filterable by specialization."""
    q = request.args.get("q", "").strip()[:80]
    department = arg_int("department", 0, low=0) or None
    listing = directory()
    return render("doctors/index.html", "doctors/_list.html", q=q, department=department,
                  doctors=find_doctors(listing["doctors"], q, department),
                  departments=listing["departments"])


def directory() -> dict:
    """The active doctors and the specializations, as plain data kept in the cache until a
    doctor or a specialization changes."""
    return cache.remember("directory", "all", lambda: {
        "doctors": [{"id": d.id, "full_name": d.full_name,
                     "experience_years": d.experience_years,
                     "department": {"id": d.department_id, "name": d.department.name}}
                    for d in doctor_directory()],
        "departments": [{"id": d.id, "name": d.name}
                        for d in Department.select().order_by(Department.name)],
    })


def find_doctors(doctors: list[dict], q: str, department: int | None) -> list[dict]:
    """The listed doctors whose name contains q (in any case), in one specialization if given."""
    needle = q.casefold()
    return [d for d in doctors if needle in d["full_name"].casefold()
            and (not department or d["department"]["id"] == department)]


def bookable_doctor(doctor_id: int) -> Doctor:
    """An active doctor, or 404: deactivated doctors are not in the directory."""
    doctor = doctor_directory().where(Doctor.id == doctor_id).first()
    if doctor is None:
        abort(404)
    return doctor


def picked_day(value: str | None) -> dt.date:
    """The day asked for in the picker: one of the bookable days, today by default."""
    days = bookable_days()
    if not value:
        return days[0]
    day = parse_day(value)
    if day not in days:
        abort(404)
    return day


@bp.get("/<int:doctor_id>")
@role_required(*BOOKERS)
def show(doctor_id: int):
    """A doctor's page: experience, about, the next free slots and the slot picker."""
    doctor = bookable_doctor(doctor_id)
    day = picked_day(request.args.get("date"))
    patient = patient_of(current_user) if current_user.role == "patient" else None
    # A day picked in the slot picker swaps the picker alone: the soonest times are not shown.
    soonest = None if wants_fragment() else next_free_slots(doctor, patient=patient)
    if soonest and not request.args.get("date"):
        day = soonest[0][0]  # the picker opens on the first day with a free time
    return render("doctors/show.html", "doctors/_picker.html", doctor=doctor, soonest=soonest,
                  **picker(doctor, day, patient=patient))


def picker(doctor: Doctor, day: dt.date, appointment=None, patient=None) -> dict:
    """What the slot picker shows: the bookable days and the doctor's free slots on one day
    (that the patient is free for). With an appointment, the slots to move it to."""
    if appointment:
        here = pick = url_for("appointments.reschedule", appointment_id=appointment.id)
    else:
        here = url_for("doctors.show", doctor_id=doctor.id)
        # A patient books the time themselves; the desk books it for a patient it then finds.
        pick = (url_for("appointments.book", doctor_id=doctor.id)
                if current_user.role == "patient" else url_for("desk.index", doctor=doctor.id))
    return {"day": day, "days": bookable_days(), "picker_url": here, "pick_url": pick,
            "slots": [t for _, t in offered_slots(doctor, day, day, patient=patient)],
            "today": clinic_today()}


"""Appointments: book, my appointments, details, reschedule and cancel."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user

from hms.auth import appointment_for, patient_of, role_required
from hms.doctors import bookable_doctor, picked_day, picker
from hms.models import Appointment, Department, Doctor
from hms.scheduling import (
    CANCELLABLE,
    MOVABLE,
    SchedulingError,
    SlotTaken,
    book_appointment,
    bookable_days,
    cancel_appointment,
    clinic_now,
    reschedule_appointment,
)
from hms.web import render

bp = Blueprint("appointments", __name__, url_prefix="/appointments")

REASON_MAX = 500
PAST_PAGE = 20


def slot_from(value: str | None) -> tuple[dt.date, dt.time] | None:
    """'2026-11-24T09:00' → (date, time); None when missing or malformed."""
    try:
        at = dt.datetime.fromisoformat(value or "")
    except ValueError:
        return None
    return at.date(), at.time()


def slot_key(day: dt.date, time: dt.time) -> str:
    return f"{day.isoformat()}T{time.strftime('%H:%M')}"


@bp.route("/book/<int:doctor_id>", methods=["GET", "POST"])
@role_required("patient")
def book(doctor_id: int):
    """Confirm a slot with a reason, then book it; a taken slot offers the nearest free ones."""
    patient = patient_of(current_user)
    doctor = bookable_doctor(doctor_id)
    values = request.form if request.method == "POST" else request.args
    slot, reason = slot_from(values.get("slot")), values.get("reason", "").strip()
    errors, offered, status = {}, [], 200
    if request.method == "POST":
        if slot is None:
            errors["slot"] = "Pick a time for the appointment."
        if not reason:
            errors["reason"] = "Tell the doctor briefly why you are coming."
        elif len(reason) > REASON_MAX:
            errors["reason"] = f"Keep the reason under {REASON_MAX} characters."
        if not errors:
            try:
                appt = book_appointment(patient, doctor, *slot, reason, current_user)
            except SlotTaken as taken:
                errors["slot"], offered = taken.message, taken.nearest
            except SchedulingError as refusal:
                errors["slot"] = refusal.message
            else:
                flash(f"Booked: {appt.date:%A %-d %B} at {appt.time:%H:%M} with "
                      f"{doctor.full_name}.", "success")
                return redirect(url_for(".detail", appointment_id=appt.id), 303)
        status = 409 if "slot" in errors and slot else 422
    elif slot is None:
        return redirect(url_for("doctors.show", doctor_id=doctor.id))
    return render("appointments/book.html", "appointments/_book_form.html", status=status,
                  doctor=doctor, slot=slot, reason=reason, errors=errors,
                  offered=[slot_key(*s) for s in offered], slot_key=slot_key)


@bp.get("/")
@role_required("patient")
def mine():
    """A patient's appointments: upcoming ones, then past ones newest first, paginated."""
    patient = patient_of(current_user)
    page_no = max(request.args.get("page", 1, type=int), 1)
    now = clinic_now()
    base = (Appointment.select(Appointment, Doctor, Department).join(Doctor).join(Department)
            .where(Appointment.patient == patient))
    upcoming_rule = (Appointment.date > now.date()) | (
        (Appointment.date == now.date()) & (Appointment.time >= now.time()))
    upcoming = list(base.where(upcoming_rule, Appointment.status.in_(CANCELLABLE))
                    .order_by(Appointment.date, Appointment.time))
    past = list(base.where(~(upcoming_rule & Appointment.status.in_(CANCELLABLE)))
                .order_by(Appointment.date.desc(), Appointment.time.desc())
                .limit(PAST_PAGE + 1).offset((page_no - 1) * PAST_PAGE))
    return render("appointments/mine.html", "appointments/_mine.html", upcoming=upcoming,
                  past=past[:PAST_PAGE], page_no=page_no, more=len(past) > PAST_PAGE)


@bp.get("/<int:appointment_id>")
@role_required("patient", "doctor", "receptionist", "admin")
def detail(appointment_id: int):
    """One appointment's details, for the people it belongs to and the front desk."""
    appt = appointment_for(current_user, appointment_id)
    return render("appointments/detail.html", "appointments/_detail.html", appt=appt,
                  **_actions(appt))


def _actions(appt: Appointment) -> dict:
    upcoming = dt.datetime.combine(appt.date, appt.time) > clinic_now()
    own = current_user.role == "patient"
    return {"can_move": own and upcoming and appt.status in MOVABLE,
            "can_cancel": own and upcoming and appt.status in CANCELLABLE}


@bp.route("/<int:appointment_id>/reschedule", methods=["GET", "POST"])
@role_required("patient")
def reschedule(appointment_id: int):
    """Pick a new free slot with the same doctor and move the appointment there."""
    appt = appointment_for(current_user, appointment_id)
    values = request.form if request.method == "POST" else request.args
    slot, error, status = slot_from(values.get("slot")), None, 200
    if request.method == "POST":
        if slot is None:
            abort(400)
        try:
            moved = reschedule_appointment(appt, *slot, current_user)
        except SchedulingError as refusal:
            error, status = refusal.message, refusal.status
        else:
            flash(f"Moved to {moved.date:%A %-d %B} at {moved.time:%H:%M}.", "success")
            return redirect(url_for(".detail", appointment_id=moved.id), 303)
    elif appt.status not in MOVABLE:
        error, status = f"A {appt.status.replace('_', ' ')} appointment cannot be rescheduled.", 409
    # The picker opens on the day asked for, else the chosen slot's, else the appointment's.
    if values.get("date"):
        day = picked_day(values.get("date"))
    else:
        near = slot[0] if slot else appt.date
        day = near if near in bookable_days() else picked_day(None)
    return render("appointments/reschedule.html", "doctors/_picker.html", status=status,
                  appt=appt, slot=slot if not error else None, error=error,
                  doctor=appt.doctor,
                  **picker(appt.doctor, day, appointment=appt, patient=appt.patient))


@bp.post("/<int:appointment_id>/cancel")
@role_required("patient")
def cancel(appointment_id: int):
    """Cancel an upcoming appointment (the slot frees at once), with an optional reason."""
    appt = appointment_for(current_user, appointment_id)
    reason = request.form.get("reason", "").strip()[:REASON_MAX]
    try:
        cancel_appointment(appt, current_user, reason)
    except SchedulingError as refusal:
        flash(refusal.message, "error")
        return render("appointments/detail.html", "appointments/_detail.html",
                      status=refusal.status, appt=appt, **_actions(appt))
    flash("The appointment is cancelled and its slot is free for others.", "success")
    return redirect(url_for(".detail", appointment_id=appt.id), 303)

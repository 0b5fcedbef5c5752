"""Appointments: book, my appointments, details, reschedule and cancel."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_login import current_user

from hms.audit import audit_read
from hms.auth import appointment_for, doctor_of, patient_of, role_required
from hms.clock import clinic_now, clinic_today, hhmm
from hms.doctors import bookable_doctor, picked_day, picker
from hms.models import STATUSES, Appointment, Department, Doctor, Patient
from hms.scheduling import (
    MOVABLE,
    SchedulingError,
    SlotTaken,
    TooLong,
    book_appointment,
    bookable_days,
    cancel_appointment,
    check_slot,
    parse_slot,
    reschedule_appointment,
    slot_key,
)
from hms.visits import DONE, change_status, with_treatments
from hms.web import (
    arg_int,
    confirm_first,
    local_path,
    render,
    see_other,
    wants_fragment,
    with_messages,
)

bp = Blueprint("appointments", __name__, url_prefix="/appointments")

REASON_MAX = 500
PAST_PAGE = 20


@dataclass
class BookingAttempt:
    """What came of a booking form: the appointment, or messages by field (and the nearest
    free slots when the slot was taken), with the status to answer."""

    appointment: Appointment | None
    errors: dict[str, str]
    offered: list[str]
    status: int


def attempt_booking(patient: Patient, doctor: Doctor, slot: tuple[dt.date, dt.time] | None,
                    reason: str, no_reason: str) -> BookingAttempt:
    """Check the form's slot and reason, then book; every refusal becomes a message."""
    errors: dict[str, str] = {}
    offered: list[tuple[dt.date, dt.time]] = []
    refused = None
    if slot is None:
        errors["slot"] = "Pick a time for the appointment."
    if not reason:
        errors["reason"] = no_reason
    elif len(reason) > REASON_MAX:
        errors["reason"] = f"Use at most {REASON_MAX} characters."
    if not errors:
        try:
            return BookingAttempt(book_appointment(patient, doctor, *slot, reason, current_user),
                                  {}, [], 303)
        except SlotTaken as taken:
            errors["slot"], offered = taken.message, taken.nearest
        except SchedulingError as refusal:
            errors["slot"], refused = refusal.message, refusal.status
    return BookingAttempt(None, errors, [slot_key(*s) for s in offered],
                          refused or (409 if "slot" in errors and slot else 422))


@bp.route("/book/<int:doctor_id>", methods=["GET", "POST"])
@role_required("patient")
def book(doctor_id: int):
    """Confirm a slot with a reason, then book it; a taken slot offers the nearest free ones."""
    patient = patient_of(current_user)
    doctor = bookable_doctor(doctor_id)
    values = request.form if request.method == "POST" else request.args
    # The reason is read from the posted form only: it must never travel in a URL.
    slot, reason = parse_slot(values.get("slot")), request.form.get("reason", "").strip()
    if request.method == "POST":
        attempt = attempt_booking(patient, doctor, slot, reason,
                                  "Tell the doctor briefly why you are coming.")
        if attempt.appointment:
            appt = attempt.appointment
            flash(f"Booked: {appt.date:%A %-d %B} at {appt.time:%H:%M} with "
                  f"{doctor.full_name}.", "success")
            return see_other(url_for(".detail", appointment_id=appt.id))
    elif slot is None:
        return redirect(url_for("doctors.show", doctor_id=doctor.id))
    else:
        attempt = BookingAttempt(None, {}, [], 200)
        try:
            check_slot(doctor, *slot)  # say so now, before the patient types a reason
        except SchedulingError as refusal:
            attempt.errors["slot"] = refusal.message
            if isinstance(refusal, SlotTaken):
                attempt.offered = [slot_key(*s) for s in refusal.nearest]
    return render("appointments/book.html", "appointments/_book_form.html",
                  status=attempt.status, doctor=doctor, slot=slot, reason=reason,
                  errors=attempt.errors, offered=attempt.offered)


@bp.get("/")
@role_required("patient")
def mine():
    """A patient's appointments: upcoming ones, then past ones newest first, paginated."""
    patient = patient_of(current_user)
    page_no = arg_int("page", 1)
    upcoming = list(Appointment.upcoming_for_patient(patient, clinic_now()))
    past = list(Appointment.select(Appointment, Doctor, Department).join(Doctor).join(Department)
                .where(Appointment.patient == patient,
                       Appointment.id.not_in([a.id for a in upcoming]))
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
    """What the detail page offers: the patient's own moves, and the treatments for those who
    may read them (the front desk may not). Staff reads are audited."""
    upcoming = dt.datetime.combine(appt.date, appt.time) > clinic_now()
    own = current_user.role == "patient"
    treatments = []
    if current_user.role != "receptionist":
        [(_, treatments)] = with_treatments([appt])
        if treatments and current_user.role in ("doctor", "admin"):
            audit_read(current_user, "read treatments", appt.patient_id, "appointment", appt.id)
    return {"can_move": own and upcoming and appt.status in MOVABLE,
            "can_cancel": own and upcoming and appt.status in MOVABLE,
            "treatments": treatments, "today": clinic_today()}


@bp.route("/<int:appointment_id>/reschedule", methods=["GET", "POST"])
@role_required("patient", "receptionist", "admin")
def reschedule(appointment_id: int):
    """Pick a new free slot with the same doctor and move the appointment there: the patient
    their own, the front desk anyone's (from the queue)."""
    appt = appointment_for(current_user, appointment_id)
    values = request.form if request.method == "POST" else request.args
    slot, error, status = parse_slot(values.get("slot")), None, 200
    if request.method == "POST":
        if slot is None:
            abort(400)
        try:
            moved = reschedule_appointment(appt, *slot, current_user)
        except SchedulingError as refusal:
            error, status = refusal.message, refusal.status
        else:
            flash(f"Moved to {moved.date:%A %-d %B} at {moved.time:%H:%M}.", "success")
            return see_other(url_for(".detail", appointment_id=moved.id))
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
    if ask := confirm_first("Cancel this appointment?", "Yes, cancel it",
                            url_for(".detail", appointment_id=appt.id),
                            f"{appt.date:%A %-d %B} at {hhmm(appt.time, appt.date)} with "
                            f"{appt.doctor.full_name}. Its time is then free for others."):
        return ask
    reason = request.form.get("reason", "").strip()
    try:
        if len(reason) > REASON_MAX:
            raise TooLong(f"Use at most {REASON_MAX} characters for the reason.")
        cancel_appointment(appt, current_user, reason)
    except SchedulingError as refusal:
        flash(refusal.message, "error")
        return render("appointments/detail.html", "appointments/_detail.html",
                      status=refusal.status, appt=appt, **_actions(appt))
    flash("The appointment is cancelled and its slot is free for others.", "success")
    return see_other(url_for(".detail", appointment_id=appt.id))


@bp.post("/<int:appointment_id>/status")
@role_required("doctor", "receptionist", "admin")
def status(appointment_id: int):
    """Check in, complete, cancel (with a reason) or mark a no-show. htmx swaps the row, or,
    for a row of a day's list (the form names the list), the whole list in the same answer."""
    appt = appointment_for(current_user, appointment_id)
    error, action = None, request.form.get("action", "")
    try:
        appt = change_status(appt, action, current_user, request.form.get("reason", ""))
    except SchedulingError as refusal:
        error = refusal
    if not error:
        flash(f"{appt.patient.full_name}: {DONE[action]}.", "success")
    if wants_fragment():
        return _changed_in_place(appointment_id, error)
    if error:
        flash(error.message, "error")
    back = local_path(request.form.get("next"))
    return see_other(back or url_for(".detail", appointment_id=appt.id))


def _changed_in_place(appointment_id: int, error: SchedulingError | None) -> Response:
    """htmx's answer to a status change: the view the form names (a day's list, with the next
    patient and the counts moved on; an appointment's page), with no second request, or else
    the row; and the message saying what changed. A view this user cannot open (a field
    tampered with) gets the row; a refusal goes over its row, not over the view."""
    day_list = local_path(request.form.get("list"))
    if day_list and not error:
        answer = see_other(day_list)
        if answer.status_code == 200:
            return with_messages(answer)
        day_list = None
    appt = appointment_for(current_user, appointment_id)
    response = render("appointments/_row.html", "appointments/_row.html",
                      status=error.status if error else 200, a=appt, today=clinic_today(),
                      row_error=error.message if error else None, day_list_url=day_list,
                      one_day=bool(day_list))
    if error and day_list:
        response.headers.update({"HX-Retarget": f"#appt-{appt.id}", "HX-Reswap": "outerHTML"})
    elif not error:
        response.headers["HX-Trigger"] = "appointment-changed"  # lists elsewhere refresh
        with_messages(response)
    return response


WHEN = ("today", "upcoming", "past")
SCHEDULE_PAGE = 25


@bp.get("/schedule")
@role_required("doctor")
def schedule():
    """A doctor's appointments: today, upcoming or past, filtered by status, paginated."""
    me = doctor_of(current_user)
    when = request.args.get("when", "today")
    state = request.args.get("status", "")
    if when not in WHEN or (state and state not in STATUSES):
        abort(404)
    page_no = arg_int("page", 1)
    today = clinic_today()
    if when == "today":
        period, order = Appointment.date == today, (Appointment.time,)
    elif when == "upcoming":
        period, order = Appointment.date > today, (Appointment.date, Appointment.time)
    else:
        period, order = Appointment.date < today, (Appointment.date.desc(),
                                                   Appointment.time.desc())
    ids = Appointment.select(Appointment.id).where(Appointment.doctor == me, period)
    if state:
        ids = ids.where(Appointment.status == state)
    # The page's ids first, from the diary's index alone; only those rows are then joined to
    # their patients, so a deep page skips index entries, not joined rows.
    page = ids.order_by(*order).limit(SCHEDULE_PAGE + 1).offset((page_no - 1) * SCHEDULE_PAGE)
    rows = list(Appointment.select(Appointment, Patient, Doctor).join(Patient)
                .switch(Appointment).join(Doctor).where(Appointment.id.in_(page))
                .order_by(*order))
    return render("appointments/schedule.html", "appointments/_schedule.html",
                  appointments=rows[:SCHEDULE_PAGE], more=len(rows) > SCHEDULE_PAGE,
                  page_no=page_no, when=when, state=state, statuses=STATUSES, today=today)

"""The waitlist's pages: joining it (a patient, or the desk for one), the list the desk and the
doctors see, and an offered time's page, opened from the patient's home or from the e-mail's
signed link (no login needed) to claim or decline it. The rules are in hms/waitlist.py."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, request, url_for
from flask_login import current_user

from hms import links, waitlist
from hms.auth import doctor_of, login_manager, patient_of, role_required
from hms.clock import clinic_today, utc_now
from hms.doctors import directory
from hms.forms import WaitlistForm
from hms.models import Department, Doctor, Patient, SlotOffer, User, WaitlistEntry, page_of
from hms.scheduling import SchedulingError, doctor_directory
from hms.web import arg_int, ascii_int, confirm_first, local_path, render, see_other

bp = Blueprint("waiting", __name__)

DEFAULT_DAYS = 14  # a new entry waits this many days unless told otherwise


def _patient_asked() -> Patient:
    """Whose entry: the patient themself, or the one the desk (or an admin) names; 404 for a
    patient not found or not active."""
    if current_user.role == "patient":
        return patient_of(current_user)
    number = ascii_int(request.values.get("patient"))
    patient = (Patient.select().join(User).where(Patient.id == number,
                                                 User.is_active == True)  # noqa: E712
               .first()) if number else None
    return patient or abort(404)


def _where_asked() -> tuple[Department, Doctor | None]:
    """The specialization (and doctor, if one is named) the entry is for; 404 when unknown."""
    doctor_id = ascii_int(request.values.get("doctor"))
    if doctor_id:
        doctor = doctor_directory().where(Doctor.id == doctor_id).first() or abort(404)
        return doctor.department, doctor
    department = Department.get_or_none(
        Department.id == (ascii_int(request.values.get("department")) or 0))
    return department or abort(404), None


@bp.route("/waitlist/join", methods=["GET", "POST"])
@role_required("patient", "receptionist", "admin")
def join():
    """Join the waitlist of a doctor or a specialization: the first day, the last, the part of
    the day and the reason; a time that suits is offered as soon as one is free."""
    patient = _patient_asked()
    department, doctor = _where_asked()
    today = clinic_today()
    form = WaitlistForm(department=department, data={
        "doctor": doctor.id if doctor else 0, "first_day": today,
        "last_day": today + dt.timedelta(days=DEFAULT_DAYS)})
    if form.validate_on_submit():
        chosen = doctor_directory().where(Doctor.id == form.doctor.data).first() \
            if form.doctor.data else None
        try:
            waitlist.join(patient, department, chosen, form.first_day.data, form.last_day.data,
                          form.part_of_day.data, form.reason.data, current_user)
        except SchedulingError as refusal:
            form.form_errors.append(refusal.message)
        else:
            flash(f"{'You are' if current_user.role == 'patient' else patient.full_name + ' is'}"
                  f" on the waitlist for {waitlist.waits_for(chosen, department)}. A time that"
                  " suits will be offered by e-mail and on the home page.", "success")
            return see_other(url_for("home.patient") if current_user.role == "patient"
                             else url_for(".index", department=department.id))
    return render("waiting/join.html", "waiting/_join_form.html",
                  status=422 if form.errors or form.form_errors else 200, form=form,
                  patient=patient, department=department, doctor=doctor)


@bp.get("/waitlist/")
@role_required("doctor", "receptionist", "admin")
def index():
    """Who waits, in order, with the offer each has open: a doctor's own list (theirs, and
    their specialization's "any doctor"), or one specialization's for the desk and admins."""
    page_no = arg_int("page", 1)
    if current_user.role == "doctor":
        me = doctor_of(current_user)
        query, department = waitlist.waiting(doctor=me), None
    else:
        department = arg_int("department", 0, low=0) or None
        query = waitlist.waiting(department_id=department)
    entries, more = page_of(query, page_no, waitlist.WAITLIST_PAGE)
    return render("waiting/index.html", "waiting/_list.html", entries=entries, more=more,
                  page_no=page_no, first=(page_no - 1) * waitlist.WAITLIST_PAGE + 1,
                  department=department, departments=directory()["departments"],
                  today=clinic_today(), now=utc_now())


@bp.post("/waitlist/<int:entry_id>/leave")
@role_required("patient", "receptionist", "admin")
def leave(entry_id: int):
    """Take an entry off the waitlist: the patient their own, the desk or an admin anyone's."""
    query = WaitlistEntry.select(WaitlistEntry, Patient).join(Patient).where(
        WaitlistEntry.id == entry_id)
    if current_user.role == "patient":
        query = query.where(Patient.user == current_user.id)
    entry = query.first() or abort(404)
    back = local_path(request.form.get("next")) or (
        url_for("home.patient") if current_user.role == "patient" else url_for(".index"))
    if ask := confirm_first("Leave the waitlist?", "Yes, take it off", back,
                            f"{entry.patient.full_name} will not be offered times any more."):
        return ask
    try:
        waitlist.leave(entry, current_user)
    except SchedulingError as refusal:
        flash(refusal.message, "error")
    else:
        flash("Taken off the waitlist.", "success")
    return see_other(back)


# --- an offered time ----------------------------------------------------------------------------

def _offer_for(offer_id: int, sig: str | None) -> SlotOffer:
    """The offer a signed link names, or one of the logged-in patient's own; 404 otherwise."""
    query = (SlotOffer.select(SlotOffer, WaitlistEntry, Doctor).join(WaitlistEntry)
             .switch(SlotOffer).join(Doctor, on=(SlotOffer.doctor == Doctor.id))
             .where(SlotOffer.id == offer_id))
    if sig is not None:
        if not links.signed("offer", offer_id, sig):
            abort(404)
    elif not current_user.is_authenticated:
        abort(login_manager.unauthorized())
    elif current_user.role != "patient":
        abort(403)
    else:
        query = query.where(WaitlistEntry.patient == patient_of(current_user))
    return query.first() or abort(404)


def _offer_page(offer: SlotOffer, sig: str | None, status: int = 200, error: str | None = None):
    here = (url_for(".offer_link", offer_id=offer.id, sig=sig) if sig
            else url_for(".offer", offer_id=offer.id))
    return render("waiting/offer.html", "waiting/_offer.html", status=status, offer=offer,
                  here=here, error=error, ended=waitlist.ENDED.get(offer.status),
                  expired=offer.status == "open" and offer.expires_at <= utc_now())


@bp.get("/offers/<int:offer_id>")
@role_required("patient")
def offer(offer_id: int):
    """A time offered to the patient from the waitlist, to take or let go."""
    return _offer_page(_offer_for(offer_id, None), None)


@bp.get("/offers/<int:offer_id>/<sig>")
def offer_link(offer_id: int, sig: str):
    """The same page from the e-mail's signed link: no login needed, and opening it does
    nothing (mail scanners open links); its buttons do."""
    return _offer_page(_offer_for(offer_id, sig), sig)


@bp.post("/offers/<int:offer_id>/<any(claim, decline):answer>", defaults={"sig": None})
@bp.post("/offers/<int:offer_id>/<sig>/<any(claim, decline):answer>")
def answer(offer_id: int, answer: str, sig: str | None):
    """Take the offered time (booked through the usual rules) or let it go to the next one."""
    found = _offer_for(offer_id, sig)
    patient = Patient.get_by_id(found.entry.patient_id)
    try:
        if answer == "decline":
            waitlist.decline(found)
        else:
            appt = waitlist.claim(found, User.get_by_id(patient.user_id))
    except SchedulingError as refusal:
        return _offer_page(SlotOffer.get_by_id(found.id), sig, status=409, error=refusal.message)
    if answer == "decline":
        flash("You let the time go; you keep your place on the waitlist.", "success")
    else:
        flash(f"Booked: {appt.date:%A %-d %B} at {appt.time:%H:%M} with "
              f"{found.doctor.full_name}.", "success")
    if current_user.is_authenticated and current_user.id == patient.user_id:
        return see_other(url_for("appointments.detail", appointment_id=appt.id)
                         if answer == "claim" else url_for("home.patient"))
    return _offer_page(SlotOffer.get_by_id(found.id), sig)


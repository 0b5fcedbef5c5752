"""The front desk: find or register the patient, pick a doctor and a slot, book, print the slip,
and keep an eye on today's queue — all on one page, from the keyboard.

Every GET of the booking panel renders the whole desk page, or for htmx just the panel
(`desk/_booking.html`), so a search, a pick or a day change is one small swap.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, request, url_for
from flask_login import current_user

from hms import overbooking
from hms.accounts import register_walk_in
from hms.appointments import attempt_booking
from hms.auth import appointment_for, role_required
from hms.clock import clinic_now, clinic_today
from hms.doctors import directory, picked_day
from hms.forms import WalkInForm
from hms.models import Appointment, Doctor, Patient, User
from hms.pdf import pdf_response, render_pdf
from hms.scheduling import (
    SchedulingError,
    bookable_days,
    check_slot,
    desk_only,
    doctor_directory,
    first_free_slot,
    offered_slots,
    parse_slot,
    slot_key,
)
from hms.web import arg_int, ascii_int, render, see_other, wants_fragment

bp = Blueprint("desk", __name__, url_prefix="/desk")

PANEL = "desk/_booking.html"


@bp.before_request
@role_required("receptionist", "admin")
def _front_desk_only() -> None:
    """The desk is for receptionists and admins; everyone else gets 403."""


@bp.get("/")
def index():
    """The desk: the booking panel for what has been picked so far, and today's queue."""
    return panel()


@bp.get("/patients")
def patients():
    """Patients matching what has been typed (name, phone or number), as you type."""
    q = request.args.get("q", "").strip()[:80]
    if not wants_fragment():
        return panel()
    return render("desk/index.html", "desk/_results.html", **results(q), hold=held())


@bp.get("/slots")
def slots():
    """The chosen doctor's free times on another day: the slot picker swaps itself."""
    if not wants_fragment():
        return panel()
    patient, doctor = picked_patient(), picked_doctor()
    if patient is None or doctor is None:
        abort(404)
    return render("desk/index.html", "doctors/_picker.html",
                  **picker(patient, doctor, picked_day(request.args.get("date"))))


@bp.get("/first-free")
def first_free():
    """The first free slot in a specialization today or tomorrow: doctor and slot preselected."""
    patient = picked_patient()
    department = arg_int("department", 0, low=0)
    day = clinic_today() + dt.timedelta(days=1 if request.args.get("when") == "tomorrow" else 0)
    found = first_free_slot(department, day, patient) if patient else None
    if found is None:
        return panel(notice=f"No free slot in that specialization {day_word(day)}.",
                     department=department)
    doctor, day, time = found
    return panel(doctor=doctor, slot=(day, time), department=department)


@bp.get("/queue")
def queue():
    """Today's queue, for all doctors or one: refreshed whenever an appointment changes."""
    if not wants_fragment():
        return panel()
    return render("desk/index.html", "home/_day_list.html", **queue_context())


@bp.post("/walk-in")
def walk_in():
    """Register a walk-in (no email, no password) and pick them; messages beside the fields."""
    form = WalkInForm()
    if not form.validate_on_submit():
        return panel(status=422, walk_in_form=form)
    patient = register_walk_in(form.full_name.data, form.gender.data, form.dob.data,
                               form.phone.data)
    return picked(url_for(".index", patient=patient.id), patient=patient,
                  notice=f"{patient.full_name} is patient no. {patient.id}.")


@bp.post("/book")
def book():
    """Book the slot for the patient; a slot taken meanwhile is 409 with fresh free times."""
    patient, doctor = picked_patient(request.form), picked_doctor(request.form)
    if patient is None or doctor is None:
        abort(404)
    slot, reason = parse_slot(request.form.get("slot")), request.form.get("reason", "").strip()
    attempt = attempt_booking(patient, doctor, slot, reason, "Give a short reason for the visit.")
    if attempt.appointment:
        return booked(attempt.appointment)
    return panel(status=attempt.status, patient=patient, doctor=doctor, slot=slot,
                 reason=reason, errors=attempt.errors, offered=attempt.offered)


@bp.route("/overbook", methods=["GET", "POST"])
def overbook():
    """Book a patient over a full session the doctor allows it for: a time a booking holds,
    the reason for the visit and why they must be seen today; audited and marked."""
    values = request.form if request.method == "POST" else request.args
    patient, doctor = picked_patient(values), picked_doctor(values)
    if patient is None or doctor is None:
        abort(404)
    day = picked_day(values.get("date")) if request.method == "GET" else None
    errors, status = {}, 200
    if request.method == "POST":
        slot = parse_slot(values.get("slot"))
        reason, why = values.get("reason", "").strip(), values.get("why", "").strip()
        if slot is None:
            errors["slot"] = "Pick a time to book over."
        if not reason:
            errors["reason"] = "Give a short reason for the visit."
        if not why:
            errors["why"] = "Say why this patient must be seen over the session."
        if not errors:
            try:
                return booked(overbooking.overbook(patient, doctor, *slot, reason, why,
                                                   current_user))
            except SchedulingError as refusal:
                errors["slot"] = refusal.message
        day, status = (slot[0] if slot else clinic_today()), 409 if "slot" in errors else 422
    return panel(status=status, patient=patient, doctor=doctor, errors=errors,
                 values={"date": day.isoformat()}, overbook_day=day,
                 overbook_times=overbooking.overbook_times(doctor, day, patient),
                 places=overbooking.places_left(doctor, day),
                 typed={"reason": values.get("reason", ""), "why": values.get("why", ""),
                        "slot": values.get("slot", "")})


@bp.post("/pick")
def pick():
    """Another time or day picked once a reason is typed (after a slot was just taken): posted,
    so the reason stays in the form and never travels in a URL; the panel comes back at that
    day, or at the confirm step with the reason kept."""
    patient, doctor = picked_patient(request.form), picked_doctor(request.form)
    if patient is None or doctor is None:
        abort(404)
    return panel(patient=patient, doctor=doctor, values=request.form,
                 reason=request.form.get("reason", "").strip())


@bp.get("/slip/<int:appointment_id>")
def slip(appointment_id: int):
    """The appointment slip, printable (the print stylesheet shows only the slip)."""
    appt = appointment_for(current_user, appointment_id)
    return render("desk/slip.html", "desk/_slip.html", a=appt, **queue_context())


@bp.get("/slip/<int:appointment_id>.pdf")
def slip_pdf(appointment_id: int):
    """The appointment slip as a PDF."""
    appt = appointment_for(current_user, appointment_id)
    return pdf_response(render_pdf("pdf/slip.html", a=appt), f"slip-{appt.id}.pdf")


# --- helpers ----------------------------------------------------------------------------------

def picked_patient(values=None) -> Patient | None:
    """The patient picked (patient or patient_id), if any and still active."""
    values = request.args if values is None else values
    number = ascii_int(values.get("patient_id") or values.get("patient"))
    if number is None:
        return None
    return (Patient.select(Patient).join(User)
            .where(Patient.id == number, User.is_active == True).first())  # noqa: E712


def picked_doctor(values=None) -> Doctor | None:
    """The doctor picked (doctor or doctor_id), if any and bookable."""
    values = request.args if values is None else values
    number = ascii_int(values.get("doctor_id") or values.get("doctor"))
    if number is None:
        return None
    return doctor_directory().where(Doctor.id == number).first()


def held() -> dict:
    """A doctor's time picked before the patient (from the doctors' pages): carried through
    the patient search, so that picking the patient leads straight to booking it."""
    doctor, slot = picked_doctor(), parse_slot(request.args.get("slot"))
    return {"doctor": doctor.id, "slot": slot_key(*slot)} if doctor and slot else {}


def day_word(day: dt.date) -> str:
    return "today" if day == clinic_today() else "tomorrow"


RESULTS = 10  # patients a desk search shows


def results(q: str) -> dict:
    """The patients found for q; with nothing found, a walk-in form started from q."""
    found = list(Patient.search(q, RESULTS + 1)) if q else []
    more, found = len(found) > RESULTS, found[:RESULTS]
    form = None
    if q and not found:
        digits = ascii_int(q.replace(" ", "").lstrip("+"), max_digits=20) is not None
        form = WalkInForm(formdata=None, data={"phone" if digits else "full_name": q})
    return {"q": q, "found": found, "more": more, "walk_in_form": form}


def picker(patient: Patient, doctor: Doctor, day: dt.date, reason: str = "") -> dict:
    """The slot picker's context for the desk: its links carry the patient and doctor, and
    swap the booking panel. Once a reason is typed (a slot was just taken), its days and
    times are buttons of a form posted to .pick with the reason as a hidden field: a reason
    says why someone sees a doctor, and URLs end up in the address bar, history and logs."""
    keep = {"patient": patient.id, "doctor": doctor.id}
    context = {"day": day, "days": bookable_days(), "today": clinic_today(),
               "pick_target": "#desk-booking",
               "slots": [t for _, t in offered_slots(doctor, day, day, patient=patient)],
               # A session of this day the doctor let the desk book over, with places left.
               "overbook_url": url_for(".overbook", **keep, date=day.isoformat())
               if overbooking.overbook_times(doctor, day) else None}
    if reason:
        return context | {"pick_url": url_for(".pick"), "picker_url": url_for(".pick"),
                          "pick_post": {"patient_id": patient.id, "doctor_id": doctor.id,
                                        "reason": reason}}
    return context | {
        "picker_url": url_for(".slots"), "picker_keep": keep,
        "pick_url": url_for(".index", **keep),
        # Coming back to the desk window re-reads the free times: never book from a stale list.
        "picker_refresh": url_for(".slots", **keep, date=day.isoformat())}


QUEUE_ROWS = 20  # a busy day's queue shows the rows due about now, and links to the rest


def queue_context(values=None) -> dict:
    """Today's live appointments, for one doctor (?queue=<id>) or all. A day of more than
    QUEUE_ROWS (a hospital's desk sees thousands) shows those from an hour ago on, unless
    ?all=1: every booking refreshes the queue, and each row costs the slow link bytes."""
    values = request.args if values is None else values
    doctor_id = ascii_int(values.get("queue")) or 0
    doctor = doctor_directory().where(Doctor.id == doctor_id).first() if doctor_id else None
    queue, today = (doctor.id if doctor else None), clinic_today()
    day = Appointment.on_day(today, doctor)
    total = day.count()
    everything = values.get("all") == "1"
    context = {"today": today, "total": total, "queue_doctor": queue,
               "refresh_url": url_for(".queue", queue=queue, all=1 if everything else None),
               "doctors": directory()["doctors"]}
    if total <= QUEUE_ROWS or everything:
        return context | {"appointments": list(day)}
    an_hour_ago = clinic_now() - dt.timedelta(hours=1)
    since = an_hour_ago.time() if an_hour_ago.date() == today else dt.time(0)
    rows = list(day.where(Appointment.time >= since).limit(QUEUE_ROWS))
    if len(rows) < QUEUE_ROWS:  # late in the day: the last rows of the day
        rows = list(day.order_by(Appointment.time.desc(), Doctor.full_name.desc())
                    .limit(QUEUE_ROWS))[::-1]
    return context | {"appointments": rows, "all_url": url_for(".index", queue=queue, all=1)}


def panel(status: int = 200, patient: Patient | None = None, doctor: Doctor | None = None,
          slot: tuple | None = None, values=None, **context):
    """The booking panel as far as it has got (the whole desk page without htmx), from the
    query (or the posted `values` of .pick)."""
    values = request.args if values is None else values
    patient = patient or picked_patient()
    doctor = doctor or picked_doctor()
    if slot is None and "errors" not in context and doctor:
        slot = parse_slot(values.get("slot"))
    day = slot[0] if slot else None
    if slot and doctor and "errors" not in context:
        try:
            check_slot(doctor, *slot)  # say so before the reason is typed
        except SchedulingError as refusal:
            context["errors"], slot = {"slot": refusal.message}, None
    q = request.args.get("q", "").strip()[:80]
    context.setdefault("errors", {})
    if patient:
        context["missed"] = desk_only(patient)  # why they book here only, if they do
    if doctor and patient:
        day = day or picked_day(values.get("date"))
        context.setdefault("reason", "")  # from a posted form only, never from the URL
        context.update(picker(patient, doctor, day, context["reason"]))
    if not patient:
        context["hold"] = held() if slot else {}
        found = results(q)
        if context.get("walk_in_form") is not None or request.args.get("walk_in"):
            found["walk_in_form"] = context.get("walk_in_form") or WalkInForm(formdata=None)
            found["walk_in_open"] = True
        context.update(found)
    listing = directory()
    return render("desk/index.html", PANEL, status=status, patient=patient, doctor=doctor,
                  slot=slot, slot_value=slot_key(*slot) if slot else "",
                  departments=listing["departments"], **{**queue_context(), **context})


def picked(url: str, **context):
    """After a walk-in is registered: htmx gets the panel (and the URL), a plain post a 303."""
    if not wants_fragment():
        return see_other(url)
    response = panel(**context)
    response.headers["HX-Push-Url"] = url
    return response


def booked(appt: Appointment):
    """After booking: for htmx the slip in place and, in the same answer, the queue as the
    desk was showing it (out of band: no second request to refresh it); else a 303."""
    url = url_for(".slip", appointment_id=appt.id)
    if not wants_fragment():
        return see_other(url)
    response = render("desk/slip.html", "desk/_slip_and_queue.html", a=appt,
                      **queue_context(request.form))
    response.headers["HX-Push-Url"] = url
    return response

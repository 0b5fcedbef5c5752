"""Treatment records: the visit's doctor writes them, with a list of medicines."""

from __future__ import annotations

from flask import Blueprint, flash, request, url_for
from flask_login import current_user

from hms.auth import appointment_for, role_required
from hms.models import VISIT_TYPES
from hms.scheduling import SchedulingError
from hms.visits import TREATABLE, TreatmentDraft, add_treatment
from hms.web import ascii_int, render, see_other

bp = Blueprint("treatments", __name__)


@bp.route("/appointments/<int:appointment_id>/treatments/new", methods=["GET", "POST"])
@role_required("doctor")
def new(appointment_id: int):
    """Write a treatment record for one of the doctor's own visits. The Add and Remove buttons
    re-render the form with one row more or less (swapped by htmx, or a plain page)."""
    appt = appointment_for(current_user, appointment_id)
    status = 200
    if request.method == "GET":
        draft = TreatmentDraft({"visit_type": "first"}, [{}])
    else:
        draft = TreatmentDraft.from_form(request.form)
        if "add_medicine" in request.form:
            draft.medicines.append({})
        elif "remove_medicine" in request.form:
            index = ascii_int(request.form.get("remove_medicine"))
            if index is not None and 0 <= index < len(draft.medicines):
                del draft.medicines[index]
        else:
            try:
                treatment = add_treatment(appt, draft, current_user)
            except SchedulingError as refusal:
                draft.errors["form"], status = refusal.message, refusal.status
            else:
                if treatment:
                    flash("Treatment saved.", "success")
                    return see_other(url_for("appointments.detail", appointment_id=appt.id))
                status = 422
    if appt.status not in TREATABLE and "form" not in draft.errors:
        draft.errors["form"] = "Treatments are recorded once the patient has checked in."
        status = 409 if request.method == "POST" else 200
    return render("treatments/new.html", "treatments/_form.html", status=status, appt=appt,
                  draft=draft, visit_types=VISIT_TYPES)

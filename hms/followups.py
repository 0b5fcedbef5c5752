"""Follow-up recalls, as doctors and admins see them: open, overdue, booked and closed, each with
its patient; a recall no longer needed can be closed. The rules are in hms/recalls.py."""

from __future__ import annotations

from flask import Blueprint, abort, flash, request, url_for
from flask_login import current_user

from hms import recalls
from hms.auth import doctor_of, role_required
from hms.clock import clinic_today
from hms.doctors import directory
from hms.models import Doctor, Recall
from hms.scheduling import SchedulingError
from hms.web import arg_int, confirm_first, local_path, render, see_other

bp = Blueprint("followups", __name__, url_prefix="/recalls")


def _doctor_asked() -> Doctor | None:
    """A doctor sees their own recalls; an admin everyone's, or one doctor's (?doctor=)."""
    if current_user.role == "doctor":
        return doctor_of(current_user)
    doctor_id = arg_int("doctor", 0, low=0)
    return (Doctor.get_or_none(Doctor.id == doctor_id) or abort(404)) if doctor_id else None


@bp.get("/")
@role_required("doctor", "admin")
def index():
    """Recalls in one state (open by default), 25 a page, with how many are in each."""
    state = request.args.get("state", "open")
    if state not in recalls.STATES:
        abort(404)
    doctor, page_no, today = _doctor_asked(), arg_int("page", 1), clinic_today()
    rows, more = recalls.listing(state, page_no, doctor)
    return render("followups/index.html", "followups/_list.html", rows=rows, more=more,
                  page_no=page_no, state=state, doctor=doctor, today=today,
                  counts=recalls.counts(today, doctor), counted=recalls.COUNTED,
                  state_of=recalls.state_of,
                  doctors=directory()["doctors"] if current_user.role == "admin" else [])


@bp.post("/<int:recall_id>/close")
@role_required("doctor", "admin")
def close(recall_id: int):
    """Close a recall that is no longer needed: the doctor's own, or any for an admin."""
    query = Recall.select().where(Recall.id == recall_id)
    if current_user.role == "doctor":
        query = query.where(Recall.doctor == doctor_of(current_user))
    recall = query.first() or abort(404)
    back = local_path(request.form.get("next")) or url_for(".index")
    if ask := confirm_first("Close this recall?", "Yes, close it", back,
                            "The patient will not be reminded to book this follow-up."):
        return ask
    try:
        recalls.close(recall, current_user)
    except SchedulingError as refusal:
        flash(refusal.message, "error")
    else:
        flash("The recall is closed.", "success")
    return see_other(back)

"""One-click replies to a reminder: its signed links let the patient confirm they will come,
or cancel (with a reason, until CANCEL_CUTOFF_HOURS before), without logging in. A link works
until the appointment starts. Opening one shows the appointment and a button; the button does
it (mail scanners open links). The rules are scheduling.confirm_appointment and
cancel_appointment, as for any confirmation or cancellation."""

from __future__ import annotations

from flask import Blueprint, abort, request

from hms import links
from hms.appointments import REASON_MAX
from hms.clock import utc_now
from hms.models import Appointment, Doctor, Patient, User
from hms.scheduling import (
    SchedulingError,
    cancel_appointment,
    confirm_appointment,
    online_cancel_ends,
    starts_at,
)
from hms.web import render

bp = Blueprint("replies", __name__, url_prefix="/reply")


def moved_to(appt: Appointment) -> Appointment | None:
    """Where a moved appointment is now, however many times it moved (None if it did not)."""
    latest = appt
    while latest.status == "rescheduled":
        following = Appointment.get_or_none(Appointment.rescheduled_from == latest.id)
        if following is None:
            break
        latest = following
    return latest if latest.id != appt.id else None


@bp.route("/<int:appointment_id>/<any(confirm, cancel):action>/<sig>",
          methods=["GET", "POST"])
def reply(appointment_id: int, action: str, sig: str):
    """Confirm or cancel an appointment from its reminder's link."""
    if not links.signed(f"reply-{action}", appointment_id, sig):
        abort(404)
    appt = (Appointment.select(Appointment, Patient, Doctor).join(Patient)
            .switch(Appointment).join(Doctor).where(Appointment.id == appointment_id)
            .first()) or abort(404)
    moved = moved_to(appt)
    if starts_at(moved or appt) <= utc_now():  # a link works until the appointment starts
        abort(410, "This link has expired: the appointment has started.")
    reason, error, done, status = request.form.get("reason", "").strip(), None, None, 200
    if request.method == "POST":
        try:
            if action == "confirm":
                confirm_appointment(appt)
                done = "Thank you: the clinic knows you are coming."
            elif not reason:
                error, status = "Tell the clinic briefly why you cannot come.", 422
            elif len(reason) > REASON_MAX:
                error, status = f"Use at most {REASON_MAX} characters.", 422
            else:
                cancel_appointment(appt, User.get_by_id(appt.patient.user_id), reason)
                done = "Your appointment is cancelled, and its time is free for someone else."
        except SchedulingError as refusal:
            error, status = refusal.message, refusal.status
        appt = Appointment.get_by_id(appt.id)
    return render("replies/reply.html", "replies/_reply.html", status=status, appt=appt,
                  action=action, reason=reason, error=error, done=done, moved_to=moved,
                  too_late=action == "cancel" and utc_now() >= online_cancel_ends(appt))

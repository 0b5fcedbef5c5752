"""Follow-up recalls: a treatment's follow-up date asks the patient back, and HMS sees that they
book it. No Flask views here (hms/followups.py).

A treatment with a follow-up date makes a `recall` in the same transaction (one per patient,
doctor and day, however many records name it). A recall is answered by any live booking
(booked, checked in, completed) of the patient with that doctor after the visit it came from:
its `booked_for` day, which schema.sql's triggers keep on every change of the patient's
appointments, so a cancelled follow-up opens the recall again and nobody has to tick it off.
Until it is answered it is open, and overdue once its day has passed; staff may close one that
is no longer needed. In the week before its day (RECALL_NOTICE_DAYS, at REMINDER_HOUR clinic
time) the sweep makes a `recall_mail`, sent once like a reminder: it names the day and links to
the doctor's free times around it. One made later than that (a follow-up within the week) goes
at once.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app
from peewee import fn

from hms import links
from hms.audit import audit
from hms.clock import clinic_today, to_clinic, utc_now
from hms.db import write_transaction
from hms.mail import compose
from hms.models import (
    Appointment,
    Department,
    Doctor,
    Patient,
    Recall,
    RecallMail,
    Treatment,
    User,
    page_of,
)
from hms.notices import NotNeeded, message_id, send_once
from hms.scheduling import SchedulingError, offered_slots, slot_key, slot_start

STATES = ("open", "overdue", "booked", "closed")
PAGE = 25
AROUND = 3  # the e-mail offers free times this many days either side of the follow-up day


def record(treatment: Treatment, appt: Appointment) -> None:
    """Ask the patient back for the treatment's follow-up date (in the treatment's own
    transaction): a recall, unless one for that patient, doctor and day exists."""
    if treatment.follow_up_date is None:
        return
    Recall.insert(treatment=treatment, patient=appt.patient_id, doctor=appt.doctor_id,
                  visit_date=appt.date, due_date=treatment.follow_up_date,
                  created_at=treatment.created_at).on_conflict_ignore().execute()


def in_state(state: str, today: dt.date):
    """The condition for recalls in one state."""
    waiting = Recall.booked_for.is_null() & Recall.closed_at.is_null()
    return {"open": waiting & (Recall.due_date >= today),
            "overdue": waiting & (Recall.due_date < today),
            "booked": Recall.booked_for.is_null(False) & Recall.closed_at.is_null(),
            "closed": Recall.closed_at.is_null(False)}[state]


# Open recalls soonest first; the others most recent first (years of overdue follow-ups pile up
# behind the ones worth a phone call).
ORDER = {"open": Recall.due_date, "overdue": Recall.due_date.desc(),
         "booked": Recall.due_date.desc(), "closed": Recall.due_date.desc()}


def listing(state: str, page_no: int, doctor: Doctor | None = None) -> tuple[list, bool]:
    """One page of recalls in a state (one doctor's, or all), each with its patient and doctor."""
    query = (Recall.select(Recall, Patient, Doctor)
             .join(Patient, on=(Recall.patient == Patient.id))
             .switch(Recall).join(Doctor, on=(Recall.doctor == Doctor.id))
             .where(in_state(state, clinic_today())).order_by(ORDER[state], Recall.id))
    if doctor is not None:
        query = query.where(Recall.doctor == doctor)
    return page_of(query, page_no, PAGE)


COUNTED = 1000  # a count stops here ("1000+"): its cost must not grow with years of history


def counts(today: dt.date, doctor: Doctor | None = None) -> dict[str, int]:
    """How many recalls are open, overdue and booked (one doctor's, or all), each counted up
    to COUNTED."""
    found = {}
    for state in ("open", "overdue", "booked"):
        query = Recall.select(Recall.id).where(in_state(state, today))
        if doctor is not None:
            query = query.where(Recall.doctor == doctor)
        found[state] = query.limit(COUNTED).count()
    return found


def state_of(recall: Recall, today: dt.date) -> str:
    """A recall's state."""
    if recall.closed_at is not None:
        return "closed"
    if recall.booked_for is not None:
        return "booked"
    return "overdue" if recall.due_date < today else "open"


def of_patient(patient: Patient) -> list[Recall]:
    """A patient's recalls still to book (open, or overdue by at most 30 days), soonest first,
    with their doctors."""
    today = clinic_today()
    return list(Recall.select(Recall, Doctor, Department)
                .join(Doctor, on=(Recall.doctor == Doctor.id)).join(Department)
                .where(Recall.patient == patient, Recall.closed_at.is_null(),
                       Recall.booked_for.is_null(),
                       Recall.due_date >= today - dt.timedelta(days=30))
                .order_by(Recall.due_date))


def close(recall: Recall, by: User) -> None:
    """Close a recall that is no longer needed (the patient was seen elsewhere, say), on the
    audit log in the same transaction."""
    with write_transaction():
        if not Recall.update(closed_at=utc_now(), closed_by=by).where(
                Recall.id == recall.id, Recall.closed_at.is_null()).execute():
            raise SchedulingError("This recall is already closed.")
        audit(by, "close recall", recall.patient_id, "recall", recall.id)


# --- the reminder to book -----------------------------------------------------------------------

def mail_due(due_date: dt.date) -> dt.datetime:
    """When the e-mail about a follow-up day falls due, in naive UTC."""
    config = current_app.config
    day = due_date - dt.timedelta(days=config["RECALL_NOTICE_DAYS"])
    return slot_start(day, dt.time(config["REMINDER_HOUR"]))


def new_recall_mails(now: dt.datetime) -> int:
    """Make the e-mails of the recalls whose week before has come (in the sweep's
    transaction): open, unanswered, their day still ahead, none made yet."""
    today = to_clinic(now).date()
    horizon = today + dt.timedelta(days=current_app.config["RECALL_NOTICE_DAYS"])
    made = RecallMail.select(RecallMail.id).where(RecallMail.recall == Recall.id)
    due = (Recall.select(Recall.id, Recall.due_date)
           .where(Recall.due_date.between(today, horizon), Recall.closed_at.is_null(),
                  Recall.booked_for.is_null(), ~fn.EXISTS(made)))
    rows = [{"recall": r.id, "status": "queued", "claimed_at": now, "due_at": now,
             "expires_at": slot_start(r.due_date + dt.timedelta(days=1), dt.time()),
             "message_id": message_id("recall", str(r.id))}
            for r in due if mail_due(r.due_date) <= now]
    if rows:
        RecallMail.insert_many(rows).on_conflict_ignore().execute()
    return len(rows)


def send_recall_mail(mail_id: int) -> str:
    """Send one queued recall e-mail, once; a recall answered or closed meanwhile is not."""

    def message(row: RecallMail):
        recall = Recall.get_by_id(row.recall_id)
        if recall.closed_at is not None:
            raise NotNeeded("The recall was closed before its e-mail went out.")
        if recall.booked_for is not None:
            raise NotNeeded("The follow-up was booked before its e-mail went out.")
        patient = Patient.get_by_id(recall.patient_id)
        user = User.get_by_id(patient.user_id)
        if not user.email:
            raise NotNeeded("The patient has no e-mail address.")
        doctor = Doctor.get_by_id(recall.doctor_id)
        around = (recall.due_date - dt.timedelta(days=AROUND),
                  recall.due_date + dt.timedelta(days=AROUND))
        times = [(links.public_url(f"/appointments/book/{doctor.id}?slot={slot_key(*s)}"),
                  dt.datetime.combine(*s)) for s in offered_slots(doctor, *around, limit=6)]
        return compose(
            user.email, f"Time to book your follow-up with {doctor.full_name}", "recall",
            recall=recall, patient=patient, doctor=doctor, times=times,
            doctor_link=links.public_url(f"/doctors/{doctor.id}"),  # opens on a free day
            message_id=row.message_id, clinic=current_app.config)

    return send_once(RecallMail, mail_id, message)


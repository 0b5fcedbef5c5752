"""Follow-up recalls: a treatment's follow-up date asks the patient back, and HMS sees that they
book it. No Flask views here (hms/followups.py).

A treatment with a follow-up date makes a `recall` in the same transaction (one per patient,
doctor and day, however many records name it). A recall is answered by any live booking of the
patient with that doctor after the visit it came from: this is read from the appointments each
time, so a cancelled follow-up opens the recall again and nobody has to tick it off. Until it is
answered it is open, and overdue once its day has passed; staff may close one that is no longer
needed. In the week before its day (RECALL_NOTICE_DAYS, at REMINDER_HOUR clinic time) the sweep
makes a `recall_mail`, sent once like a reminder: it names the day and links to the doctor's
free times around it. One made later than that (a follow-up within the week) goes at once.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app
from peewee import Case, fn

from hms import links
from hms.clock import clinic_instant, clinic_today, to_clinic, utc_now
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
from hms.scheduling import SchedulingError, offered_slots, slot_key

# A booking answers a recall in these statuses (a no-show or a cancelled one does not).
ANSWERING = ("booked", "checked_in", "completed")
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


def _answering(column):
    """A subquery correlated with the recall: `column` of the live appointments with its doctor
    after its visit (through the patient's diary index)."""
    return Appointment.select(column).where(
        Appointment.patient == Recall.patient, Appointment.doctor == Recall.doctor,
        Appointment.date > Recall.visit_date, Appointment.status.in_(ANSWERING))


def answered():
    """The condition 'a live booking answers the recall'."""
    return fn.EXISTS(_answering(Appointment.id))


def in_state(state: str, today: dt.date):
    """The condition for recalls in one state."""
    still_open = Recall.closed_at.is_null() & ~answered()
    return {"open": still_open & (Recall.due_date >= today),
            "overdue": still_open & (Recall.due_date < today),
            "booked": Recall.closed_at.is_null() & answered(),
            "closed": Recall.closed_at.is_null(False)}[state]


def listing(state: str, page_no: int, doctor: Doctor | None = None) -> tuple[list, bool]:
    """One page of recalls in a state (one doctor's, or all), each with its patient, doctor and
    the date of the booking that answers it: overdue ones longest overdue first, the others by
    their day."""
    today = clinic_today()
    order = Recall.due_date if state != "booked" else Recall.due_date.desc()
    query = (Recall.select(Recall, Patient, Doctor, _answering(fn.MIN(Appointment.date)).alias("booked_for"))
             .join(Patient, on=(Recall.patient == Patient.id))
             .switch(Recall).join(Doctor, on=(Recall.doctor == Doctor.id))
             .where(in_state(state, today)).order_by(order, Recall.id))
    if doctor is not None:
        query = query.where(Recall.doctor == doctor)
    rows, more = page_of(query, page_no, PAGE)
    for row in rows:  # a computed column: SQLite gives the date as text
        if isinstance(row.booked_for, str):
            row.booked_for = dt.date.fromisoformat(row.booked_for)
    return rows, more


def counts(today: dt.date, doctor: Doctor | None = None) -> dict[str, int]:
    """How many recalls are open, overdue and booked (one doctor's, or all), in one query."""
    answer = answered()
    still_open = Recall.closed_at.is_null() & ~answer
    sums = [fn.SUM(Case(None, [(condition, 1)], 0)).alias(state) for state, condition in (
        ("open", still_open & (Recall.due_date >= today)),
        ("overdue", still_open & (Recall.due_date < today)),
        ("booked", Recall.closed_at.is_null() & answer))]
    query = Recall.select(*sums)
    if doctor is not None:
        query = query.where(Recall.doctor == doctor)
    row = query.dicts().get()
    return {state: row[state] or 0 for state in ("open", "overdue", "booked")}


def state_of(recall: Recall, today: dt.date) -> str:
    """A listed recall's state (it was read with its booked_for)."""
    if recall.closed_at is not None:
        return "closed"
    if getattr(recall, "booked_for", None):
        return "booked"
    return "overdue" if recall.due_date < today else "open"


def of_patient(patient: Patient) -> list[Recall]:
    """A patient's recalls still to book (open or overdue), soonest first, with their doctors."""
    today = clinic_today()
    return list(Recall.select(Recall, Doctor, Department)
                .join(Doctor, on=(Recall.doctor == Doctor.id)).join(Department)
                .where(Recall.patient == patient, Recall.closed_at.is_null(), ~answered(),
                       Recall.due_date >= today - dt.timedelta(days=30))
                .order_by(Recall.due_date))


def close(recall: Recall, by: User) -> None:
    """Close a recall that is no longer needed (the patient was seen elsewhere, say)."""
    with write_transaction():
        if not Recall.update(closed_at=utc_now(), closed_by=by).where(
                Recall.id == recall.id, Recall.closed_at.is_null()).execute():
            raise SchedulingError("This recall is already closed.")


# --- the reminder to book -----------------------------------------------------------------------

def mail_due(due_date: dt.date) -> dt.datetime:
    """When the e-mail about a follow-up day falls due, in naive UTC."""
    config = current_app.config
    day = due_date - dt.timedelta(days=config["RECALL_NOTICE_DAYS"])
    return clinic_instant(day, dt.time(config["REMINDER_HOUR"])).replace(tzinfo=None)


def new_recall_mails(now: dt.datetime) -> int:
    """Make the e-mails of the recalls whose week before has come (in the sweep's
    transaction): open, unanswered, their day still ahead, none made yet."""
    today = to_clinic(now).date()
    horizon = today + dt.timedelta(days=current_app.config["RECALL_NOTICE_DAYS"])
    made = RecallMail.select(RecallMail.id).where(RecallMail.recall == Recall.id)
    due = (Recall.select(Recall.id, Recall.due_date)
           .where(Recall.due_date.between(today, horizon), Recall.closed_at.is_null(),
                  ~fn.EXISTS(made), ~answered()))
    rows = [{"recall": r.id, "status": "queued", "claimed_at": now, "due_at": now,
             "expires_at": clinic_instant(r.due_date + dt.timedelta(days=1),
                                          dt.time()).replace(tzinfo=None),
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
        if Recall.select().where(Recall.id == recall.id, answered()).exists():
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
            doctor_link=links.public_url(
                f"/doctors/{doctor.id}?date={max(recall.due_date, clinic_today()).isoformat()}"),
            message_id=row.message_id, clinic=current_app.config)

    return send_once(RecallMail, mail_id, message)


"""The clinical rules: an appointment's status changes at the visit and treatment records, each
audited (hms/audit.py). No Flask views here."""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from typing import ClassVar

from flask import current_app
from flask_login import current_user

from hms import cache, recalls
from hms.audit import audit
from hms.clock import clinic_now, to_clinic, utc_now
from hms.db import db, write_transaction
from hms.models import (
    VISIT_TYPES,
    Appointment,
    Department,
    Doctor,
    Patient,
    Treatment,
    User,
    page_of,
)
from hms.scheduling import SchedulingError, TooLong, is_late_cancel, slots_freed, starts_at
from hms.web import ascii_int

log = logging.getLogger(__name__)

REASON_LIMIT = 500  # as appointments.REASON_MAX, for a cancellation's reason

STAFF = ("doctor", "receptionist", "admin")
# action: (label, statuses it may start from, roles that may take it)
ACTIONS = {
    "check_in": ("Check in", ("booked",), STAFF),
    "start": ("Start", ("checked_in",), ("doctor",)),  # the patient goes in to the doctor
    "complete": ("Complete", ("checked_in",), ("doctor", "admin")),
    "no_show": ("No-show", ("booked",), STAFF),
    "undo_no_show": ("Undo no-show", ("no_show",), STAFF),
    "cancel": ("Cancel", ("booked", "checked_in"), STAFF),
}
RESULT = {"check_in": "checked_in", "start": "checked_in", "complete": "completed",
          "no_show": "no_show", "undo_no_show": "booked", "cancel": "cancelled"}
# What the message after each change says became of the appointment.
DONE = {"check_in": "checked in", "start": "in with the doctor", "complete": "completed",
        "no_show": "no show", "undo_no_show": "booked again (no-show taken back)",
        "cancel": "cancelled"}
# Only the visit's own doctor writes its treatments, once the patient has arrived.
TREATABLE = ("checked_in", "completed")


def _timing_refusal(action: str, appt: Appointment, now: dt.datetime) -> str | None:
    start = dt.datetime.combine(appt.date, appt.time)
    if action == "check_in" and appt.date != now.date():
        return "Patients can be checked in on the day of their appointment only."
    if action == "start" and appt.date != now.date():
        return "A consultation starts on the day of its appointment only."
    if action == "start" and appt.started_at is not None:
        return "This consultation has already started."
    if action == "complete" and appt.date > now.date():
        return "A visit cannot be completed before its day."
    if action == "no_show" and start > now:
        return "A patient can be marked as a no-show only once the appointment time has passed."
    # The day's run marks one late in the evening after midnight: it may be taken back then.
    if action == "undo_no_show" and not (appt.date == now.date() or (
            appt.no_show_auto and appt.date == now.date() - dt.timedelta(days=1))):
        return "A no-show can be taken back on the day of the appointment only."
    return None


def allowed_actions(appt: Appointment, user: User) -> list[tuple[str, str]]:
    """The status changes this user may make now, as (action, label), for the row's buttons."""
    now = clinic_now()
    return [(action, label) for action, (label, sources, roles) in ACTIONS.items()
            if appt.status in sources and user.role in roles
            and _timing_refusal(action, appt, now) is None]


def waited(appt: Appointment) -> int | None:
    """For templates: minutes a checked-in patient has waited so far (None once they are in
    with the doctor, or not checked in)."""
    if appt.status != "checked_in" or appt.checked_in_at is None or appt.started_at:
        return None
    return max(0, int((utc_now() - appt.checked_in_at).total_seconds() // 60))


def actions_for(appt: Appointment) -> list[tuple[str, str]]:
    """For templates: the status changes the current user may make to this appointment."""
    return allowed_actions(appt, current_user)


def change_status(appt: Appointment, action: str, by: User, reason: str = "") -> Appointment:
    """Check in, complete, cancel (with a reason) or mark a no-show; anything else is refused
    with a message. The caller has already checked that the user may see the appointment."""
    if action not in ACTIONS:
        raise SchedulingError("Unknown action.")
    label, sources, roles = ACTIONS[action]
    if by.role not in roles:
        raise SchedulingError(f"Your role cannot {label.lower()} appointments.")
    reason = reason.strip()
    if len(reason) > REASON_LIMIT:
        raise TooLong(f"Use at most {REASON_LIMIT} characters for the reason.")
    if action == "cancel" and not reason:
        raise SchedulingError("Give a reason for cancelling; the patient will see it.")
    with write_transaction():
        fresh = Appointment.to_change(appt.id)
        if fresh.status not in sources:
            raise SchedulingError(
                f"A {fresh.status.replace('_', ' ')} appointment cannot be changed to "
                f"{DONE[action]}.")
        refusal = _timing_refusal(action, fresh, clinic_now())
        if refusal:
            raise SchedulingError(refusal)
        now = utc_now()
        fresh.status = RESULT[action]
        if action == "check_in":
            fresh.checked_in_at = now
        elif action == "start":
            fresh.started_at = now
        elif action == "complete":
            fresh.ended_at = now
        elif action == "no_show":
            fresh.no_show_auto = False
        elif action == "undo_no_show":
            fresh.no_show_auto, fresh.no_show_undone_at = False, now
        elif action == "cancel":
            fresh.cancelled_at, fresh.cancelled_by, fresh.cancel_reason = now, by, reason
            fresh.late_cancel = is_late_cancel(fresh, now)
        fresh.save()
        audit(by, f"status:{action if action in ('start', 'undo_no_show') else fresh.status}",
              fresh.patient_id, "appointment", fresh.id)
    cache.appointments_changed(fresh.doctor_id)  # after the commit: see hms/cache.py
    if action == "cancel":
        slots_freed.send(doctor_ids=[fresh.doctor_id])
    return fresh


def mark_no_shows(now: dt.datetime) -> int:
    """The day's own run (the sweep, every minute): booked appointments nobody checked in
    NO_SHOW_GRACE_MINUTES after their time become no-shows, marked as automatic. Staff may
    take one back the same day (undo_no_show); the run never marks it again. Each is a
    conditional update, so two runs mark it once. `now` is naive UTC. Returns how many."""
    grace = dt.timedelta(minutes=current_app.config["NO_SHOW_GRACE_MINUTES"])
    today = to_clinic(now).date()
    candidates = (Appointment.select(Appointment.id, Appointment.doctor, Appointment.date,
                                     Appointment.time)
                  .where(Appointment.status == "booked",
                         Appointment.date.between(today - dt.timedelta(days=1), today),
                         Appointment.no_show_undone_at.is_null()))
    marked: list[Appointment] = []
    for appt in candidates:
        if starts_at(appt) + grace > now:
            continue
        with write_transaction():
            if (Appointment.update(status="no_show", no_show_auto=True)
                    .where(Appointment.id == appt.id, Appointment.status == "booked",
                           Appointment.no_show_undone_at.is_null()).execute()):
                marked.append(appt)
    if marked:
        log.info("Marked %d appointment(s) no-show: not checked in %s after their time",
                 len(marked), grace)
        cache.appointments_changed(*{a.doctor_id for a in marked})
    return len(marked)


# --- treatment records ------------------------------------------------------------------------

MEDICINE_FIELDS = ("name", "dose", "frequency", "days")
# The form's boxes in its order, with the labels the page and its error summary show.
LABELS = {"diagnosis": "Diagnosis", "visit_type": "Visit type", "prescription": "Prescription",
          "tests_text": "Tests", "precautions": "Precautions", "notes": "Notes",
          "follow_up_date": "Follow-up date"}
TEXT_LIMIT = 4000
MEDICINE_LIMIT = 200  # each of a medicine's name, dose and how often


@dataclass
class TreatmentDraft:
    """What the doctor typed, kept as typed so a refused form shows it again."""

    values: dict[str, str] = field(default_factory=dict)
    medicines: list[dict[str, str]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    bad_boxes: set[tuple[int, str]] = field(default_factory=set)  # (medicine row, box)
    labels: ClassVar[dict[str, str]] = LABELS

    @classmethod
    def from_form(cls, form) -> TreatmentDraft:
        values = {k: form.get(k, "").strip() for k in (
            "diagnosis", "prescription", "notes", "visit_type", "tests_text", "precautions",
            "follow_up_date")}
        columns = [form.getlist(f"med_{k}") for k in MEDICINE_FIELDS]
        medicines = [dict(zip(MEDICINE_FIELDS, (v.strip() for v in row), strict=True))
                     for row in zip(*columns, strict=False)]
        return cls(values, medicines)

    def validate(self, visit_day: dt.date) -> dict:
        """Check every field; return the row to save, or fill self.errors."""
        v, errors = self.values, self.errors
        if not v["diagnosis"]:
            errors["diagnosis"] = "Enter the diagnosis."
        for name in ("diagnosis", "prescription", "notes", "tests_text", "precautions"):
            if len(v[name]) > TEXT_LIMIT:
                errors[name] = f"Use at most {TEXT_LIMIT} characters."
        if v["visit_type"] not in VISIT_TYPES:
            errors["visit_type"] = "Choose the type of visit."
        follow_up = None
        if v["follow_up_date"]:
            try:
                follow_up = dt.date.fromisoformat(v["follow_up_date"])
            except ValueError:
                errors["follow_up_date"] = "Enter the follow-up date as a date."
            else:
                if follow_up < visit_day:
                    errors["follow_up_date"] = "The follow-up cannot be before the visit."
        medicines = []
        for i, med in enumerate(self.medicines):
            if not any(med.values()):
                continue  # an empty row is simply ignored
            faults = medicine_faults(med)
            if faults:
                # Every box at fault is marked and said, not the whole row in red.
                self.bad_boxes.update((i, name) for name in faults)
                errors[f"med_{i}"] = " ".join(faults.values())
            else:
                medicines.append({**med, "days": ascii_int(med["days"])})
        return {"diagnosis": v["diagnosis"], "prescription": v["prescription"],
                "notes": v["notes"], "visit_type": v["visit_type"],
                "tests_text": v["tests_text"], "precautions": v["precautions"],
                "follow_up_date": follow_up, "medicines_json": json.dumps(medicines)}


    def faults(self) -> list[tuple[str, str | None]]:
        """The error summary's lines in the form's order, each with the id of the box it links
        to: a medicine's fault, its first box at fault."""
        lines: list[tuple[str, str | None]] = [(self.errors["form"], None)] \
            if "form" in self.errors else []
        lines += [(f"{label}: {self.errors[name]}", name) for name, label in LABELS.items()
                  if name in self.errors]
        for i in range(len(self.medicines)):
            if f"med_{i}" in self.errors:
                box = next((b for b in MEDICINE_FIELDS if (i, b) in self.bad_boxes), "name")
                lines.append((f"Medicine {i + 1}: {self.errors[f'med_{i}']}", f"med-{i}-{box}"))
        return lines


def medicine_faults(med: dict[str, str]) -> dict[str, str]:
    """What is wrong in each box of a medicine row that is not empty, by box."""
    faults = {name: f"Use at most {MEDICINE_LIMIT} characters for the {word}."
              for name, word in (("name", "name"), ("dose", "dose"), ("frequency", "how often"))
              if len(med[name]) > MEDICINE_LIMIT}
    for name, message in (("name", "Name the medicine, or remove the row."),
                          ("dose", "Give the dose."),
                          ("frequency", "Say how often it is taken.")):
        if not med[name]:
            faults[name] = message
    if not 1 <= (ascii_int(med["days"], max_digits=3) or 0) <= 365:
        faults["days"] = "Give the number of days, from 1 to 365."
    return faults


def add_treatment(appt: Appointment, draft: TreatmentDraft, by: User) -> Treatment | None:
    """Save a treatment record for the visit, all or nothing; None when the draft has errors."""
    if appt.status not in TREATABLE:
        raise SchedulingError("Treatments are recorded once the patient has checked in.")
    row = draft.validate(appt.date)
    if draft.errors:
        return None
    with db.atomic():
        treatment = Treatment.create(appointment=appt, author=by, **row)
        audit(by, "create", appt.patient_id, "treatment", treatment.id)
        recalls.record(treatment, appt)  # the follow-up, if one is asked for
    cache.treatment_written(appt.doctor_id)  # after the commit: see hms/cache.py
    return treatment


def medicines(treatment: Treatment) -> list[dict]:
    """A treatment's medicines as a list of {name, dose, frequency, days}."""
    return json.loads(treatment.medicines_json or "[]")


HISTORY_PAGE = 20  # visits per page of a history on screen; downloads hold them all


def history(patient: Patient) -> list[tuple[Appointment, list[Treatment]]]:
    """Every appointment of the patient, newest first, across doctors, with their treatments."""
    return with_treatments(list(_visits(patient)))


def history_page(patient: Patient, page_no: int
                 ) -> tuple[list[tuple[Appointment, list[Treatment]]], bool]:
    """One page of the history (HISTORY_PAGE visits), and whether an older page follows."""
    visits, more = page_of(_visits(patient), page_no, HISTORY_PAGE)
    return with_treatments(visits), more


def _visits(patient: Patient):
    return (Appointment.select(Appointment, Doctor, Department).join(Doctor).join(Department)
            .where(Appointment.patient == patient)
            .order_by(Appointment.date.desc(), Appointment.time.desc()))


def with_treatments(appointments: list[Appointment]
                    ) -> list[tuple[Appointment, list[Treatment]]]:
    """The appointments, each with its treatments (newest first), in two queries in all."""
    # Sorted here, not by SQL: an ORDER BY created_at tempts SQLite to walk that index over
    # every treatment ever written instead of looking up these visits.
    treatments = sorted(Treatment.select(Treatment, User).join(User)
                        .where(Treatment.appointment.in_([a.id for a in appointments])),
                        key=lambda t: t.created_at, reverse=True)
    # The authors' names in one query, not one per treatment.
    names = dict(Doctor.select(Doctor.user, Doctor.full_name)
                 .where(Doctor.user.in_({t.author_id for t in treatments})).tuples())
    by_visit: dict[int, list[Treatment]] = {}
    for t in treatments:
        t.author_name = names.get(t.author_id) or t.author.username
        by_visit.setdefault(t.appointment_id, []).append(t)
    return [(a, by_visit.get(a.id, [])) for a in appointments]

"""The audit trail: who read or changed which patient's record, and when.

A change is audited in its own transaction (`audit`), so the record and its entry commit or
fail together. A read is a GET, and must not make every history page queue for SQLite's single
write lock one at a time: `audit_read` only notes the entry, and once the view has built its
page the entries are appended in a group commit. Whichever request finds no append under way
writes every entry waiting in the process, its own and those of the requests that arrived
meanwhile, in one transaction; the others wait for that commit. No page leaves before its
entry is committed, and if the append fails, the reader gets a 503 instead of the page, so a
read is never shown unrecorded.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask, Response, g
from peewee import JOIN

from hms.clock import utc_now
from hms.db import write_transaction
from hms.models import AuditLog, Doctor, Patient, User

log = logging.getLogger(__name__)


def _entry(user: User, action: str, patient: Patient | int | None, object_type: str,
           object_id: int | None) -> dict:
    return {"user": user.id, "action": action, "object_type": object_type,
            "patient": patient.id if isinstance(patient, Patient) else patient,
            "object_id": object_id, "created_at": utc_now()}


def audit(user: User, action: str, patient: Patient | int | None, object_type: str,
          object_id: int | None = None) -> None:
    """Record a change to a patient's record, in the caller's transaction."""
    AuditLog.insert(_entry(user, action, patient, object_type, object_id)).execute()


def audit_read(user: User, action: str, patient: Patient | int | None, object_type: str,
               object_id: int | None = None) -> None:
    """Record that a user is reading a patient's record: appended before the page is sent."""
    g.setdefault("audit_reads", []).append(
        _Waiting(_entry(user, action, patient, object_type, object_id)))


class _Waiting:
    """An entry on its way to the audit log, and what became of its batch."""

    __slots__ = ("row", "written", "error")

    def __init__(self, row: dict) -> None:
        self.row, self.written, self.error = row, False, None


_queue: list[_Waiting] = []
_queue_lock = threading.Lock()
_appending = threading.Lock()  # one group commit at a time in this process


def append(entries: list[_Waiting]) -> None:
    """Append entries to the audit log with whatever else is waiting; raise if that failed."""
    with _queue_lock:
        _queue.extend(entries)
    with _appending:
        if not all(e.written for e in entries):  # no one has taken ours yet: write them all
            with _queue_lock:
                batch = _queue[:]
                _queue.clear()
            try:
                with write_transaction():
                    AuditLog.insert_many([e.row for e in batch]).execute()
                error = None
            except Exception as exc:  # noqa: BLE001 - every waiting reader must hear of it
                error = exc
            for e in batch:
                e.written, e.error = True, error
    failed = next((e.error for e in entries if e.error), None)
    if failed:
        raise failed


def _append_reads(response: Response) -> Response:
    entries = g.pop("audit_reads", None)
    if not entries or response.status_code >= 400:
        return response
    try:
        append(entries)
    except Exception:
        log.exception("could not append %d read(s) to the audit log", len(entries))
        return Response("The record could not be opened just now. Please try again.", 503,
                        {"Retry-After": "5"}, mimetype="text/plain")
    return response


def init_app(app: Flask) -> None:
    app.after_request(_append_reads)


# --- a patient's view of their own trail ---------------------------------------------------------

ROLE_NAMES = {"doctor": "Doctor", "receptionist": "Front desk", "admin": "Administrator"}
# What each entry means, in the patient's words.
DONE = {"read": "read your medical history", "read treatments": "read a visit's treatment record",
        "export:csv": "downloaded your history (CSV)",
        "export:pdf": "downloaded your history (PDF)",
        "export:job": "prepared a download of your history", "create": "wrote a treatment record",
        "update": "changed your details", "delete": "removed your photo",
        "invite": "sent you a password invitation", "deactivate": "deactivated your account",
        "reactivate": "reactivated your account",
        "reassign": "moved an appointment to another doctor",
        "close recall": "closed a follow-up recall", "overbook": "booked an extra appointment "
        "over a doctor's session"}


def described(entry: AuditLog) -> str:
    """An audit entry as the patient reads it: 'read your medical history'."""
    if entry.action.startswith("status:"):
        return f"changed an appointment: {entry.action[7:].replace('_', ' ')}"
    if entry.action == "update" and entry.object_type == "photo":
        return "changed your photo"
    return DONE.get(entry.action, entry.action)


def trail_of(patient: Patient):
    """Every entry staff left on the patient's record, newest first, with who left it (their
    own reads and changes are not audited; a staff member's name is shown for doctors only)."""
    return (AuditLog.select(AuditLog, User.role.alias("role"),
                            Doctor.full_name.alias("doctor_name"))
            .join(User).switch(AuditLog)
            .join(Doctor, JOIN.LEFT_OUTER, on=(Doctor.user == AuditLog.user))
            .where(AuditLog.patient == patient, User.role != "patient")
            .order_by(AuditLog.created_at.desc(), AuditLog.id.desc()).objects())


def who(entry: AuditLog) -> str:
    """The role that left an entry, and a doctor's name: 'Doctor (Dr Ada One)'."""
    role = ROLE_NAMES.get(entry.role, entry.role)  # read with the entry (trail_of)
    return f"{role} ({entry.doctor_name})" if entry.doctor_name else role

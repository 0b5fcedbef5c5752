"""The sweep: the database says what background work is due, and the sweep hands it to the
queue. It runs every minute in the worker (tasks.sweep_work) and by hand (`hms sweep`).

Requests record their work in the database (an export job's row; an appointment is its own
reminder's record, a doctor their monthly report's), so Huey and Redis are only the transport:
a message lost with an empty Redis, a missed periodic run or a dead worker delays work by
minutes and never loses it. Each kind of work claims its row before doing it, so a message
handed out twice does the work once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from redis import RedisError

from hms import exporting, notices, recalls, waitlist
from hms.db import write_transaction
from hms.models import AccountMail, ExportJob, OfferMail, RecallMail, Reminder, ReportSend

log = logging.getLogger(__name__)

# A queued item no worker took within this is handed to the queue again: its message may be
# lost (Redis restarted empty) or still waiting behind others (then it is done once anyway).
REQUEUE = dt.timedelta(minutes=2)
# The kinds of work, as the admin's jobs page names them.
KINDS = {"reminders": Reminder, "reports": ReportSend, "exports": ExportJob,
         "accounts": AccountMail, "offers": OfferMail, "recalls": RecallMail}


def sweep(now: dt.datetime, remind: Callable[[int], object],
          report: Callable[[int, str], object], export: Callable[[int], object],
          account: Callable[[int], object] | None = None,
          offer: Callable[[int], object] | None = None,
          recall: Callable[[int], object] | None = None) -> dict[str, int]:
    """Make the notices that fell due, end or reclaim what expired or was abandoned, and hand
    every due item to the queue through the given tasks. With an offer task, waitlist offers
    that ran out pass on and free times are offered to who waits; with a recall task, the
    follow-up reminders that fell due are made. Returns how many of each were handed out, and
    how many could not be (the queue was unreachable; the next sweep tries again)."""
    if offer:
        # Each part of the day's work fails alone: a waitlist that cannot be read this minute
        # must not hold up the reminders.
        try:
            waitlist.close_what_ended(now)
            waitlist.make_offers(now)  # reads first; writes each offer with its e-mail's row
        except Exception:  # noqa: BLE001 - logged; the next sweep tries again
            log.exception("The waitlist's offers could not be made this time")
    with write_transaction():
        notices.new_reminders(now)
        notices.new_reports(now)
        if recall:
            try:
                with write_transaction():  # a savepoint: a failure undoes only this part
                    recalls.new_recall_mails(now)
            except Exception:  # noqa: BLE001 - logged; the next sweep tries again
                log.exception("The follow-up reminders could not be made this time")
        reminders = notices.take_due(Reminder, now, REQUEUE)
        reports = notices.take_due(ReportSend, now, REQUEUE)
        exports = exporting.take_due(now, REQUEUE)
        mails = notices.take_due(AccountMail, now, REQUEUE) if account else []
        offers = notices.take_due(OfferMail, now, REQUEUE) if offer else []
        recall_mails = notices.take_due(RecallMail, now, REQUEUE) if recall else []
    work = ([("reminders", remind, (row.appointment_id,)) for row in reminders]
            + [("reports", report, (row.doctor_id, f"{row.period}-01")) for row in reports]
            + [("exports", export, (job_id,)) for job_id in exports]
            + [("accounts", account, (row.id,)) for row in mails]
            + [("offers", offer, (row.id,)) for row in offers]
            + [("recalls", recall, (row.id,)) for row in recall_mails])
    counts = {"reminders": 0, "reports": 0, "exports": 0, "accounts": 0, "offers": 0,
              "recalls": 0, "not handed out": 0}
    for n, (kind, task, args) in enumerate(work):
        try:
            task(*args)
        except RedisError as error:
            log.warning("The queue is unreachable (%s): %s items wait for the next sweep",
                        error, len(work) - n)
            counts["not handed out"] = len(work) - n
            break
        counts[kind] += 1
    return counts


def retryable(kind: str, row, now: dt.datetime) -> bool:
    """Whether an admin may try an item again now: a failed or unknown notice before it
    expires (an expired monthly report too: it is never too late for one), or a failed
    export."""
    if kind == "exports":
        return row.status == "failed" and row.expires_at > now
    if kind == "reports" and row.status == "expired":
        return True
    return row.status in ("failed", "unknown") and row.expires_at > now


def retry(kind: str, row, now: dt.datetime) -> bool:
    """Queue one item again, due at once (the caller then sweeps); False when it may not be
    tried again, or changed meanwhile. A report gets another week."""
    if not retryable(kind, row, now):
        return False
    model = KINDS[kind]
    if kind == "exports":
        changes = {"status": "queued", "attempts": 0, "error": None, "due_at": now}
    else:
        changes = {"status": "queued", "due_at": now, "handed_over": False}
        if kind == "reports":
            changes["expires_at"] = max(row.expires_at, now + notices.REPORT_WINDOW)
    return bool(model.update(**changes)
                .where(model.id == row.id, model.status == row.status).execute())

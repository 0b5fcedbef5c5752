"""The waitlist: patients waiting for a time with a doctor (or any doctor of a specialization),
each free time that suits offered to them in turn. No Flask views here (hms/waiting.py).

A patient, or the front desk for them, joins with a range of days, a part of the day and the
visit's reason. Whenever a time that suits a waiting patient is free (a cancellation, a move,
a slot opened by hand or by the weekly plan, an offer that passed), the first one waiting
(in the order they joined) is offered it: a `slot_offer` row, theirs to claim for
WAITLIST_OFFER_MINUTES, told by e-mail (`offer_mail`, sent once like a reminder) and on their
home page. An offer not claimed in time, or declined, passes: the time goes to the next one
waiting, and the first keeps their place for the next time. Claiming books through the same
rules as any booking; the live-slot index decides a race, and an offer whose time was taken
meanwhile is withdrawn.

Offers are made by `make_offers`, which reads what is free now: the sweep runs it every minute
(so nothing is lost to a failed request or an empty Redis), and a change that frees a time runs
it at once for that doctor (`scheduling.slots_freed`). The free times come through the
doctors' slot cache; the offer is written only after re-reading the slot under the write lock.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging

from flask import current_app
from peewee import JOIN, IntegrityError, fn
from redis import RedisError

from hms import links
from hms.clock import clinic_today, hhmm_zone, to_clinic, utc_now
from hms.db import is_sqlite, write_transaction
from hms.mail import compose
from hms.models import (
    Appointment,
    Department,
    Doctor,
    DoctorAvailability,
    OfferMail,
    Patient,
    SlotOffer,
    User,
    WaitlistEntry,
)
from hms.notices import NotNeeded, message_id, send_once
from hms.scheduling import (
    SchedulingError,
    book_appointment,
    check_may_book_online,
    desk_only_patients,
    doctor_directory,
    horizon_end,
    offered_slots,
    part_of_day,
    slot_start,
    slots_freed,
)

log = logging.getLogger(__name__)

MAX_DAYS_AHEAD = 90  # the last day a patient may wait for
# An entry whose offers ran out unanswered this many times ends: no more e-mails every half
# hour to someone who no longer reads them (they may join again).
MAX_UNANSWERED = 3
WRITE_BATCH = 50  # offers written per transaction: SQLite's one writer waits a batch at most
WAITLIST_PAGE = 25
PARTS = {"any": "any time", "morning": "mornings", "afternoon": "afternoons"}
# What became of an offer, said to the patient who opens it.
ENDED = {
    "claimed": "You took this time; it is booked.",
    "declined": "You let this time go; you are still on the waitlist.",
    "passed": "The time to take it ran out, so it was offered to the next patient waiting. "
              "You are still on the waitlist.",
    "withdrawn": "This time is no longer free. You are still on the waitlist.",
}


def suits(entry: WaitlistEntry, day: dt.date, time: dt.time) -> bool:
    """Whether a time is one the entry waits for: its days and its part of the day."""
    return (entry.first_day <= day <= entry.last_day
            and entry.part_of_day in ("any", part_of_day(time)))


def offer_window() -> dt.timedelta:
    return dt.timedelta(minutes=current_app.config["WAITLIST_OFFER_MINUTES"])


def waits_for(doctor: Doctor | None, department: Department) -> str:
    """Whom an entry waits for, as a sentence says it: 'Dr Ada One', 'any doctor in Cardiology'."""
    return doctor.full_name if doctor else f"any doctor in {department.name}"


# --- joining and leaving ------------------------------------------------------------------------

def join(patient: Patient, department: Department, doctor: Doctor | None,
         first_day: dt.date, last_day: dt.date, part: str, reason: str,
         by: User) -> WaitlistEntry:
    """Put a patient on the waitlist of a doctor, or of any doctor of a specialization; raise
    SchedulingError saying why not. A time that suits them and is free now is offered at once."""
    today = clinic_today()
    if first_day < today:
        raise SchedulingError("The first day cannot be in the past.")
    if last_day < first_day:
        raise SchedulingError("The last day cannot be before the first.")
    if last_day > today + dt.timedelta(days=MAX_DAYS_AHEAD):
        raise SchedulingError(f"Wait for a time at most {MAX_DAYS_AHEAD} days ahead.")
    if part not in PARTS:
        raise SchedulingError("Choose a part of the day.")
    if not reason.strip():
        raise SchedulingError("Give the reason for the visit.")
    if doctor is not None and doctor.department_id != department.id:
        raise SchedulingError("That doctor is not in that specialization.")
    if by.role == "patient":
        check_may_book_online(patient)
    try:
        with write_transaction():
            entry = WaitlistEntry.create(
                patient=patient, department=department, doctor=doctor, first_day=first_day,
                last_day=last_day, part_of_day=part, reason=reason.strip(), created_by=by)
    except IntegrityError:
        raise SchedulingError(f"Already waiting for {waits_for(doctor, department)}. Change the "
                              "days by leaving the waitlist and joining again.") from None
    offer_now(doctor_ids=[doctor.id] if doctor else [
        d.id for d in doctor_directory(department_id=department.id)])
    return entry


def leave(entry: WaitlistEntry, by: User) -> None:
    """Take a waiting entry off the list; an open offer to it passes on."""
    now = utc_now()
    with write_transaction():
        ended = (WaitlistEntry.update(status="removed", ended_at=now)
                 .where(WaitlistEntry.id == entry.id, WaitlistEntry.status == "waiting")
                 .execute())
        if not ended:
            raise SchedulingError("This entry is no longer on the waitlist.")
        offered = SlotOffer.get_or_none(SlotOffer.entry == entry.id, SlotOffer.status == "open")
        SlotOffer.update(status="withdrawn", answered_at=now).where(
            SlotOffer.entry == entry.id, SlotOffer.status == "open").execute()
    log.info("Waitlist entry %s removed by user %s", entry.id, by.id)
    if offered:
        offer_now(doctor_ids=[offered.doctor_id])


# --- offering -----------------------------------------------------------------------------------

def close_what_ended(now: dt.datetime) -> None:
    """End entries whose last day has passed, and pass offers whose time to claim ran out (the
    sweep, before it makes offers). `now` is naive UTC."""
    today = to_clinic(now).date()
    with write_transaction():
        SlotOffer.update(status="passed", answered_at=now).where(
            SlotOffer.status == "open", SlotOffer.expires_at <= now).execute()
        ended = WaitlistEntry.select(WaitlistEntry.id).where(
            WaitlistEntry.status == "waiting", WaitlistEntry.last_day < today)
        SlotOffer.update(status="withdrawn", answered_at=now).where(
            SlotOffer.status == "open", SlotOffer.entry.in_(ended)).execute()
        WaitlistEntry.update(status="ended", ended_at=now).where(
            WaitlistEntry.status == "waiting", WaitlistEntry.last_day < today).execute()
        # Counted for each waiting entry through its offers' index: the offers that passed
        # long ago, which pile up with the years, are never read.
        unanswered = SlotOffer.select(fn.COUNT(SlotOffer.id)).where(
            SlotOffer.entry == WaitlistEntry.id, SlotOffer.status == "passed")
        WaitlistEntry.update(status="ended", ended_at=now).where(
            WaitlistEntry.status == "waiting", unanswered >= MAX_UNANSWERED).execute()


def make_offers(now: dt.datetime, doctor_ids: list[int] | None = None) -> list[int]:
    """Offer each free time that suits a waiting patient to the first one waiting for it, once
    per patient and time. `now` is naive UTC; with doctor_ids, only those doctors' times are
    looked at. Reads first, and writes only the offers it makes. Returns their e-mails."""
    # Each patient holds one open offer at a time (an entry for a doctor and one for "any
    # doctor" must not both mail them), and deactivated patients are offered nothing.
    held = WaitlistEntry.alias("held")
    offered = (SlotOffer.select(SlotOffer.id).join(held, on=(SlotOffer.entry == held.id))
               .where(held.patient == WaitlistEntry.patient, SlotOffer.status == "open"))
    # (objects(): each entry keeps its own patient_id; the patient's login is an attribute)
    entries = (WaitlistEntry.select(WaitlistEntry, Patient.user.alias("patient_user_id"))
               .join(Patient, on=(WaitlistEntry.patient == Patient.id))
               .join(User, on=(Patient.user == User.id))
               .where(WaitlistEntry.status == "waiting", User.is_active == True,  # noqa: E712
                      ~fn.EXISTS(offered))
               .order_by(WaitlistEntry.id).objects())
    if doctor_ids is not None:
        departments = Doctor.select(Doctor.department).where(Doctor.id.in_(doctor_ids))
        entries = entries.where(WaitlistEntry.doctor.in_(doctor_ids) | (
            WaitlistEntry.doctor.is_null() & WaitlistEntry.department.in_(departments)))
    entries = list(entries)
    # A patient who books at the desk only is not offered what they joined for themselves:
    # they could not take it (what the desk arranged for them, they may).
    desk = desk_only_patients({e.patient_id for e in entries})
    entries = [e for e in entries
               if not (e.patient_id in desk and e.created_by_id == e.patient_user_id)]
    if not entries:
        return []
    plan = _match(entries, now, doctor_ids)
    mails = []
    for start in range(0, len(plan), WRITE_BATCH):
        with write_transaction():
            for entry, doctor, day, time in plan[start:start + WRITE_BATCH]:
                if offer := _offer(entry, doctor, day, time, now):
                    mails.append(offer)
    if mails:
        log.info("Offered %d free time(s) to patients on the waitlist", len(mails))
    return mails


def _offer(entry: WaitlistEntry, doctor: Doctor, day: dt.date, time: dt.time,
           now: dt.datetime) -> int | None:
    """Write one planned offer and its e-mail's row (in the caller's transaction), after
    reading again that the time is free; its e-mail's id, or None."""
    if not _still_free(entry, doctor, day, time):
        return None
    try:
        with write_transaction():  # a savepoint: a refusal undoes only this offer
            offer = SlotOffer.create(entry=entry, doctor=doctor, date=day, time=time,
                                     created_at=now, expires_at=now + offer_window())
            return OfferMail.create(offer=offer, claimed_at=now, due_at=now,
                                    expires_at=offer.expires_at,
                                    message_id=message_id("offer", str(offer.id))).id
    except IntegrityError:  # offered meanwhile by another run: that one stands
        return None


def _match(entries: list[WaitlistEntry], now: dt.datetime, doctor_ids: list[int] | None
           ) -> list[tuple[WaitlistEntry, Doctor, dt.date, dt.time]]:
    """Each entry, in order, with the soonest free time that suits it and that nobody before
    it in this run took, is not offered to anyone now, was never offered to it, and the
    patient is free for; entries with none are left out."""
    window = offer_window()
    earliest = now + window  # a time must start after its offer's time to claim it ends
    today, last = to_clinic(now).date(), horizon_end()
    doctors = {d.id: d for d in doctor_directory() if doctor_ids is None or d.id in doctor_ids}
    free: dict[int, list[tuple[dt.date, dt.time]]] = {}

    def free_of(doctor: Doctor) -> list[tuple[dt.date, dt.time]]:
        """The doctor's free times, soonest first (read once a run)."""
        if doctor.id not in free:
            free[doctor.id] = [s for s in offered_slots(doctor, today, last)
                               if slot_start(*s) > earliest]
        return free[doctor.id]

    def first_for(entry: WaitlistEntry, doctor: Doctor):
        """The doctor's soonest free time that suits the entry and is still to offer it."""
        times = free_of(doctor)
        for day, time in times[bisect.bisect_left(times, (entry.first_day, dt.time.min)):]:
            if day > entry.last_day:
                return None
            if (suits(entry, day, time) and (doctor.id, day, time) not in taken
                    and (entry.id, doctor.id, day, time) not in before
                    and (entry.patient_id, day, time) not in busy):
                return day, time, doctor
        return None

    entry_ids = [e.id for e in entries]
    before = {(o.entry_id, o.doctor_id, o.date, o.time) for o in SlotOffer.select(
        SlotOffer.entry, SlotOffer.doctor, SlotOffer.date, SlotOffer.time).where(
        SlotOffer.entry.in_(entry_ids))}
    taken = {(o.doctor_id, o.date, o.time) for o in SlotOffer.select(
        SlotOffer.doctor, SlotOffer.date, SlotOffer.time).where(SlotOffer.status == "open")}
    busy = {(a.patient_id, a.date, a.time) for a in Appointment.select(
        Appointment.patient, Appointment.date, Appointment.time).where(
        Appointment.patient.in_({e.patient_id for e in entries}),
        Appointment.date.between(today, last), Appointment.is_live())}
    plan, planned = [], set()
    for entry in entries:
        if entry.patient_id in planned:  # one offer a patient at a time
            continue
        choices = [doctors[entry.doctor_id]] if entry.doctor_id in doctors else [
            d for d in doctors.values()
            if entry.doctor_id is None and d.department_id == entry.department_id]
        found = [f for doctor in choices if (f := first_for(entry, doctor))]
        if found:  # the soonest; at one time, doctors by name
            day, time, doctor = min(found, key=lambda f: (f[0], f[1], f[2].full_name, f[2].id))
            taken.add((doctor.id, day, time))
            planned.add(entry.patient_id)
            plan.append((entry, doctor, day, time))
    return plan


def _still_free(entry: WaitlistEntry, doctor: Doctor, day: dt.date, time: dt.time) -> bool:
    """Read again under the write lock, in one query: the entry still waits, the slot is open,
    no booking holds it, and the patient has no other appointment then."""
    def live(who):
        return fn.EXISTS(Appointment.select(Appointment.id).where(
            who, Appointment.date == day, Appointment.time == time, Appointment.is_live()))

    waits = fn.EXISTS(WaitlistEntry.select(WaitlistEntry.id).where(
        WaitlistEntry.id == entry.id, WaitlistEntry.status == "waiting"))
    return DoctorAvailability.select().where(
        DoctorAvailability.doctor == doctor, DoctorAvailability.date == day,
        DoctorAvailability.time_slot == time, DoctorAvailability.is_available == True,  # noqa: E712
        ~live((Appointment.doctor == doctor.id) & ~Appointment.overbook),
        ~live(Appointment.patient == entry.patient_id), waits).exists()


@slots_freed.connect
def _freed(_sender=None, doctor_ids: list[int] | None = None) -> None:
    """Times of these doctors may have come free: offer them to who waits, now."""
    offer_now(doctor_ids=doctor_ids)


def offer_now(doctor_ids: list[int] | None = None) -> None:
    """Make the offers a change just allowed and hand their e-mails to the worker, at once; the
    sweep does the same within a minute if this fails (the database says what is waiting)."""
    try:
        mails = make_offers(utc_now(), doctor_ids)
    except Exception:  # noqa: BLE001 - the change that called this has been made; the sweep
        log.exception("Making waitlist offers failed; the sweep will try again")
        return
    hand_out(mails)


def hand_out(mail_ids: list[int]) -> None:
    """Give recorded offer e-mails to the worker now; if the queue is away, the sweep does."""
    import tasks

    for mail_id in mail_ids:
        try:
            tasks.send_offer_mail(mail_id)
        except RedisError:
            return


# --- answering an offer -------------------------------------------------------------------------

def _held(model, row_id: int):
    """A row read afresh and held until the transaction ends (PostgreSQL locks it; SQLite's
    write lock holds every row already). The waitlist takes an entry, then its offer."""
    query = model.select().where(model.id == row_id)
    return (query if is_sqlite() else query.for_update()).get()


def claim(offer: SlotOffer, by: User) -> Appointment:
    """Book an open offer's time for its patient, through the rules of any booking (online ones,
    if the patient joined the list themselves). Raises SchedulingError when it passed, was
    answered, or its time was taken meanwhile (the offer is then withdrawn, and the patient
    stays on the waitlist)."""
    now = utc_now()
    refusal = None
    with write_transaction():
        entry = _held(WaitlistEntry, offer.entry_id)
        fresh = _held(SlotOffer, offer.id)
        patient = Patient.get_by_id(entry.patient_id)
        if fresh.status == "open" and (fresh.expires_at <= now or entry.status != "waiting"
                                       or not User.get_by_id(patient.user_id).is_active):
            fresh.status = "passed" if fresh.expires_at <= now else "withdrawn"
            fresh.answered_at = now
            fresh.save()
        if fresh.status != "open":
            refusal = SchedulingError(ENDED[fresh.status])
        else:
            try:
                appt = book_appointment(patient, fresh.doctor, fresh.date, fresh.time,
                                        entry.reason, by,
                                        online=entry.created_by_id == patient.user_id)
            except SchedulingError as error:
                fresh.status, fresh.answered_at = "withdrawn", now
                fresh.save()
                refusal = error
            else:
                fresh.status, fresh.answered_at, fresh.appointment = "claimed", now, appt
                fresh.save()
                entry.status, entry.ended_at, entry.appointment = "booked", now, appt
                entry.save()
    if refusal is not None:
        offer_now(doctor_ids=[offer.doctor_id])  # the time, if free, goes to the next one
        raise refusal
    log.info("Offer %s claimed: appointment %s", offer.id, appt.id)
    return appt


def decline(offer: SlotOffer) -> None:
    """Let an open offer's time go to the next patient waiting; the patient keeps their place."""
    now = utc_now()
    with write_transaction():
        answered = (SlotOffer.update(status="declined", answered_at=now)
                    .where(SlotOffer.id == offer.id, SlotOffer.status == "open",
                           SlotOffer.expires_at > now).execute())
    if not answered:
        status = SlotOffer.get_by_id(offer.id).status
        raise SchedulingError(ENDED.get(status, "The time to answer this offer ran out."))
    offer_now(doctor_ids=[offer.doctor_id])


# --- reading ------------------------------------------------------------------------------------

def open_offers(patient: Patient, now: dt.datetime) -> list[SlotOffer]:
    """A patient's offers still to answer, soonest time first, with their doctors."""
    return list(SlotOffer.select(SlotOffer, Doctor, WaitlistEntry)
                .join(Doctor, on=(SlotOffer.doctor == Doctor.id))
                .switch(SlotOffer).join(WaitlistEntry)
                .where(WaitlistEntry.patient == patient, SlotOffer.status == "open",
                       SlotOffer.expires_at > now)
                .order_by(SlotOffer.date, SlotOffer.time))


def entries_of(patient: Patient) -> list[WaitlistEntry]:
    """A patient's waiting entries, with the doctor or specialization each is for."""
    return list(WaitlistEntry.select(WaitlistEntry, Doctor, Department)
                .join(Doctor, JOIN.LEFT_OUTER, on=(WaitlistEntry.doctor == Doctor.id))
                .switch(WaitlistEntry).join(Department,
                                            on=(WaitlistEntry.department == Department.id))
                .where(WaitlistEntry.patient == patient, WaitlistEntry.status == "waiting")
                .order_by(WaitlistEntry.id))



def waiting(department_id: int | None = None, doctor: Doctor | None = None):
    """The waitlist in order: everyone waiting (for one specialization; or for one doctor,
    with those waiting for any doctor of theirs), with their open offers."""
    open_offer = SlotOffer.alias()
    query = (WaitlistEntry.select(WaitlistEntry, Patient, Doctor, Department, open_offer)
             .join(Patient, on=(WaitlistEntry.patient == Patient.id))
             .switch(WaitlistEntry)
             .join(Doctor, JOIN.LEFT_OUTER, on=(WaitlistEntry.doctor == Doctor.id))
             .switch(WaitlistEntry)
             .join(Department, on=(WaitlistEntry.department == Department.id))
             .switch(WaitlistEntry)
             .join(open_offer, JOIN.LEFT_OUTER, on=(
                 (open_offer.entry == WaitlistEntry.id) & (open_offer.status == "open")),
                   attr="offer")
             .where(WaitlistEntry.status == "waiting")
             .order_by(WaitlistEntry.id))
    if doctor is not None:
        query = query.where((WaitlistEntry.doctor == doctor) | (
            WaitlistEntry.doctor.is_null()
            & (WaitlistEntry.department == doctor.department_id)))
    elif department_id:
        query = query.where(WaitlistEntry.department == department_id)
    return query


# --- the offer's e-mail -------------------------------------------------------------------------

def send_offer_mail(mail_id: int) -> str:
    """Send one queued offer e-mail, once; an offer answered or passed meanwhile is not sent."""

    def message(row: OfferMail):
        offer = SlotOffer.get_by_id(row.offer_id)
        if offer.status != "open":
            raise NotNeeded(f"The offer was {offer.status} before its e-mail went out.")
        entry = WaitlistEntry.get_by_id(offer.entry_id)
        patient = Patient.get_by_id(entry.patient_id)
        user = User.get_by_id(patient.user_id)
        if not user.email:
            raise NotNeeded("The patient has no e-mail address; the offer is on their home "
                            "page and with the front desk.")
        doctor = Doctor.get_by_id(offer.doctor_id)
        return compose(
            user.email, f"An earlier time is free: {doctor.full_name}, {offer.date:%a %-d %b} "
            f"at {hhmm_zone(offer.time, offer.date)}", "offer", offer=offer, patient=patient,
            doctor=doctor, link=links.offer_url(offer.id), until=offer.expires_at,
            message_id=row.message_id, clinic=current_app.config)

    return send_once(OfferMail, mail_id, message)


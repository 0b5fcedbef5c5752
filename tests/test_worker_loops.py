"""The new loops with the real parts: `huey_consumer` processes, a private Redis and an aiosmtpd
server (tests/rig.py). A waitlist offer passes to the next patient when the
first does not claim it; a recall's reminder arrives, once, though Redis restarted empty and
the mail server was away; a confirm link from a reminder the worker mailed marks the
appointment; the automatic no-show runs once on two workers and staff take it back."""

from __future__ import annotations

import datetime as dt
import re

import pytest

import tasks
from hms import recalls, waitlist
from hms.accounts import register_patient
from hms.clock import clinic_today, utc_now
from hms.models import (
    Appointment,
    AppointmentTally,
    OfferMail,
    Patient,
    Recall,
    RecallMail,
    Reminder,
    SlotOffer,
    Treatment,
)
from hms.scheduling import cancel_appointment, starts_at
from rig import MINUTE
from support import PASSWORD, csrf_token, one_time_held, wait_for


def signed_path(message, pattern: str) -> str:
    text = message.get_body(("plain",)).get_content()
    return re.search(r"https?://[^/\s]+(" + pattern + r")", text)[1]


def mail_to(rig, address: str) -> list:
    return [m for m in rig.mail.messages if m["To"] == address]


@pytest.fixture
def waiting_two(app, people, diary):
    """Dr One sees patients at 09:00 only the day after tomorrow, and Pat Two holds it; Pat One
    waits for it, then Pat Three."""
    day = diary + dt.timedelta(days=1)
    doctor = people.doctor("dr.one")
    held = one_time_held(people, day)
    user = register_patient("pat.three", "pat3@test.example", PASSWORD, "Pat Three", "other",
                            dt.date(1970, 3, 3), "+44 1000 000003")
    third = Patient.get(Patient.user == user)
    with app.app_context():
        for patient, login in ((people.patient("pat.one"), people.user("pat.one")),
                               (third, user)):
            waitlist.join(patient, doctor.department, doctor, day, day, "any", "Earlier",
                          login)
    return held, third


def test_an_offer_not_claimed_passes_to_the_next_patient_by_mail(rig, app, client, people,
                                                                  waiting_two):
    held, third = waiting_two
    rig.mail.up()
    rig.start_worker()
    with app.app_context():
        cancel_appointment(held, people.user("pat.two"), "away")  # offers it at once
    first = SlotOffer.get(SlotOffer.status == "open")
    assert wait_for(lambda: OfferMail.get(OfferMail.offer == first.id).status == "sent")
    [to_first] = mail_to(rig, "pat1@test.example")
    assert "An earlier time is free" in to_first["Subject"]
    rig.sweep(first.expires_at - MINUTE)  # still Pat One's
    assert not SlotOffer.select().where(SlotOffer.entry != first.entry_id).exists()
    rig.sweep(first.expires_at)  # ran out: Pat Three's turn, handed to the worker
    second = SlotOffer.get(SlotOffer.status == "open")
    assert second.entry.patient_id == third.id
    assert wait_for(lambda: OfferMail.get(OfferMail.offer == second.id).status == "sent")
    [to_third] = mail_to(rig, "pat3@test.example")
    path = signed_path(to_third, r"/offers/\d+/\w+")
    page = client.get(path)
    assert page.status_code == 200 and "Book this time" in page.text
    assert client.post(f"{path}/claim",
                       data={"csrf_token": csrf_token(page.text)}).status_code == 200
    appt = Appointment.get(Appointment.patient == third)
    assert (appt.status, appt.time) == ("booked", dt.time(9))
    # Pat One's late click from the first mail finds the time gone, and books nothing.
    late = signed_path(to_first, r"/offers/\d+/\w+")
    page = client.get(late)
    assert "offered to the next patient" in page.text
    token = csrf_token(client.get("/login").text)  # the page has no button any more
    refused = client.post(f"{late}/claim", data={"csrf_token": token})
    assert refused.status_code == 409
    assert not Appointment.select().where(Appointment.patient == people.patient("pat.one"))\
        .exists()
    rig.sweep(second.expires_at + 5 * MINUTE)  # nothing is sent again
    assert len(rig.mail.messages) == 2


def test_an_offer_mail_waits_out_a_mail_server_that_is_down_and_goes_once(
        rig, app, people, waiting_two):
    held, _ = waiting_two
    rig.start_worker()  # the mail server is down
    with app.app_context():
        cancel_appointment(held, people.user("pat.two"), "away")
    [mail] = OfferMail.select()
    assert wait_for(lambda: OfferMail.get_by_id(mail.id).status == "failed")
    rig.mail.up()
    rig.sweep(utc_now() + 2 * MINUTE)
    assert wait_for(lambda: OfferMail.get_by_id(mail.id).status == "sent")
    rig.sweep(utc_now() + 10 * MINUTE)
    assert len(rig.mail.messages) == 1


def test_a_recall_reminder_arrives_once_though_redis_restarted_empty(rig, app, people, diary):
    patient, doctor = people.patient("pat.one"), people.doctor("dr.one")
    with app.app_context():
        yesterday = clinic_today() - dt.timedelta(days=1)
    visit = Appointment.create(patient=patient, doctor=doctor, date=yesterday, time=dt.time(9),
                               status="completed")
    treatment = Treatment.create(appointment=visit, author=doctor.user, diagnosis="Asthma",
                                 follow_up_date=diary + dt.timedelta(days=2))
    with app.app_context():
        recalls.record(treatment, visit)
    rig.mail.up()
    rig.start_worker()
    rig.redis.kill()
    now = utc_now()
    assert rig.sweep(now)["recalls"] == 0  # recorded, but the queue is away
    [row] = RecallMail.select()
    assert row.status == "queued"
    rig.redis.start()  # back, and empty
    assert rig.sweep(now + 3 * MINUTE)["recalls"] == 1
    assert wait_for(lambda: RecallMail.get_by_id(row.id).status == "sent")
    rig.sweep(now + 30 * MINUTE)
    [message] = mail_to(rig, "pat1@test.example")
    assert message["Subject"] == "Time to book your follow-up with Dr Ada One"
    assert "/appointments/book/" in message.get_body(("plain",)).get_content()
    assert Recall.select().count() == 1


def test_a_confirm_link_from_a_reminder_the_worker_mailed_marks_the_appointment(
        rig, app, client, people, diary):
    app.config.update(REMINDER_DAYS_AHEAD=2)  # tomorrow's reminder is due now
    appt = Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                              date=diary, time=dt.time(10), reason="Check-up")
    rig.mail.up()
    rig.start_worker(REMINDER_DAYS_AHEAD=2)
    assert rig.sweep(utc_now())["reminders"] == 1
    assert wait_for(lambda: Reminder.get(Reminder.appointment == appt.id).status == "sent")
    [message] = mail_to(rig, "pat1@test.example")
    path = signed_path(message, r"/reply/\d+/confirm/\w+")
    page = client.get(path)
    assert Appointment.get_by_id(appt.id).confirmed_at is None
    done = client.post(path, data={"csrf_token": csrf_token(page.text)})
    assert done.status_code == 200
    assert Appointment.get_by_id(appt.id).confirmed_at == utc_now()


def test_the_automatic_no_show_runs_once_on_two_workers_and_staff_take_it_back(
        rig, app, client, auth, people, diary, frozen_clock):
    with app.app_context():
        today = clinic_today()
    appt = Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                              date=today, time=dt.time(0), reason="Check-up")
    with app.app_context():
        after_grace = starts_at(appt) + 31 * MINUTE
    frozen_clock.move_to(after_grace.replace(tzinfo=dt.UTC))
    for _ in range(2):  # the workers' clocks stand where the test's does now
        rig.start_worker(REMINDER_DAYS_AHEAD=2)
    for _ in range(2):  # two sweeps at once, on two worker processes
        tasks.sweep_work()
    assert wait_for(lambda: Appointment.get_by_id(appt.id).status == "no_show")
    assert wait_for(lambda: rig.queued() == 0)
    marked = Appointment.get_by_id(appt.id)
    assert marked.no_show_auto
    tally = {t.status: t.appointments for t in AppointmentTally.select()}
    assert (tally["no_show"], tally["booked"]) == (1, 0)  # one change, counted once
    auth.login("desk")
    token = csrf_token(client.get("/desk/").text)
    undone = client.post(f"/appointments/{appt.id}/status",
                         data={"csrf_token": token, "action": "undo_no_show"})
    assert undone.status_code == 303 and Appointment.get_by_id(appt.id).status == "booked"
    # A later run, known to have run by the reminder it makes for tomorrow's new booking,
    # leaves the appointment staff took back alone.
    canary = Appointment.create(patient=people.patient("pat.two"), doctor=people.doctor("dr.one"),
                                date=diary, time=dt.time(9), reason="x")
    tasks.sweep_work()
    assert wait_for(lambda: Reminder.get_or_none(Reminder.appointment == canary.id))
    assert Appointment.get_by_id(appt.id).status == "booked"

"""Follow-up recalls: a treatment's follow-up date asks the patient back, a booking answers it,
the patient is reminded to book in the week before, and doctors and admins see them all."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from hms import recalls, work
from hms.clock import clinic_today, utc_now
from hms.models import Appointment, Recall, RecallMail, Treatment
from hms.scheduling import cancel_appointment
from instants import DEFAULT, MATRIX
from support import csrf_token

pytestmark = pytest.mark.calendar(DEFAULT, *(i for i in MATRIX if i.name in (
    "first-of-month-07:30", "23:55", "new-years-eve-23:59", "spring-forward-00:30")))

MINUTE = dt.timedelta(minutes=1)


def record(client, visit, follow_up: dt.date | None, diagnosis: str = "Bronchitis"):
    page = client.get(f"/appointments/{visit.id}/treatments/new")
    return client.post(f"/appointments/{visit.id}/treatments/new", data={
        "csrf_token": csrf_token(page.text), "diagnosis": diagnosis, "visit_type": "first",
        "follow_up_date": follow_up.isoformat() if follow_up else "", "save": "1"})


def recall_sweep(app, now: dt.datetime) -> dict:
    with app.app_context():
        return work.sweep(now, *(lambda *a: None,) * 4, recall=lambda *a: None)


def follow_up_mail(inbox) -> list:
    return [m for m in inbox.messages if "follow-up" in m["Subject"]]


def test_a_follow_up_date_asks_the_patient_back_once(client, auth, people, visit):
    auth.login("dr.one")
    due = visit.date + dt.timedelta(days=14)
    assert record(client, visit, due).status_code == 303
    assert record(client, visit, due, "Second note").status_code == 303  # the same day again
    assert record(client, visit, None, "No follow-up").status_code == 303
    [recall] = Recall.select()
    assert (recall.patient_id, recall.doctor_id, recall.visit_date, recall.due_date) == (
        visit.patient_id, visit.doctor_id, visit.date, due)
    assert recall.treatment_id == Treatment.select().order_by(Treatment.id).first().id
    page = client.get("/recalls/")
    assert page.status_code == 200 and "Pat One" in page.text and "Open (1)" in page.text
    auth.logout()
    auth.login("pat.one")
    home = client.get("/me/").text
    assert "Your doctor asked you back" in home and due.strftime("%-d %B") in home


def test_a_booking_answers_the_recall_and_cancelling_it_opens_the_recall_again(
        app, client, auth, people, visit, diary):
    auth.login("dr.one")
    due = visit.date + dt.timedelta(days=10)
    record(client, visit, due)
    with app.app_context():
        today = clinic_today()
        assert recalls.counts(today) == {"open": 1, "overdue": 0, "booked": 0}
    follow_up = Appointment.create(patient=visit.patient, doctor=visit.doctor, date=diary,
                                   time=dt.time(10), reason="Follow-up")
    booked = client.get("/recalls/?state=booked").text
    assert "Pat One" in booked and diary.strftime("%-d %b") in booked
    assert "Pat One" not in client.get("/recalls/?state=open").text
    with app.app_context():
        cancel_appointment(follow_up, people.user("pat.one"), "away")
        assert recalls.counts(today) == {"open": 1, "overdue": 0, "booked": 0}
    # A booking with another doctor, or one before the visit, answers nothing.
    Appointment.create(patient=visit.patient, doctor=people.doctor("dr.two"), date=diary,
                       time=dt.time(11), reason="Skin")
    with app.app_context():
        assert recalls.counts(today)["booked"] == 0


def test_a_recall_whose_day_passed_unbooked_is_overdue(app, client, auth, people, visit,
                                                       frozen_clock):
    auth.login("dr.one")
    record(client, visit, visit.date + dt.timedelta(days=3))
    frozen_clock.move_to((utc_now() + dt.timedelta(days=5)).replace(tzinfo=dt.UTC))
    auth.login("dr.one")  # a new day, a new session
    page = client.get("/recalls/?state=overdue")
    assert page.status_code == 200 and "Pat One" in page.text and "Overdue (1)" in page.text


def test_the_reminder_to_book_falls_due_a_week_before_at_the_reminder_hour(
        app, client, auth, people, visit):
    auth.login("dr.one")
    due = visit.date + dt.timedelta(days=20)
    record(client, visit, due)
    with app.app_context():
        at = recalls.mail_due(due)
    assert recall_sweep(app, at - MINUTE)["recalls"] == 0
    assert RecallMail.select().count() == 0
    assert recall_sweep(app, at)["recalls"] == 1
    [mail] = RecallMail.select()
    assert mail.claimed_at == at and mail.status == "queued"  # made then, handed out
    recall_sweep(app, at + 5 * MINUTE)
    assert RecallMail.select().count() == 1  # one e-mail per recall


def test_a_follow_up_within_the_week_is_mailed_at_once(app, client, auth, people, visit):
    auth.login("dr.one")
    with app.app_context():
        soon = clinic_today() + dt.timedelta(days=2)
    record(client, visit, soon)
    assert recall_sweep(app, utc_now())["recalls"] == 1


def test_the_mail_names_the_day_and_links_to_free_times_around_it(
        app, client, auth, people, visit, diary, inbox, worker_app):
    auth.login("dr.one")
    due = diary + dt.timedelta(days=2)
    record(client, visit, due)
    with app.app_context():
        import tasks

        tasks.sweep()
    [message] = follow_up_mail(inbox)  # (reminders and monthly reports may go out too)
    assert message["To"] == "pat1@test.example"
    assert message["Subject"] == "Time to book your follow-up with Dr Ada One"
    text = message.get_body(("plain",)).get_content()
    assert due.strftime("%A %-d %B %Y") in text
    links = re.findall(r"https?://[^/\s]+(/appointments/book/\d+\?slot=\S+)", text)
    assert len(links) == 6  # Dr One's free mornings around the day, soonest first
    slots = [link.rsplit("=", 1)[1] for link in links]
    assert slots == sorted(slots) and slots[0].startswith((due - dt.timedelta(days=2)).isoformat())
    auth.logout()
    auth.login("pat.one")
    page = client.get(links[0])
    assert page.status_code == 200 and "Book appointment" in page.text
    assert re.search(r"/doctors/\d+\s", text)  # all the doctor's free times
    assert RecallMail.get().status == "sent"


def test_a_recall_booked_before_its_mail_goes_is_not_mailed(app, client, auth, people, visit,
                                                            diary, inbox, worker_app):
    auth.login("dr.one")
    record(client, visit, diary + dt.timedelta(days=1))
    Appointment.create(patient=visit.patient, doctor=visit.doctor, date=diary,
                       time=dt.time(9, 30), reason="Follow-up")
    with app.app_context():
        import tasks

        tasks.sweep()
    assert follow_up_mail(inbox) == []
    assert RecallMail.select().count() == 0  # answered: nothing to remind of


def test_closing_a_recall_is_the_doctors_own_or_an_admins(client, auth, people, visit):
    auth.login("dr.one")
    record(client, visit, visit.date + dt.timedelta(days=7))
    recall = Recall.get()
    auth.logout()
    auth.login("dr.two")
    token = csrf_token(client.get("/recalls/").text)
    assert "Pat One" not in client.get("/recalls/").text
    assert client.post(f"/recalls/{recall.id}/close",
                       data={"csrf_token": token}).status_code == 404
    auth.logout()
    auth.login("pat.one")
    assert client.get("/recalls/").status_code == 403
    auth.logout()
    auth.login("admin")
    page = client.get(f"/recalls/?doctor={visit.doctor_id}")
    assert page.status_code == 200 and "Pat One" in page.text
    closed = client.post(f"/recalls/{recall.id}/close",
                         data={"csrf_token": csrf_token(page.text)})
    assert closed.status_code == 303
    assert Recall.get_by_id(recall.id).closed_at == utc_now()
    assert "Pat One" in client.get("/recalls/?state=closed").text
    assert client.get("/recalls/?state=lost").status_code == 404


def test_the_list_is_paged(app, client, auth, people):
    doctor, patient = people.doctor("dr.one"), people.patient("pat.one")
    with app.app_context():
        today = clinic_today()
    for n in range(30):  # visits of one day: none answers another's recall
        visit = Appointment.create(patient=patient, doctor=doctor, time=dt.time(9, n),
                                   date=today - dt.timedelta(days=1), status="completed")
        treatment = Treatment.create(appointment=visit, author=doctor.user, diagnosis="x",
                                     follow_up_date=today + dt.timedelta(days=40 + n))
        with app.app_context():
            recalls.record(treatment, visit)
    auth.login("dr.one")
    first = client.get("/recalls/").text
    assert first.count("<tr>") == 1 + recalls.PAGE and "Next" in first
    assert client.get("/recalls/?page=2").text.count("<tr>") == 1 + 5

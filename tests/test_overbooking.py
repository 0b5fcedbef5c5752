"""Audited overbooking: the doctor or an admin allows a session a few extra appointments, the
desk books into them only with a reason, every view marks them, and the reports count them; the
live-slot index keeps holding for normal bookings."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from peewee import IntegrityError

from hms import overbooking
from hms.db import db
from hms.models import Appointment, AuditLog, OverbookAllowance, Patient, User
from hms.scheduling import book_appointment, cancel_appointment
from hms.stats import doctor_activity, hospital_summary
from instants import DEFAULT, MATRIX
from racing import Browser, assert_no_server_trouble, race
from support import PASSWORD, csrf_token

# Sessions and "still to come" times by the clock: at midnight, a year's end and the repeated
# autumn hour too.
pytestmark = pytest.mark.calendar(DEFAULT, *(i for i in MATRIX if i.name in (
    "23:55", "new-years-eve-23:59", "fall-back-01:30-second")))

HTMX = {"HX-Request": "true"}


@pytest.fixture
def held(people, diary):
    """Pat Two holds Dr One's 09:00 tomorrow; the morning may take one patient over."""
    doctor = people.doctor("dr.one")
    appt = Appointment.create(patient=people.patient("pat.two"), doctor=doctor, date=diary,
                              time=dt.time(9), reason="Check-up")
    OverbookAllowance.create(doctor=doctor, date=diary, part_of_day="morning", extra=1,
                             set_by=people.user("dr.one"))
    return appt


def overbook(client, people, day: dt.date, time: str = "09:00", reason: str = "Chest pain",
             why: str = "Urgent: seen today", patient: str = "pat.one", **headers):
    doctor = people.doctor("dr.one")
    patient_id = people.patient(patient).id
    page = client.get(f"/desk/overbook?patient={patient_id}&doctor={doctor.id}"
                      f"&date={day.isoformat()}")
    assert page.status_code == 200, page.status_code
    return client.post("/desk/overbook", headers=headers, data={
        "csrf_token": csrf_token(page.text), "patient_id": patient_id, "doctor_id": doctor.id,
        "slot": f"{day.isoformat()}T{time}", "reason": reason, "why": why})


def test_the_doctor_allows_a_session_and_sees_it_used(client, auth, people, diary):
    auth.login("dr.one")
    page = client.get("/availability/overbook")
    assert page.status_code == 200 and "No overbooking is allowed" in page.text
    allowed = client.post("/availability/overbook", data={
        "csrf_token": csrf_token(page.text), "day": diary.isoformat(),
        "part_of_day": "afternoon", "extra": "2"})
    assert allowed.status_code == 303
    row = OverbookAllowance.get()
    assert (row.date, row.part_of_day, row.extra, row.set_by_id) == (
        diary, "afternoon", 2, people.user("dr.one").id)
    listed = client.get("/availability/overbook").text
    assert diary.strftime("%a %-d %b %Y") in listed and "afternoon" in listed
    none = client.post("/availability/overbook", data={
        "csrf_token": csrf_token(listed), "day": diary.isoformat(), "part_of_day": "afternoon",
        "extra": "0"})
    assert none.status_code == 303 and OverbookAllowance.select().count() == 0
    assert "overbook allowance:2" in [a.action for a in AuditLog.select()]


def test_bad_allowances_are_refused_beside_the_field(client, auth, people, diary):
    auth.login("dr.one")
    page = client.get("/availability/overbook")
    for day, extra, message in ((diary, "11", "from 0 to 10"),
                                (diary - dt.timedelta(days=7), "1", "from today up to"),
                                (diary, "٣", "whole number")):
        refused = client.post("/availability/overbook", data={
            "csrf_token": csrf_token(page.text), "day": day.isoformat(),
            "part_of_day": "morning", "extra": extra})
        assert refused.status_code == 422 and message in refused.text, message
    assert OverbookAllowance.select().count() == 0


def test_only_the_doctor_and_admins_set_allowances(client, auth, people):
    doctor = people.doctor("dr.one")
    auth.login("desk")
    assert client.get("/availability/overbook").status_code == 403
    assert client.get(f"/availability/overbook/{doctor.id}").status_code == 403
    auth.logout()
    auth.login("admin")
    page = client.get(f"/availability/overbook/{doctor.id}")
    assert page.status_code == 200 and "Overbooking: Dr Ada One" in page.text
    assert client.get("/availability/overbook/999").status_code == 404


def test_the_desk_books_over_a_full_session_with_a_reason(client, auth, people, diary, held):
    auth.login("desk")
    patient, doctor = people.patient("pat.one"), people.doctor("dr.one")
    panel = client.get(f"/desk/?patient={patient.id}&doctor={doctor.id}"
                       f"&date={diary.isoformat()}").text
    assert "Book over a taken time" in panel
    booked = overbook(client, people, diary)
    assert booked.status_code == 303 and booked.headers["Location"].startswith("/desk/slip/")
    extra = Appointment.get(Appointment.patient == patient)
    assert (extra.overbook, extra.overbook_reason, extra.reason, extra.time) == (
        True, "Urgent: seen today", "Chest pain", dt.time(9))
    assert extra.booked_by_id == people.user("desk").id
    entry = AuditLog.get(AuditLog.action == "overbook")
    assert (entry.user_id, entry.patient_id, entry.object_id) == (
        people.user("desk").id, patient.id, extra.id)
    # Marked wherever it shows.
    assert "overbooked" in client.get(f"/appointments/{extra.id}").text
    auth.logout()
    auth.login("dr.one")
    schedule = client.get("/appointments/schedule?when=upcoming").text
    row = re.search(rf'<tr id="appt-{extra.id}".*?</tr>', schedule, re.S)[0]
    assert '<span class="tag overbook"' in row
    # The morning's one place is used: no more.
    auth.logout()
    auth.login("desk")
    panel = client.get(f"/desk/?patient={patient.id}&doctor={doctor.id}"
                       f"&date={diary.isoformat()}").text
    assert "Book over a taken time" not in panel
    again = client.post("/desk/overbook", headers=HTMX, data={
        "csrf_token": csrf_token(panel), "patient_id": people.patient("pat.two").id,
        "doctor_id": doctor.id, "slot": f"{diary.isoformat()}T09:30", "reason": "x",
        "why": "y"})
    assert again.status_code == 409
    assert Appointment.select().where(Appointment.overbook == True).count() == 1  # noqa: E712


def test_an_overbooking_needs_its_reasons_and_a_held_time(client, auth, people, diary, held):
    auth.login("desk")
    missing = overbook(client, people, diary, why="  ", reason="")
    assert missing.status_code == 422
    assert "Say why this patient must be seen over the session." in missing.text
    assert "Give a short reason for the visit." in missing.text
    free = overbook(client, people, diary, time="10:00")
    assert free.status_code == 409 and "That time is free: book it as usual." in free.text
    assert Appointment.select().count() == 1


def test_patients_cannot_overbook(client, auth, people, diary, held):
    auth.login("pat.one")
    assert client.get(f"/desk/overbook?patient=1&doctor=1&date={diary}").status_code == 403
    with client.application.app_context():
        with pytest.raises(Exception, match="Only the front desk"):
            overbooking.overbook(people.patient("pat.one"), people.doctor("dr.one"), diary,
                                 dt.time(9), "x", "y", people.user("pat.one"))


def test_the_live_slot_index_still_holds_for_normal_bookings(app, people, diary, held):
    with app.app_context():
        extra = overbooking.overbook(people.patient("pat.one"), people.doctor("dr.one"), diary,
                                     dt.time(9), "Pain", "Urgent", people.user("desk"))
    third = Patient.create(user=User.create(username="p3", role="patient"), full_name="Three",
                           gender="other", dob=dt.date(1990, 1, 1))
    with pytest.raises(IntegrityError), db.atomic():  # the index, not a check in Python
        Appointment.create(patient=third, doctor=held.doctor, date=diary, time=dt.time(9),
                           reason="x")
    with app.app_context():
        cancel_appointment(held, people.user("pat.two"), "away")
        normal = book_appointment(third, held.doctor, diary, dt.time(9), "x",
                                  people.user("desk"))  # the held time is free again
    assert not normal.overbook and Appointment.get_by_id(extra.id).overbook


def test_the_reports_count_overbooked_appointments(app, people, diary, held):
    with app.app_context():
        overbooking.overbook(people.patient("pat.one"), people.doctor("dr.one"), diary,
                             dt.time(9), "Pain", "Urgent", people.user("desk"))
        activity = doctor_activity(people.doctor("dr.one"), diary, diary)
        summary = hospital_summary(diary, diary)
    assert activity["counts"]["overbooked"] == 1 and activity["counts"]["appointments"] == 2
    assert summary["totals"]["overbooked"] == 1
    [row] = [d for d in summary["attendance"] if d["name"] == "Dr Ada One"]
    assert row["overbooked"] == 1


def test_two_desks_taking_the_last_place_at_once_get_it_once(app, live_server, people, diary,
                                                             held):
    from hms.accounts import create_staff

    with app.app_context(), db.connection_context():
        create_staff("receptionist", "desk2", "desk2@test.example", PASSWORD)
    doctor = people.doctor("dr.one")
    patients = [people.patient("pat.one").id]
    with app.app_context(), db.connection_context():
        from hms.accounts import register_patient

        user = register_patient("pat.four", "p4@test.example", None, "Pat Four", "other",
                                dt.date(1990, 1, 1), "+44 1000 000004")
        patients.append(Patient.get(Patient.user == user).id)

    def contender(username: str, patient_id: int):
        browser = Browser(live_server)

        def prepare():
            browser.log_in(username)
            page = browser.get(f"/desk/overbook?patient={patient_id}&doctor={doctor.id}"
                               f"&date={diary.isoformat()}")
            assert page.status == 200, page.status
            return csrf_token(page.text)

        def fire(token):
            return browser.post("/desk/overbook", {
                "csrf_token": token, "patient_id": str(patient_id), "doctor_id": str(doctor.id),
                "slot": f"{diary.isoformat()}T09:00", "reason": "Pain", "why": "Urgent"})

        return prepare, fire

    replies = race([contender("desk", patients[0]), contender("desk2", patients[1])])
    assert_no_server_trouble(replies)
    assert sorted(r.status for r in replies) == [303, 409], [r.status for r in replies]
    with app.app_context(), db.connection_context():
        assert Appointment.select().where(Appointment.overbook == True).count() == 1  # noqa: E712


def test_patients_see_the_mark_but_not_the_reason(client, auth, people, diary, held):
    with client.application.app_context():
        extra = overbooking.overbook(people.patient("pat.one"), people.doctor("dr.one"), diary,
                                     dt.time(9), "Pain", "Seen over: urgent", people.user("desk"))
    auth.login("pat.one")
    for path in ("/me/", "/appointments/", f"/appointments/{extra.id}"):
        page = client.get(path).text
        assert "overbooked" in page and "Seen over: urgent" not in page, path
    auth.logout()
    auth.login("desk")
    assert "Seen over: urgent" in client.get(f"/appointments/{extra.id}").text

"""The waitlist: joining it, a freed time offered to the first one waiting, passing on when not
taken in time or declined, claiming through the booking rules, and who may see what."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from hms import waitlist, work
from hms.accounts import register_patient
from hms.clock import utc_now
from hms.models import (
    Appointment,
    OfferMail,
    Patient,
    SlotOffer,
    WaitlistEntry,
)
from hms.scheduling import book_appointment, cancel_appointment
from instants import DEFAULT, MATRIX
from support import PASSWORD, csrf_token, one_time_held

# Offers run out and pass on by the clock: at midnight, a month's and a year's end, and in the
# repeated autumn hour as well.
pytestmark = pytest.mark.calendar(DEFAULT, *(i for i in MATRIX if i.name in (
    "23:55", "new-years-eve-23:59", "fall-back-01:30-second")))

HTMX = {"HX-Request": "true"}
MINUTE = dt.timedelta(minutes=1)


def token(client) -> str:
    return csrf_token(client.get("/", follow_redirects=True).text)


@pytest.fixture
def full_day(people, diary):
    """The day after tomorrow, when Dr One sees patients at 09:00 only, and Pat Two holds that
    time. Returns (day, Pat Two's visit)."""
    day = diary + dt.timedelta(days=1)
    return day, one_time_held(people, day)


@pytest.fixture
def third(app):
    """A third patient with a login, Pat Three."""
    user = register_patient("pat.three", "pat3@test.example", PASSWORD, "Pat Three", "other",
                            dt.date(1970, 3, 3), "+44 1000 000003")
    return Patient.get(Patient.user == user)


def join(client, doctor, day: dt.date, last: dt.date | None = None, part: str = "any",
         reason: str = "Earlier if possible", patient: Patient | None = None, any_doctor=False):
    """Post the waitlist form, as the page shows it."""
    query = f"doctor={doctor.id}" + (f"&patient={patient.id}" if patient else "")
    page = client.get(f"/waitlist/join?{query}")
    assert page.status_code == 200, page.status_code
    return client.post(f"/waitlist/join?{query}", data={
        "csrf_token": csrf_token(page.text), "doctor": 0 if any_doctor else doctor.id,
        "first_day": day.isoformat(), "last_day": (last or day).isoformat(),
        "part_of_day": part, "reason": reason})


def cancel(client, appt):
    page = client.get(f"/appointments/{appt.id}")
    return client.post(f"/appointments/{appt.id}/cancel", data={
        "csrf_token": csrf_token(page.text), "reason": "Cannot come"})


def open_offer(patient) -> SlotOffer | None:
    return (SlotOffer.select().join(WaitlistEntry)
            .where(WaitlistEntry.patient == patient, SlotOffer.status == "open").first())


def waiting_then_freed(app, people, full_day, *others, any_doctor: bool = False):
    """Pat One (for Dr One, or any_doctor of Cardiology), then each patient of `others` (for
    Dr One), wait for the full day; then Pat Two lets its 09:00 go. Returns the day."""
    day, visit = full_day
    doctor = people.doctor("dr.one")
    with app.app_context():
        waitlist.join(people.patient("pat.one"), doctor.department,
                      None if any_doctor else doctor, day, day, "any", "Headache",
                      people.user("pat.one"))
        for patient in others:
            waitlist.join(patient, doctor.department, doctor, day, day, "any", "Knee",
                          patient.user)
        cancel_appointment(visit, people.user("pat.two"), "away")
    return day


def sweep(app, now: dt.datetime) -> dict:
    """The sweep's waitlist part, with its e-mails handed to nobody."""
    with app.app_context():
        return work.sweep(now, *(lambda *a: None,) * 4, offer=lambda *a: None)


def test_a_patient_joins_from_a_doctors_page_and_sees_it_on_their_home(client, auth, people,
                                                                         full_day):
    day, _ = full_day
    auth.login("pat.one")
    doctor = people.doctor("dr.one")
    assert f"/waitlist/join?doctor={doctor.id}" in client.get(f"/doctors/{doctor.id}").text
    joined = join(client, doctor, day, part="morning")
    assert joined.status_code == 303 and joined.headers["Location"] == "/me/"
    [entry] = WaitlistEntry.select()
    assert (entry.patient_id, entry.doctor_id, entry.first_day, entry.part_of_day,
            entry.status) == (people.patient("pat.one").id, doctor.id, day, "morning", "waiting")
    assert entry.created_by_id == people.user("pat.one").id
    home = client.get("/me/").text
    assert "On the waitlist" in home and "Dr Ada One" in home and "mornings" in home
    assert open_offer(people.patient("pat.one")) is None  # nothing is free that day


def test_bad_days_and_no_reason_are_refused_beside_the_fields(client, auth, people, full_day):
    day, _ = full_day
    auth.login("pat.one")
    doctor = people.doctor("dr.one")
    refused = join(client, doctor, day, last=day - dt.timedelta(days=2), reason="  ")
    assert refused.status_code == 422
    assert "The last day cannot be before the first." in refused.text
    assert "Tell the doctor briefly why you are coming." in refused.text
    assert "There is a problem" in refused.text
    past = join(client, doctor, day - dt.timedelta(days=5))
    assert past.status_code == 422 and "The first day cannot be in the past." in past.text
    far = join(client, doctor, day, last=day + dt.timedelta(days=120))
    assert far.status_code == 422 and "at most 90 days ahead" in far.text
    assert WaitlistEntry.select().count() == 0


def test_a_second_entry_for_the_same_doctor_is_refused(client, auth, people, full_day):
    day, _ = full_day
    auth.login("pat.one")
    assert join(client, people.doctor("dr.one"), day).status_code == 303
    again = join(client, people.doctor("dr.one"), day, last=day + dt.timedelta(days=1))
    assert again.status_code == 422 and "Already waiting for Dr Ada One" in again.text
    assert WaitlistEntry.select().count() == 1


def test_a_cancelled_time_is_offered_to_the_first_one_waiting(client, auth, people, full_day,
                                                             third):
    day, visit = full_day
    doctor = people.doctor("dr.one")
    auth.login("pat.one")
    assert join(client, doctor, day).status_code == 303
    auth.logout()
    with client.application.app_context():
        waitlist.join(third, doctor.department, doctor, day, day, "any", "Knee",
                      third.user)
    auth.login("pat.two")
    assert cancel(client, visit).status_code == 303  # Pat Two lets 09:00 go
    offer = open_offer(people.patient("pat.one"))
    assert (offer.doctor_id, offer.date, offer.time) == (doctor.id, day, dt.time(9))
    assert offer.expires_at == utc_now() + dt.timedelta(minutes=30)
    assert open_offer(third) is None  # second in line
    [mail] = OfferMail.select()
    assert mail.offer_id == offer.id and mail.status == "queued"
    auth.logout()
    auth.login("pat.one")
    home = client.get("/me/").text
    assert "A time is free for you" in home and "Book this time" in home


def test_an_offer_not_taken_in_time_passes_to_the_next_and_the_first_cannot_take_it_late(
        app, client, auth, people, full_day, third, frozen_clock):
    doctor = people.doctor("dr.one")
    day = waiting_then_freed(app, people, full_day, third)
    first = open_offer(people.patient("pat.one"))
    assert first is not None
    sweep(app, first.expires_at - MINUTE)
    assert SlotOffer.get_by_id(first.id).status == "open"  # not yet
    frozen_clock.move_to(first.expires_at.replace(tzinfo=dt.UTC))
    sweep(app, first.expires_at)
    assert SlotOffer.get_by_id(first.id).status == "passed"
    second = open_offer(third)
    assert (second.date, second.time) == (day, dt.time(9))
    # Pat One's place is kept, but this time is not offered to them again.
    assert WaitlistEntry.get(WaitlistEntry.patient == people.patient("pat.one")).status == \
        "waiting"
    auth.login("pat.one")
    late = client.post(f"/offers/{first.id}/claim", data={"csrf_token": token(client)})
    assert late.status_code == 409 and "offered to the next patient" in late.text
    auth.logout()
    auth.login("pat.three")
    taken = client.post(f"/offers/{second.id}/claim", data={"csrf_token": token(client)})
    assert taken.status_code == 303
    appt = Appointment.get(Appointment.patient == third, Appointment.status == "booked")
    assert taken.headers["Location"] == f"/appointments/{appt.id}"
    assert (appt.doctor_id, appt.date, appt.time, appt.reason) == (doctor.id, day, dt.time(9),
                                                                   "Knee")
    assert appt.booked_by_id == third.user_id
    entry = WaitlistEntry.get(WaitlistEntry.patient == third)
    assert entry.status == "booked" and entry.appointment_id == appt.id
    assert SlotOffer.get_by_id(second.id).status == "claimed"
    sweep(app, second.expires_at + MINUTE)  # nothing left to offer that day
    assert open_offer(people.patient("pat.one")) is None


def test_declining_passes_the_time_on_and_keeps_the_place(client, auth, people, full_day, third):
    waiting_then_freed(client.application, people, full_day, third, any_doctor=True)
    offer = open_offer(people.patient("pat.one"))
    auth.login("pat.one")
    declined = client.post(f"/offers/{offer.id}/decline", data={"csrf_token": token(client)})
    assert declined.status_code == 303 and declined.headers["Location"] == "/me/"
    assert SlotOffer.get_by_id(offer.id).status == "declined"
    assert open_offer(third) is not None  # at once, not at the next sweep
    assert WaitlistEntry.get(WaitlistEntry.patient == people.patient("pat.one")).status == \
        "waiting"


def test_a_time_booked_by_someone_else_meanwhile_is_withdrawn_and_the_place_kept(
        client, auth, people, full_day):
    day = waiting_then_freed(client.application, people, full_day)
    offer = open_offer(people.patient("pat.one"))
    with client.application.app_context():  # the desk books it over the phone meanwhile
        book_appointment(people.patient("pat.two"), people.doctor("dr.one"), day, dt.time(9),
                         "Back again", people.user("desk"))
    auth.login("pat.one")
    claimed = client.post(f"/offers/{offer.id}/claim", data={"csrf_token": token(client)})
    assert claimed.status_code == 409 and "just taken" in claimed.text
    assert SlotOffer.get_by_id(offer.id).status == "withdrawn"
    assert Appointment.select().where(Appointment.patient == people.patient("pat.one")).count() \
        == 0
    assert WaitlistEntry.get(WaitlistEntry.patient == people.patient("pat.one")).status == \
        "waiting"


def test_a_free_time_that_suits_is_offered_at_once_and_the_part_of_day_is_kept(
        client, auth, people, diary):
    """Dr One has free mornings from tomorrow: joining for afternoons offers nothing, joining
    for any time offers the soonest free one."""
    doctor = people.doctor("dr.one")
    auth.login("pat.one")
    assert join(client, doctor, diary, part="afternoon").status_code == 303
    assert open_offer(people.patient("pat.one")) is None
    auth.logout()
    auth.login("pat.two")
    assert join(client, doctor, diary, last=diary + dt.timedelta(days=2)).status_code == 303
    offer = open_offer(people.patient("pat.two"))
    assert (offer.date, offer.time) == (diary, dt.time(9))


def test_the_signed_link_opens_without_login_and_only_its_button_books(app, client, people,
                                                                       full_day):
    from hms.links import offer_url

    waiting_then_freed(app, people, full_day)
    offer = open_offer(people.patient("pat.one"))
    with app.app_context():
        path = re.sub(r"^https?://[^/]+", "", offer_url(offer.id))
    page = client.get(path)  # what a mail scanner does
    assert page.status_code == 200 and "Book this time" in page.text and "Dr Ada One" in page.text
    assert SlotOffer.get_by_id(offer.id).status == "open"
    assert client.get(path[:-3] + "abc").status_code == 404  # a wrong signature
    assert client.get(f"/offers/{offer.id}").status_code == 302  # without it, log in first
    booked = client.post(f"{path}/claim", data={"csrf_token": csrf_token(page.text)})
    assert booked.status_code == 200 and "Booked:" in booked.text
    assert SlotOffer.get_by_id(offer.id).status == "claimed"
    again = client.post(f"{path}/claim", data={"csrf_token": csrf_token(page.text)})
    assert again.status_code == 409 and "You took this time" in again.text
    assert Appointment.select().where(Appointment.patient == people.patient("pat.one")).count() \
        == 1


def test_offers_belong_to_their_patient_only(client, auth, people, full_day):
    waiting_then_freed(client.application, people, full_day)
    offer = open_offer(people.patient("pat.one"))
    auth.login("pat.two")
    assert client.get(f"/offers/{offer.id}").status_code == 404
    assert client.post(f"/offers/{offer.id}/claim",
                       data={"csrf_token": token(client)}).status_code == 404
    auth.logout()
    auth.login("dr.one")
    assert client.get(f"/offers/{offer.id}").status_code == 403
    assert SlotOffer.get_by_id(offer.id).status == "open"


def test_the_desk_puts_a_patient_on_the_list_and_sees_it_in_order(client, auth, people,
                                                                  full_day, third):
    day, _ = full_day
    doctor = people.doctor("dr.one")
    auth.login("desk")
    desk = client.get(f"/desk/?patient={third.id}&doctor={doctor.id}").text
    assert f"/waitlist/join?patient={third.id}&amp;doctor={doctor.id}" in desk
    assert join(client, doctor, day, patient=third).status_code == 303
    assert join(client, doctor, day, patient=people.patient("pat.one"),
                any_doctor=True).status_code == 303
    listed = client.get(f"/waitlist/?department={doctor.department_id}")
    assert listed.status_code == 200
    assert "Pat One is on the waitlist for any doctor in Cardiology" in listed.text  # flashed
    rows = listed.text[listed.text.index("<tbody>"):]
    assert rows.index("Pat Three") < rows.index("Pat One")  # in the order they joined
    assert "Any doctor in Cardiology" in listed.text
    fragment = client.get(f"/waitlist/?department={doctor.department_id}", headers=HTMX)
    assert fragment.text.startswith('<section id="waitlist"') and "<html" not in fragment.text
    assert fragment.headers["Vary"].count("HX-Request") == 1
    auth.logout()
    auth.login("dr.one")
    assert "Pat Three" in client.get("/waitlist/").text  # the doctor's own list
    auth.logout()
    auth.login("dr.two")  # Dermatology: neither entry is theirs
    page = client.get("/waitlist/").text
    assert "Pat Three" not in page and "Pat One" not in page
    auth.logout()
    auth.login("pat.one")
    assert client.get("/waitlist/").status_code == 403


def test_leaving_passes_an_open_offer_on_and_is_the_patients_own(client, auth, people, full_day,
                                                                third):
    waiting_then_freed(client.application, people, full_day, third)
    mine = WaitlistEntry.get(WaitlistEntry.patient == people.patient("pat.one"))
    auth.login("pat.two")
    assert client.post(f"/waitlist/{mine.id}/leave",
                       data={"csrf_token": token(client)}).status_code == 404
    auth.logout()
    auth.login("pat.one")
    asked = client.post(f"/waitlist/{mine.id}/leave", data={"csrf_token": token(client),
                                                            "ask": "1"})
    assert asked.status_code == 200 and "Leave the waitlist?" in asked.text  # no JavaScript
    assert WaitlistEntry.get_by_id(mine.id).status == "waiting"
    left = client.post(f"/waitlist/{mine.id}/leave", data={"csrf_token": token(client)})
    assert left.status_code == 303
    assert WaitlistEntry.get_by_id(mine.id).status == "removed"
    assert open_offer(people.patient("pat.one")) is None and open_offer(third) is not None


def test_entries_end_after_their_last_day(app, people, full_day, frozen_clock):
    day, _ = full_day
    doctor = people.doctor("dr.one")
    with app.app_context():
        entry = waitlist.join(people.patient("pat.one"), doctor.department, doctor, day, day,
                              "any", "Headache", people.user("pat.one"))
    later = utc_now() + dt.timedelta(days=4)
    frozen_clock.move_to(later.replace(tzinfo=dt.UTC))
    sweep(app, later)
    assert WaitlistEntry.get_by_id(entry.id).status == "ended"


def test_a_patient_booking_only_through_the_desk_cannot_join_themselves(app, client, auth,
                                                                        people, full_day):
    day, _ = full_day
    patient, doctor = people.patient("pat.one"), people.doctor("dr.two")
    for n in range(3):
        Appointment.create(patient=patient, doctor=doctor, time=dt.time(9),
                           date=day - dt.timedelta(days=10 + n), status="no_show")
    auth.login("pat.one")
    refused = join(client, people.doctor("dr.one"), day)
    assert refused.status_code == 422 and "through the front desk" in refused.text
    assert WaitlistEntry.select().count() == 0


def test_deactivated_patients_are_offered_nothing_and_their_links_book_nothing(
        app, client, people, full_day, third):
    from hms.links import offer_url
    from hms.models import User

    day = waiting_then_freed(app, people, full_day, third)
    offer = open_offer(people.patient("pat.one"))
    User.update(is_active=False).where(User.id == people.user("pat.one").id).execute()
    with app.app_context():
        path = re.sub(r"^https?://[^/]+", "", offer_url(offer.id))
    page = client.get(path)
    refused = client.post(f"{path}/claim", data={"csrf_token": csrf_token(page.text)})
    assert refused.status_code == 409 and SlotOffer.get_by_id(offer.id).status == "withdrawn"
    assert not Appointment.select().where(Appointment.date == day,
                                          Appointment.status == "booked").exists()
    assert open_offer(third) is not None  # the time went on to the next one waiting
    assert open_offer(people.patient("pat.one")) is None


def test_a_desk_only_patient_is_offered_what_the_desk_arranged_and_may_take_it(
        app, client, auth, people, full_day):
    patient = people.patient("pat.one")
    day, visit = full_day
    for n in range(3):
        Appointment.create(patient=patient, doctor=people.doctor("dr.two"), time=dt.time(9),
                           date=day - dt.timedelta(days=10 + n), status="no_show")
    doctor = people.doctor("dr.one")
    with app.app_context():  # the desk puts them on the list
        waitlist.join(patient, doctor.department, doctor, day, day, "any", "Headache",
                      people.user("desk"))
        cancel_appointment(visit, people.user("pat.two"), "away")
    offer = open_offer(patient)
    assert offer is not None
    auth.login("pat.one")
    taken = client.post(f"/offers/{offer.id}/claim", data={"csrf_token": token(client)})
    assert taken.status_code == 303  # the desk arranged it: not an online booking of theirs


def test_one_open_offer_a_patient_and_three_unanswered_end_the_entry(app, people, diary,
                                                                     frozen_clock):
    """Pat One waits for Dr One and for any doctor in Cardiology while Dr One's mornings are
    free: one offer at a time; after three run out unanswered, both entries end."""
    doctor, patient = people.doctor("dr.one"), people.patient("pat.one")
    with app.app_context():
        for who in (doctor, None):
            waitlist.join(patient, doctor.department, who, diary, diary + dt.timedelta(days=5),
                          "any", "Headache", people.user("pat.one"))
    assert SlotOffer.select().where(SlotOffer.status == "open").count() == 1
    now = utc_now()
    for _ in range(waitlist.MAX_UNANSWERED):
        offer = open_offer(patient)
        now = offer.expires_at
        frozen_clock.move_to(now.replace(tzinfo=dt.UTC))
        sweep(app, now)
    first, second = WaitlistEntry.select().order_by(WaitlistEntry.id)
    assert SlotOffer.select().where(SlotOffer.entry == first.id,
                                    SlotOffer.status == "passed").count() == 3
    assert first.status == "ended"  # three unanswered: no more mail for it
    assert second.status == "waiting" and open_offer(patient).entry_id == second.id


def test_two_patients_claiming_one_offered_time_at_once_get_it_once(
        app, live_server, people, full_day, third):
    """The time was Pat One's offer and passed to Pat Three; at the same moment Pat One clicks
    their stale offer, Pat Three claims theirs, and Pat Two books the time from the doctor's
    page. The live-slot index decides: one appointment, the others refused, none a 500."""
    from racing import Browser, assert_no_server_trouble, race

    from hms.db import db

    day = waiting_then_freed(app, people, full_day, third)
    first = open_offer(people.patient("pat.one"))
    with app.app_context(), db.connection_context():
        sweep(app, first.expires_at)  # Pat One's ran out: Pat Three's turn
    second = open_offer(third)
    slot = f"{day.isoformat()}T09:00"
    doctor = people.doctor("dr.one")

    def claimer(username: str, offer_id: int):
        browser = Browser(live_server)

        def prepare():
            browser.log_in(username)
            return csrf_token(browser.get("/me/").text)

        return prepare, lambda token: browser.post(f"/offers/{offer_id}/claim",
                                                   {"csrf_token": token})

    def booker():
        browser = Browser(live_server)

        def prepare():
            browser.log_in("pat.two")
            return csrf_token(browser.get(f"/appointments/book/{doctor.id}?slot={slot}").text)

        return prepare, lambda token: browser.post(f"/appointments/book/{doctor.id}", {
            "csrf_token": token, "slot": slot, "reason": "Back again"})

    replies = race([claimer("pat.one", first.id), claimer("pat.three", second.id), booker()])
    assert_no_server_trouble(replies)
    assert sorted(r.status for r in replies) == [303, 409, 409], [r.status for r in replies]
    with app.app_context(), db.connection_context():
        held = Appointment.select().where(Appointment.doctor == doctor, Appointment.date == day,
                                          Appointment.time == dt.time(9), Appointment.is_live())
        assert held.count() == 1
        assert SlotOffer.get_by_id(first.id).status == "passed"  # the stale click booked nothing


def test_one_sweep_offers_each_waiting_patient_a_time(app, people, diary):
    """Entries recorded while nothing ran (a worker away, say): the next sweep offers every
    patient waiting their own time, not only the first."""
    for username, doctor in (("pat.one", "dr.one"), ("pat.two", "dr.two")):
        WaitlistEntry.create(patient=people.patient(username),
                             department=people.doctor(doctor).department,
                             doctor=people.doctor(doctor), first_day=diary,
                             last_day=diary + dt.timedelta(days=3), reason="Soon",
                             created_by=people.user(username))
    assert sweep(app, utc_now())["offers"] == 2
    for username, doctor in (("pat.one", "dr.one"), ("pat.two", "dr.two")):
        offer = open_offer(people.patient(username))
        assert (offer.doctor_id, offer.date, offer.time) == (
            people.doctor(doctor).id, diary, dt.time(9))

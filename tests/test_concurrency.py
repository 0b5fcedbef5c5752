"""Races against the real server: many patients grabbing one slot at once, and two reschedules
racing into the same slot. Each client is a separate logged-in session (its own cookie jar),
talks HTTP to the threaded live server, and fires its POST together with the others from
behind a barrier. The database is checked afterwards through the models."""

from __future__ import annotations

import datetime as dt
import html
import urllib.parse
import urllib.request

from hms.accounts import register_patient
from hms.db import db
from hms.models import LIVE_STATUSES, Appointment, Patient, User
from racing import (
    TAKEN,
    Browser,
    Reply,
    assert_no_server_trouble,
    race,
    slot_key,
)
from support import PASSWORD, csrf_token

CONTENDERS = 20  # patients registered for the booking race, on top of the two personas


def refused_as_taken(reply: Reply) -> bool:
    return reply.status == 409 and TAKEN in html.unescape(reply.text)


def appointment_id_from(location: str) -> int:
    path = urllib.parse.urlsplit(location).path
    assert path.startswith("/appointments/"), location
    return int(path.rstrip("/").rsplit("/", 1)[1])


def live_at(doctor, day: dt.date, at: dt.time):
    return Appointment.select().where(Appointment.doctor == doctor, Appointment.date == day,
                                      Appointment.time == at,
                                      Appointment.status.in_(LIVE_STATUSES))


# --- the booking race -------------------------------------------------------------------------

def test_simultaneous_bookings_of_one_slot_by_many_patients_give_exactly_one_appointment(
        app, live_server, people, diary):
    doctor = people.doctor("dr.one")
    day, at = diary + dt.timedelta(days=2), dt.time(10, 30)
    slot = slot_key(day, at)
    book_path = f"/appointments/book/{doctor.id}"

    usernames = ["pat.one", "pat.two"]
    passwords = {"pat.one": PASSWORD, "pat.two": PASSWORD}
    with app.app_context(), db.connection_context():
        for n in range(CONTENDERS):
            name = f"racer{n:02d}"
            register_patient(name, f"{name}@race.example", f"pw-{name}-long", f"Racer {n:02d}",
                             "other", dt.date(1970 + n, 1, 1), f"+44 1000 1{n:05d}")
            usernames.append(name)
            passwords[name] = f"pw-{name}-long"
    assert len(set(usernames)) >= 20

    def contender(username: str):
        def prepare() -> tuple[Browser, str]:
            browser = Browser(live_server)
            browser.log_in(username, passwords[username])
            form = browser.get(f"{book_path}?slot={slot}")
            assert form.status == 200, (username, form.status)
            return browser, csrf_token(form.text)

        def fire(state: tuple[Browser, str]) -> Reply:
            browser, token = state
            return browser.post(book_path, {"csrf_token": token, "slot": slot,
                                            "reason": f"Check-up for {username}"})
        return prepare, fire

    replies = race([contender(name) for name in usernames])

    assert_no_server_trouble(replies)
    winners = [i for i, r in enumerate(replies) if r.status == 303]
    assert len(winners) == 1, [r.status for r in replies]
    losers = [r for i, r in enumerate(replies) if i != winners[0]]
    assert all(refused_as_taken(r) for r in losers), \
        [(r.status, r.text[:300]) for r in losers if not refused_as_taken(r)]

    winner = usernames[winners[0]]
    with app.app_context(), db.connection_context():
        rows = list(Appointment.select().where(Appointment.doctor == doctor,
                                               Appointment.date == day, Appointment.time == at))
        assert len(rows) == 1  # not even a cancelled or rolled-back leftover
        (booked,) = rows
        assert booked.status == "booked"
        assert booked.patient_id == Patient.select().join(User).where(
            User.username == winner).get().id
        assert booked.reason == f"Check-up for {winner}"
        assert appointment_id_from(replies[winners[0]].location) == booked.id
        # The refused patients got nothing anywhere.
        assert Appointment.select().count() == 1


# --- the reschedule race ----------------------------------------------------------------------

def test_two_reschedules_racing_into_one_slot_move_one_and_roll_back_the_other(
        app, live_server, people, diary):
    doctor = people.doctor("dr.one")
    first, second, target = dt.time(9), dt.time(9, 30), dt.time(11)
    day = diary
    book_path = f"/appointments/book/{doctor.id}"

    # Each patient books their own appointment with Dr One through the real form.
    browsers, originals = {}, {}
    for username, at in (("pat.one", first), ("pat.two", second)):
        browser = Browser(live_server)
        browser.log_in(username)
        form = browser.get(f"{book_path}?slot={slot_key(day, at)}")
        reply = browser.post(book_path, {"csrf_token": csrf_token(form.text),
                                         "slot": slot_key(day, at), "reason": "Palpitations"})
        assert reply.status == 303, (username, reply.status)
        browsers[username] = browser
        originals[username] = appointment_id_from(reply.location)

    with app.app_context(), db.connection_context():
        before = {name: Appointment.get_by_id(i).__data__.copy() for name, i in originals.items()}

    target_slot = slot_key(day, target)

    def contender(username: str):
        browser, path = browsers[username], f"/appointments/{originals[username]}/reschedule"

        def prepare() -> str:
            form = browser.get(f"{path}?slot={target_slot}")
            assert form.status == 200, (username, form.status)
            return csrf_token(form.text)

        def fire(token: str) -> Reply:
            return browser.post(path, {"csrf_token": token, "slot": target_slot})
        return prepare, fire

    names = list(browsers)
    replies = race([contender(name) for name in names])

    assert_no_server_trouble(replies)
    assert sorted(r.status for r in replies) == [303, 409], [r.status for r in replies]
    won = next(i for i, r in enumerate(replies) if r.status == 303)
    winner, loser = names[won], names[1 - won]
    assert refused_as_taken(replies[1 - won]), replies[1 - won].text[:500]

    with app.app_context(), db.connection_context():
        # The loser's move was rolled back whole: the original is exactly as it was.
        kept = Appointment.get_by_id(originals[loser])
        assert kept.status == "booked"
        assert kept.__data__ == before[loser]
        assert kept.cancelled_at is None and kept.cancelled_by_id is None
        loser_patient = kept.patient_id
        assert Appointment.select().where(Appointment.patient == loser_patient).count() == 1

        # The winner's old appointment is marked rescheduled; the new one points back to it.
        old = Appointment.get_by_id(originals[winner])
        assert old.status == "rescheduled"
        assert (old.date, old.time) == (before[winner]["date"], before[winner]["time"])
        assert old.cancelled_at is not None
        assert old.cancelled_by_id == people.user(winner).id
        new = Appointment.get(Appointment.rescheduled_from == old.id)
        assert (new.date, new.time, new.status) == (day, target, "booked")
        assert new.patient_id == old.patient_id and new.doctor_id == doctor.id
        assert new.reason == old.reason
        assert appointment_id_from(replies[won].location) == new.id

        # Exactly one live appointment holds the target slot: the winner's new one.
        assert [a.id for a in live_at(doctor, day, target)] == [new.id]
        assert Appointment.select().count() == 3

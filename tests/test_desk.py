"""The front desk: find or register the patient, pick a doctor or the first free slot, book,
the slip (page and PDF), today's queue, and two desks racing for one slot."""

from __future__ import annotations

import datetime as dt
import html
import re
import subprocess

import pytest

from hms.accounts import create_staff, register_walk_in
from hms.clock import clinic_now, clinic_today
from hms.db import db
from hms.models import Appointment, DoctorAvailability, Patient, User
from instants import DEFAULT
from racing import Browser, assert_no_server_trouble, race
from support import PASSWORD, csrf_token

# Date-sensitive: run at every instant of the calendar matrix (tests/instants.py).
pytestmark = pytest.mark.calendar

HX = {"HX-Request": "true"}
TAKEN = "that slot was just taken"


def key(day: dt.date, at: dt.time) -> str:
    return f"{day.isoformat()}T{at:%H:%M}"


@pytest.fixture
def desk(client, auth):
    auth.login("desk")
    return client


def token(client) -> str:
    return csrf_token(client.get("/desk/?walk_in=1").text)


def book(client, people, slot: str, reason: str = "Chest pain", patient="pat.one",
         doctor="dr.one", headers=None):
    return client.post("/desk/book", headers=headers or {}, data={
        "csrf_token": token(client), "patient_id": people.patient(patient).id,
        "doctor_id": people.doctor(doctor).id, "slot": slot, "reason": reason})


# --- who may use the desk ---------------------------------------------------------------------

DESK_PAGES = ["/desk/", "/desk/patients?q=pat", "/desk/first-free?department=1",
              "/desk/queue", "/desk/slots", "/desk/?walk_in=1"]


@pytest.mark.parametrize("path", DESK_PAGES)
@pytest.mark.parametrize("username, status", [("desk", 200), ("admin", 200),
                                              ("dr.one", 403), ("pat.one", 403)])
def test_desk_pages_are_for_the_front_desk_and_admins_only(client, auth, path, username, status):
    auth.login(username)
    assert client.get(path).status_code == status


@pytest.mark.parametrize("username", ["dr.one", "pat.one"])
def test_doctors_and_patients_cannot_book_or_register_at_the_desk(
        client, auth, people, diary, username):
    auth.login(username)
    page = client.get("/", follow_redirects=True)
    for path in ("/desk/book", "/desk/walk-in"):
        assert client.post(path, data={"csrf_token": csrf_token(page.text)}).status_code == 403
    assert Appointment.select().count() == 0


def test_visitors_are_sent_to_log_in(client):
    response = client.get("/desk/")
    assert response.status_code == 302 and "/login" in response.location


def test_receptionist_lands_on_the_desk(client, auth):
    response = auth.login("desk")
    assert response.location.endswith("/desk/")


def test_desk_refuses_get_on_book(desk):
    assert desk.get("/desk/book").status_code == 405


# --- finding the patient ----------------------------------------------------------------------

def test_the_desk_page_autofocuses_the_search_and_documents_the_keys(desk):
    page = desk.get("/desk/").text
    assert 'id="desk-q"' in page and "autofocus" in page.split('id="desk-q"')[1].split(">")[0]
    assert "Keys:" in page and "desk.js" in page
    assert 'id="day-list"' in page


@pytest.mark.parametrize("q", ["pat o", "1000 000001", "PAT ONE",
                               # the phone however it is spaced: "+441000000001", "(1000) 000-001"
                               "%2B441000000001", "(1000)%20000-001"])
def test_search_finds_the_patient_by_name_or_phone_as_a_fragment(desk, people, q):
    response = desk.get(f"/desk/patients?q={q}", headers=HX)
    assert response.status_code == 200 and "<html" not in response.text
    assert response.text.startswith('<div id="patient-results"')
    assert f"/desk/?patient={people.patient('pat.one').id}" in response.text
    assert "Pat Two" not in response.text


def test_search_by_patient_number(desk, people):
    number = people.patient("pat.two").id
    response = desk.get(f"/desk/patients?q={number}", headers=HX)
    assert f"/desk/?patient={number}" in response.text


def test_a_common_name_shows_ten_by_name_and_asks_for_more(app, desk, people):
    with app.app_context(), db.connection_context():
        for letter in "KJIHGFEDCBA":
            register_walk_in(f"Grace {letter}walker", "female", dt.date(1990, 1, 1),
                             "+44 1000 000099")
    response = desk.get("/desk/patients?q=grace", headers=HX).text
    shown = re.findall(r">(Grace \w+)</a>", response)
    assert shown == [f"Grace {letter}walker" for letter in "ABCDEFGHIJ"]
    assert "More patients match “grace”: type more" in response
    one = desk.get("/desk/patients?q=grace+k", headers=HX).text
    assert re.findall(r">(Grace \w+)</a>", one) == ["Grace Kwalker"]
    assert "More patients match" not in one


def test_plain_search_gets_the_whole_page_with_the_results(desk, people):
    response = desk.get("/desk/?q=pat+two")
    assert "<html" in response.text and 'id="patient-results"' in response.text
    assert f"/desk/?patient={people.patient('pat.two').id}" in response.text
    # The same through the live-search URL without htmx.
    assert "<html" in desk.get("/desk/patients?q=pat+two").text


def test_no_match_offers_the_walk_in_form_started_from_what_was_typed(desk):
    response = desk.get("/desk/patients?q=Zed+Walker", headers=HX)
    assert "Nobody matches" in response.text
    assert 'id="walk-in"' in response.text and 'value="Zed Walker"' in response.text
    digits = desk.get("/desk/patients?q=07700900123", headers=HX).text
    assert 'id="phone" name="phone" required type="text" value="07700900123"' in digits


def test_deactivated_patients_are_not_found(desk, people):
    User.update(is_active=False).where(User.id == people.user("pat.two").id).execute()
    assert "Pat Two" not in desk.get("/desk/patients?q=pat", headers=HX).text


def test_picking_a_patient_shows_the_booking_panel_with_focus_on_the_specialization(
        desk, people):
    patient = people.patient("pat.one")
    response = desk.get(f"/desk/?patient={patient.id}", headers=HX)
    assert response.status_code == 200 and "<html" not in response.text
    assert response.text.startswith('<section id="desk-booking"')
    assert "Pat One" in response.text
    assert '<select id="ff-department" name="department" autofocus>' in response.text
    assert "Dr Ada One (Cardiology)" in response.text


# --- walk-ins ---------------------------------------------------------------------------------

def walk_in(client, headers=None, **fields):
    data = {"full_name": "Wanda Walkin", "phone": "+44 7700 900123", "gender": "female",
            "dob": "1975-03-04", **fields}
    return client.post("/desk/walk-in", headers=headers or {},
                       data={"csrf_token": token(client), **data})


def test_walk_in_is_registered_without_email_or_password_and_picked(desk):
    before = Patient.select().count()
    response = walk_in(desk)
    assert response.status_code == 303
    patient = Patient.get(Patient.full_name == "Wanda Walkin")
    assert Patient.select().count() == before + 1
    assert (patient.phone, patient.gender, patient.dob) == (
        "+44 7700 900123", "female", dt.date(1975, 3, 4))
    assert patient.user.email is None and patient.user.password_hash is None
    assert response.location.endswith(f"/desk/?patient={patient.id}")


def test_walk_in_with_htmx_swaps_in_the_panel_for_the_new_patient(desk):
    response = walk_in(desk, headers=HX)
    patient = Patient.get(Patient.full_name == "Wanda Walkin")
    assert response.status_code == 200 and "<html" not in response.text
    assert f"Wanda Walkin is patient no. {patient.id}." in response.text
    assert response.headers["HX-Push-Url"] == f"/desk/?patient={patient.id}"


@pytest.mark.parametrize("fields, field, message", [
    ({"full_name": "  "}, "full_name", "Enter the full name."),
    ({"phone": "call me"}, "phone", "Enter a phone number of 6 to 20 digits."),
    ({"phone": ""}, "phone", "Enter a phone number."),
    ({"gender": ""}, "gender", "Choose a gender."),
    ({"gender": "robot"}, "gender", "Not a valid choice"),
    ({"dob": ""}, "dob", "Enter the date of birth."),
    ({"dob": "2999-01-01"}, "dob", "The date of birth must be in the past."),
    ({"dob": "04/03/1975"}, "dob", "Not a valid date value"),
])
@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_walk_in_validation_shows_messages_beside_fields_and_saves_nothing(
        desk, fields, field, message, headers):
    before = Patient.select().count(), User.select().count()
    response = walk_in(desk, headers=headers, **fields)
    assert response.status_code == 422
    text = html.unescape(response.text)
    assert f'<p class="error" id="{field}-error">' in text and message in text
    assert ('<html' in text) == (not headers)
    assert (Patient.select().count(), User.select().count()) == before
    # The typed values stay, and focus goes to the first field in error.
    assert 'value="Wanda Walkin"' in text or field == "full_name"
    assert f'aria-invalid="true" autofocus id="{field}"' in text or \
        f'autofocus id="{field}"' in text.replace('aria-describedby', 'x')


def test_walk_in_without_csrf_token_is_refused(desk):
    response = desk.post("/desk/walk-in", data={"full_name": "No Token", "phone": "0123456",
                                                "gender": "male", "dob": "1970-01-01"})
    assert response.status_code == 400
    assert not Patient.select().where(Patient.full_name == "No Token").exists()


# --- picking the doctor and the slot ----------------------------------------------------------

def test_choosing_a_doctor_shows_their_free_times_for_the_day(desk, people, diary):
    patient, doctor = people.patient("pat.one"), people.doctor("dr.one")
    response = desk.get(f"/desk/?patient={patient.id}&doctor={doctor.id}&date={diary}",
                        headers=HX)
    assert 'id="slot-picker"' in response.text
    link = f"/desk/?patient={patient.id}&amp;doctor={doctor.id}&amp;slot={key(diary, dt.time(9))}"
    assert f'<a href="{link}" hx-get="{link}"' in response.text
    assert response.text.count("<li><a href=") == 6
    assert "autofocus>09:00" in response.text


def test_the_day_picker_swaps_only_the_free_times(desk, people, diary):
    patient, doctor = people.patient("pat.one"), people.doctor("dr.one")
    url = f"/desk/slots?patient={patient.id}&doctor={doctor.id}&date={diary}"
    fragment = desk.get(url, headers=HX)
    assert fragment.text.startswith('<section id="slot-picker"') and "09:30" in fragment.text
    assert '<input type="hidden" name="patient"' in fragment.text
    page = desk.get(url)
    assert "<html" in page.text and 'id="slot-picker"' in page.text
    # The list re-reads itself when the receptionist comes back to the window.
    assert f'hx-get="{url.replace("&", "&amp;")}" hx-trigger="focus from:window"' in page.text


def test_picking_a_slot_shows_the_book_form_with_focus_on_the_reason(desk, people, diary):
    patient, doctor = people.patient("pat.one"), people.doctor("dr.one")
    slot = key(diary, dt.time(10))
    response = desk.get(f"/desk/?patient={patient.id}&doctor={doctor.id}&slot={slot}", headers=HX)
    assert 'id="desk-book"' in response.text
    assert f'name="slot" value="{slot}"' in response.text
    assert 'id="desk-reason" name="reason" value="" maxlength="500" autocomplete="off" autofocus' \
        in response.text


def test_picking_a_taken_slot_says_so_before_the_reason_is_typed(desk, people, diary):
    Appointment.create(patient=people.patient("pat.two"), doctor=people.doctor("dr.one"),
                       date=diary, time=dt.time(10), reason="Earlier")
    patient, doctor = people.patient("pat.one"), people.doctor("dr.one")
    response = desk.get(f"/desk/?patient={patient.id}&doctor={doctor.id}"
                        f"&slot={key(diary, dt.time(10))}")
    assert TAKEN in html.unescape(response.text).lower() and 'id="desk-book"' not in response.text
    # The free times shown are those of the day asked for, without the taken one.
    assert f"Free times on {diary:%A %-d %B}" in response.text and ">10:00<" not in response.text


@pytest.mark.parametrize("when, offset", [("today", 0), ("tomorrow", 1)])
def test_first_free_slot_in_a_specialization_preselects_doctor_and_slot(
        app, desk, people, when, offset):
    patient, doctor = people.patient("pat.one"), people.doctor("dr.one")
    with app.app_context():
        now = clinic_now()
    day = now.date() + dt.timedelta(days=offset)
    # Tomorrow everything is ahead; today only the late slots still to come, if any are.
    times = [dt.time(23, 0), dt.time(23, 30)] if offset == 0 else [dt.time(14), dt.time(9, 30)]
    DoctorAvailability.insert_many([{"doctor": doctor.id, "date": day, "time_slot": t}
                                    for t in times]).execute()
    ahead = [t for t in times if dt.datetime.combine(day, t) > now]
    department = doctor.department_id
    response = desk.get(f"/desk/first-free?patient={patient.id}&department={department}"
                        f"&when={when}", headers=HX)
    assert response.status_code == 200 and "<html" not in response.text
    if not ahead:  # 23:30 has passed: today has nothing left, and the desk says so
        assert "No free slot in that specialization today." in response.text
        return
    first = min(ahead)
    assert f'name="slot" value="{key(day, first)}"' in response.text
    assert f'name="doctor_id" value="{doctor.id}"' in response.text
    assert "autofocus" in response.text.split('id="desk-reason"')[1].split(">")[0]


def test_first_free_slot_says_so_when_the_specialization_is_full(desk, people, diary):
    patient = people.patient("pat.one")
    department = people.doctor("dr.two").department_id
    response = desk.get(f"/desk/first-free?patient={patient.id}&department={department}"
                        "&when=today")
    assert "<html" in response.text
    assert "No free slot in that specialization today." in response.text


# --- booking ----------------------------------------------------------------------------------

def test_booking_redirects_to_the_slip_and_saves_the_appointment(desk, people, diary):
    response = book(desk, people, key(diary, dt.time(9, 30)), "  Follow-up  ")
    appt = Appointment.get()
    assert response.status_code == 303 and response.location.endswith(f"/desk/slip/{appt.id}")
    assert (appt.patient_id, appt.doctor_id) == (people.patient("pat.one").id,
                                                 people.doctor("dr.one").id)
    assert (appt.date, appt.time, appt.status) == (diary, dt.time(9, 30), "booked")
    assert appt.reason == "Follow-up" and appt.booked_by_id == people.user("desk").id


def test_booking_with_htmx_shows_the_slip_in_place_and_refreshes_the_queue(desk, people, diary):
    response = book(desk, people, key(diary, dt.time(9, 30)), headers=HX)
    appt = Appointment.get()
    assert response.status_code == 200 and "<html" not in response.text
    assert f"Appointment slip no. {appt.id}" in response.text
    assert response.headers["HX-Push-Url"] == f"/desk/slip/{appt.id}"
    # The queue comes in the same answer, swapped by its id: no second request for it.
    assert "HX-Trigger" not in response.headers
    queue = response.text.split('<section id="day-list" hx-swap-oob="true"')[1]
    assert 'hx-get="/desk/queue"' in queue  # (a booking for today shows in it: the journey)


def test_the_queue_in_a_bookings_answer_keeps_the_desks_filter(desk, people, diary):
    """The booking form sends the queue's doctor (hx-include): the answer's queue is that
    doctor's, as the desk was showing it."""
    response = desk.post("/desk/book", headers=HX, data={
        "csrf_token": token(desk), "patient_id": people.patient("pat.one").id,
        "doctor_id": people.doctor("dr.one").id, "slot": key(diary, dt.time(9, 30)),
        "reason": "Chest pain", "queue": people.doctor("dr.two").id})
    assert response.status_code == 200
    queue = response.text.split('id="day-list"')[1]
    assert f'hx-get="/desk/queue?queue={people.doctor("dr.two").id}"' in queue
    # A queue value that is no doctor's (or not ASCII digits) is the queue of all doctors.
    slots = (dt.time(9), dt.time(10), dt.time(11), dt.time(11, 30))
    for slot, bad in zip(slots, ("①", "-3", "999999", "x"), strict=True):
        response = desk.post("/desk/book", headers=HX, data={
            "csrf_token": token(desk), "patient_id": people.patient("pat.two").id,
            "doctor_id": people.doctor("dr.two").id, "slot": key(diary, slot),
            "reason": "Rash", "queue": bad})
        assert response.status_code == 200, bad
        assert 'hx-get="/desk/queue"' in response.text.split('id="day-list"')[1], bad
    assert Appointment.select().count() == 5  # each booked once, whatever the queue said


def test_admin_can_book_at_the_desk(client, auth, people, diary):
    auth.login("admin")
    assert book(client, people, key(diary, dt.time(9))).status_code == 303
    assert Appointment.get().booked_by_id == people.user("admin").id


@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_a_slot_taken_meanwhile_is_409_with_patient_reason_and_fresh_slots(
        desk, people, diary, headers):
    Appointment.create(patient=people.patient("pat.two"), doctor=people.doctor("dr.one"),
                       date=diary, time=dt.time(10), reason="Got there first")
    response = book(desk, people, key(diary, dt.time(10)), "Dizzy spells", headers=headers)
    text = html.unescape(response.text)
    assert response.status_code == 409
    assert ("<html" in text) == (not headers)
    assert TAKEN in text.lower()
    assert 'value="Dizzy spells"' in text  # the reason is still typed in
    assert f'name="patient_id" value="{people.patient("pat.one").id}"' in text
    nearest = [key(diary, t) for t in (dt.time(9), dt.time(9, 30), dt.time(10, 30), dt.time(11))]
    assert f'value="{nearest[0]}" checked' in text  # the nearest free ones, one chosen
    assert all(f'value="{k}"' in text for k in nearest)
    assert f'value="{key(diary, dt.time(10))}"' not in text  # never the taken one
    assert 'id="slot-picker"' in text and ">10:00<" not in text  # the day's fresh free times
    assert Appointment.select().count() == 1


def urls_in(response) -> list[str]:
    """Every URL a response hands the browser: its links, forms, htmx requests and headers."""
    found = re.findall(r'(?:href|action|src|hx-get|hx-post|hx-push-url)="([^"]*)"',
                       response.text)
    return found + [response.headers.get(h, "") for h in (
        "Location", "HX-Push-Url", "HX-Location", "HX-Redirect", "HX-Replace-Url")]


def pick(client, people, headers=None, **fields):
    """Press a time or change the day in the picker shown after a 409 (a posted form)."""
    return client.post("/desk/pick", headers=headers or {}, data={
        "csrf_token": token(client), "patient_id": people.patient("pat.one").id,
        "doctor_id": people.doctor("dr.one").id, "reason": "Dizzy spells", **fields})


@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_after_a_409_the_reason_is_in_no_url_and_another_time_books_with_it(
        desk, people, diary, headers):
    Appointment.create(patient=people.patient("pat.two"), doctor=people.doctor("dr.one"),
                       date=diary, time=dt.time(10), reason="Got there first")
    taken = book(desk, people, key(diary, dt.time(10)), "Dizzy spells", headers=headers)
    assert taken.status_code == 409
    assert not [u for u in urls_in(taken) if "dizzy" in u.lower()]
    text = html.unescape(taken.text)
    # The picker's times are buttons of a posted form that keeps the reason.
    assert 'action="/desk/pick"' in text and 'name="reason" value="Dizzy spells"' in text
    later = key(diary + dt.timedelta(days=1), dt.time(11))

    another_day = pick(desk, people, headers, date=(diary + dt.timedelta(days=1)).isoformat())
    assert another_day.status_code == 200
    assert ("<html" in another_day.text) == (not headers)
    assert f'name="slot" value="{later}"' in another_day.text
    assert not [u for u in urls_in(another_day) if "dizzy" in u.lower()]

    confirm = pick(desk, people, headers, slot=later)
    text = html.unescape(confirm.text)
    assert confirm.status_code == 200 and f'name="slot" value="{later}"' in text
    assert 'id="desk-reason" name="reason" value="Dizzy spells"' in text  # the confirm step
    assert not [u for u in urls_in(confirm) if "dizzy" in u.lower()]

    done = book(desk, people, later, "Dizzy spells", headers=headers)
    assert done.status_code == (200 if headers else 303)
    assert not [u for u in urls_in(done) if "dizzy" in u.lower()]
    assert Appointment.get(Appointment.time == dt.time(11)).reason == "Dizzy spells"


def test_a_reason_in_a_desk_url_is_not_read(desk, people, diary):
    page = desk.get("/desk/", query_string={
        "patient": people.patient("pat.one").id, "doctor": people.doctor("dr.one").id,
        "slot": key(diary, dt.time(9)), "reason": "Secret"})
    assert page.status_code == 200 and "Secret" not in page.text


def test_picking_at_the_desk_is_for_known_patients_and_doctors(desk, people, diary):
    response = desk.post("/desk/pick", data={"csrf_token": token(desk), "patient_id": "999",
                                             "doctor_id": people.doctor("dr.one").id})
    assert response.status_code == 404


@pytest.mark.parametrize("reason, slot, status, message", [
    ("", "ok", 422, "Give a short reason for the visit."),
    ("x" * 501, "ok", 422, "Use at most 500 characters."),
    ("Cough", "2020-01-01T09:00", 409, "That time has already passed."),
    ("Cough", "junk", 422, "Pick a time for the appointment."),
])
def test_booking_refusals_keep_the_form_and_save_nothing(
        desk, people, diary, reason, slot, status, message):
    response = book(desk, people, key(diary, dt.time(9)) if slot == "ok" else slot, reason)
    assert response.status_code == status and message in html.unescape(response.text)
    assert Appointment.select().count() == 0


def test_booking_an_unknown_patient_or_doctor_is_404(desk, people, diary):
    response = desk.post("/desk/book", data={"csrf_token": token(desk), "patient_id": "999",
                                             "doctor_id": people.doctor("dr.one").id,
                                             "slot": key(diary, dt.time(9)), "reason": "x"})
    assert response.status_code == 404


# --- the slip ---------------------------------------------------------------------------------

@pytest.fixture
def booked(people, diary):
    return Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                              date=diary, time=dt.time(11), reason="Palpitations")


def test_slip_page_shows_patient_doctor_date_time_place_and_number(app, desk, booked):
    page = desk.get(f"/desk/slip/{booked.id}").text
    for text in ("Pat One", "Dr Ada One", "Cardiology", f"{booked.date:%A %-d %B %Y}", "11:00",
                 app.config["CLINIC_NAME"], app.config["CLINIC_ADDRESS"],
                 f"Appointment slip no. {booked.id}", "Next patient"):
        assert text in page
    assert "<html" in page
    fragment = desk.get(f"/desk/slip/{booked.id}", headers=HX).text
    assert "<html" not in fragment and "Pat One" in fragment


def test_the_print_stylesheet_prints_only_the_slip(app, desk):
    with desk.get("/static/app.css") as response:
        css = response.get_data(as_text=True)
    assert "@media print" in css and ".no-print" in css


def test_slip_pdf_names_the_patient(desk, booked, tmp_path):
    response = desk.get(f"/desk/slip/{booked.id}.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert response.headers["Content-Disposition"] == f'attachment; filename="slip-{booked.id}.pdf"'
    pdf = tmp_path / "slip.pdf"
    pdf.write_bytes(response.data)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Pat One" in text and "Dr Ada One" in text and f"no. {booked.id}" in text


@pytest.mark.parametrize("username, status", [("dr.one", 403), ("pat.one", 403),
                                              ("admin", 200)])
def test_slip_is_for_the_desk_and_admins(client, auth, booked, username, status):
    auth.login(username)
    assert client.get(f"/desk/slip/{booked.id}").status_code == status
    assert client.get(f"/desk/slip/{booked.id}.pdf").status_code == status


def test_slip_of_an_unknown_appointment_is_404(desk):
    assert desk.get("/desk/slip/4242").status_code == 404


# --- today's queue ----------------------------------------------------------------------------

@pytest.fixture
def queue(app, people):
    with app.app_context():
        today = clinic_today()
    one = Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                             date=today, time=dt.time(9), reason="Chest pain")
    two = Appointment.create(patient=people.patient("pat.two"), doctor=people.doctor("dr.two"),
                             date=today, time=dt.time(10), reason="Rash")
    return one, two


def test_queue_shows_all_doctors_or_one(desk, people, queue):
    page = desk.get("/desk/").text
    assert page.index("Pat One") < page.index("Pat Two")
    one = people.doctor("dr.one").id
    fragment = desk.get(f"/desk/queue?queue={one}", headers=HX).text
    assert fragment.startswith('<section id="day-list"')
    assert "Pat One" in fragment and "Pat Two" not in fragment
    assert f'hx-get="/desk/queue?queue={one}"' in fragment  # it refreshes itself, filtered
    assert "Pat Two" not in desk.get(f"/desk/?queue={one}").text.split('id="day-list"')[1]


def test_a_busy_days_queue_shows_the_rows_due_now_and_links_to_all(app, desk, people):
    """48 appointments today: the desk sees 20, from an hour ago on (or the day's last 20),
    the day's count, and a link to every row; a quiet day is shown whole (above)."""
    with app.app_context():
        now = clinic_now()
    today = now.date()
    times = [dt.time(h, m) for h in range(24) for m in (0, 30)]
    made = {Appointment.create(patient=people.patient("pat.one" if t.hour < 15 else "pat.two"),
                               doctor=people.doctor("dr.one" if t.hour < 15 else "dr.two"),
                               date=today, time=t, reason="Check-up").id: t for t in times}

    def shown(text: str) -> list[dt.time]:
        return [made[int(n)] for n in re.findall(r'<tr id="appt-(\d+)"', text)]

    an_hour_ago = now - dt.timedelta(hours=1)
    due = [t for t in times if an_hour_ago.date() < today or t >= an_hour_ago.time()]
    expected = due[:20] if len(due) >= 20 else times[-20:]
    page = desk.get("/desk/").text
    assert shown(page) == expected
    assert f"{today:%A %-d %B %Y}: 48 appointments" in page
    assert "The 20 due from " in page  # the first row's time, as the clock shows it
    assert '<a href="/desk/?all=1">Show all 48</a>' in page
    assert shown(desk.get("/desk/queue", headers=HX).text) == expected  # the refresh too
    everything = desk.get("/desk/?all=1").text
    assert shown(everything) == times and "Show all" not in everything
    assert 'hx-get="/desk/queue?all=1"' in everything  # and it refreshes as it is


def test_queue_refreshes_on_appointment_changes_and_offers_check_in(desk, queue):
    page = desk.get("/desk/").text
    assert 'hx-trigger="appointment-changed from:body"' in page
    assert 'value="check_in"' in page and "Cancel…" in page


def test_a_check_in_from_the_queue_answers_with_the_queue_as_the_desk_shows_it(
        desk, people, queue):
    """One request: the queue itself, for the doctor chosen and with every row if asked."""
    one, two = queue
    doctor = people.doctor("dr.one").id
    page = desk.get(f"/desk/?queue={doctor}&all=1").text
    form = page.split(f'<tr id="appt-{one.id}"')[1].split("</form>")[0]
    assert 'hx-target="closest [data-view]"' in form
    listed = html.unescape(re.search(r'name="list" value="([^"]+)"', form)[1])
    assert listed == f"/desk/queue?queue={doctor}&all=1"
    answer = desk.post(f"/appointments/{one.id}/status", headers=HX, data={
        "csrf_token": csrf_token(page), "action": "check_in", "list": listed})
    assert answer.status_code == 200 and answer.text.startswith('<section id="day-list"')
    assert "HX-Trigger" not in answer.headers
    row = answer.text.split(f'<tr id="appt-{one.id}"')[1].split("</tr>")[0]
    assert "checked in" in row
    assert f'id="appt-{two.id}"' not in answer.text  # still Dr One's queue only
    assert f'hx-get="/desk/queue?queue={doctor}&amp;all=1"' in answer.text
    assert Appointment.get_by_id(one.id).status == "checked_in"


# Today's last slot has gone at some instants of the matrix; the refresh is not date logic.
@pytest.mark.calendar(DEFAULT)
def test_a_new_booking_is_in_the_refreshed_queue(app, desk, people):
    with app.app_context():
        now = clinic_now()
    slot_time = dt.time(23, 30)
    DoctorAvailability.create(doctor=people.doctor("dr.two"), date=now.date(),
                              time_slot=slot_time)
    response = book(desk, people, key(now.date(), slot_time), "Walk-in rash", patient="pat.two",
                    doctor="dr.two", headers=HX)
    assert response.status_code == 200
    assert "Walk-in rash" in desk.get("/desk/queue", headers=HX).text


# --- two desks, one slot ----------------------------------------------------------------------

def test_two_desks_booking_one_slot_at_once_give_one_appointment_and_one_409(
        app, live_server, people, diary):
    with app.app_context(), db.connection_context():
        create_staff("receptionist", "desk2", "desk2@test.example", PASSWORD)
    doctor = people.doctor("dr.one")
    slot = key(diary, dt.time(10, 30))
    patients = {"desk": people.patient("pat.one").id, "desk2": people.patient("pat.two").id}

    def contender(username: str):
        def prepare():
            browser = Browser(live_server)
            browser.log_in(username)
            form = browser.get(f"/desk/?patient={patients[username]}&doctor={doctor.id}"
                               f"&slot={slot}")
            assert form.status == 200 and 'id="desk-book"' in form.text
            return browser, csrf_token(form.text)

        def fire(state):
            browser, csrf = state
            return browser.post("/desk/book", {
                "csrf_token": csrf, "patient_id": str(patients[username]),
                "doctor_id": str(doctor.id), "slot": slot, "reason": f"Seen by {username}"})
        return prepare, fire

    names = list(patients)
    replies = race([contender(name) for name in names])
    assert_no_server_trouble(replies)
    assert sorted(r.status for r in replies) == [303, 409], [r.status for r in replies]
    won = next(i for i, r in enumerate(replies) if r.status == 303)
    loser = replies[1 - won]
    text = html.unescape(loser.text)
    assert TAKEN in text.lower()
    assert f'value="Seen by {names[1 - won]}"' in text
    assert f'name="patient_id" value="{patients[names[1 - won]]}"' in text
    with app.app_context(), db.connection_context():
        (appt,) = Appointment.select()
        assert appt.patient_id == patients[names[won]]
        assert replies[won].location.endswith(f"/desk/slip/{appt.id}")


def test_first_free_slot_takes_the_earliest_among_the_specialization_and_skips_the_patients_own(
        app, people, diary):
    with app.app_context(), db.connection_context():
        from hms.scheduling import first_free_slot

        create_staff("doctor", "dr.three", "three@test.example", PASSWORD, "Dr Cy Three",
                     "Cardiology")
        three = people.doctor("dr.three")
        one, patient = people.doctor("dr.one"), people.patient("pat.one")
        DoctorAvailability.create(doctor=three, date=diary, time_slot=dt.time(8, 30))
        department = one.department_id
        assert first_free_slot(department, diary) == (three, diary, dt.time(8, 30))
        Appointment.create(patient=patient, doctor=people.doctor("dr.two"), date=diary,
                           time=dt.time(8, 30), reason="Elsewhere")
        assert first_free_slot(department, diary, patient) == (one, diary, dt.time(9))
        assert first_free_slot(people.doctor("dr.two").department_id,
                               diary - dt.timedelta(days=1)) is None


@pytest.mark.parametrize("username", ["desk", "admin"])
def test_the_desk_reschedules_from_the_queue(client, auth, people, diary, username):
    appt = Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                              date=diary, time=dt.time(9), reason="Back pain")
    auth.login(username)
    queue = client.get(f"/appointments/{appt.id}")
    assert f'/appointments/{appt.id}/reschedule"' in queue.text  # offered on the row
    slot = f"{diary.isoformat()}T10:30"
    page = client.get(f"/appointments/{appt.id}/reschedule?slot={slot}")
    assert page.status_code == 200 and "Move to" in page.text
    response = client.post(f"/appointments/{appt.id}/reschedule", data={
        "csrf_token": csrf_token(page.text), "slot": slot})
    assert response.status_code == 303
    moved = Appointment.get(Appointment.rescheduled_from == appt.id)
    assert (moved.time, moved.status, moved.booked_by.username) == \
        (dt.time(10, 30), "booked", username)


def test_doctors_do_not_reschedule_from_here(client, auth, people, diary):
    appt = Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                              date=diary, time=dt.time(9), reason="x")
    auth.login("dr.one")
    assert client.get(f"/appointments/{appt.id}/reschedule").status_code == 403


def test_a_time_picked_on_a_doctors_page_is_booked_at_the_desk_for_the_patient_found(
        desk, people, diary):
    """The receptionist's "Doctors" pages offer times that lead to the desk (the patients'
    booking page would be 403): the time is held through the patient search, then booked."""
    doctor, patient = people.doctor("dr.one"), people.patient("pat.one")
    slot = key(diary, dt.time(10))
    page = desk.get(f"/doctors/{doctor.id}?date={diary.isoformat()}").text
    href = f"/desk/?doctor={doctor.id}&amp;slot={slot}"
    assert f'href="{href}"' in page and "/appointments/book/" not in page
    held = desk.get(html.unescape(href))
    assert held.status_code == 200
    assert f"Booking <strong>{diary:%A %-d %B} at 10:00</strong> with <strong>Dr Ada One" \
        in held.text
    found = desk.get(f"/desk/patients?q=Pat+One&doctor={doctor.id}&slot={slot}", headers=HX)
    pick = f"/desk/?patient={patient.id}&amp;doctor={doctor.id}&amp;slot={slot}"
    assert f'href="{pick}"' in found.text
    booking = desk.get(html.unescape(pick)).text
    assert f'name="slot" value="{slot}"' in booking and 'id="desk-reason"' in booking
    response = book(desk, people, slot)
    assert response.status_code in (200, 303)
    assert Appointment.get().time == dt.time(10) and Appointment.get().patient_id == patient.id


def test_a_taken_time_held_from_a_doctors_page_says_so_before_the_search(desk, people, diary):
    doctor = people.doctor("dr.one")
    Appointment.create(patient=people.patient("pat.two"), doctor=doctor, date=diary,
                       time=dt.time(10), reason="Earlier")
    page = desk.get(f"/desk/?doctor={doctor.id}&slot={key(diary, dt.time(10))}").text
    assert 'role="alert"' in page and "Booking <strong>" not in page

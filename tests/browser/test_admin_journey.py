"""The admin console in Chromium: an admin creates a doctor who opens a slot that a patient
books (the cached directory and free slots refresh at every step); an admin finds a patient by
phone number and deactivates them, with JS and without."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from browser.pagemarks import log_in, mark_page, still_marked
from playwright.sync_api import expect

from hms.models import Appointment, AuditLog, Department, Doctor, DoctorAvailability, User
from support import PASSWORD

NAME, USERNAME, EMAIL = "Dr Noor Vale", "dr.vale", "noor.vale@test.example"
ABOUT = "Sees adults with long-standing skin conditions."
REASON = "A rash that will not go away"
DEACTIVATED = "This account has been deactivated. Please contact the hospital's front desk."


@pytest.fixture
def new_tab(browser):
    """Open more tabs, each in its own browser context (its own cookies: another person)."""
    contexts = []

    def open_tab(js: bool = True):
        context = browser.new_context(java_script_enabled=js)
        contexts.append(context)
        tab = context.new_page()
        tab.set_default_timeout(10_000)
        tab.js_enabled = js
        return tab

    yield open_tab
    for context in contexts:
        context.close()


def cached_keys(app, namespace: str) -> list[str]:
    """The values this test's site holds in Redis under one namespace, any generation."""
    cache = app.extensions["hms_cache"]
    return [k.decode() for k in cache.client.keys(f"{cache.prefix}:{namespace}:*")]


def long_day(day: dt.date) -> str:
    return f"{day:%A %-d %B}"


def test_admin_creates_a_doctor_who_opens_slots_that_a_patient_books(
        app, live_server, js_page, new_tab, clinic_midday):
    admin = js_page
    today = clinic_midday.date()
    monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=7)
    wednesday, ten = monday + dt.timedelta(days=2), dt.time(10)  # all of next week is ahead

    # A patient looks at the directory first, so that it is in the cache before the doctor
    # exists: the new doctor showing up later proves the cache was refreshed, not bypassed.
    patient = new_tab()
    log_in(patient, live_server, "pat.one")
    expect(patient.get_by_role("heading", name="Hello, Pat One")).to_be_visible()
    patient.get_by_role("link", name="Find a doctor").click()
    doctor_list = patient.locator("#doctor-list")
    expect(doctor_list).to_contain_text("2 doctors.")
    expect(doctor_list.get_by_role("link", name=NAME)).to_have_count(0)
    assert cached_keys(app, "directory")

    # The admin: Doctors tab → Add a doctor; the doctor will choose their own password.
    log_in(admin, live_server, "admin")
    expect(admin.get_by_role("heading", name="Hospital dashboard")).to_be_visible()
    tabs = admin.get_by_role("navigation", name="Admin")
    tabs.get_by_role("link", name="Doctors", exact=True).click()
    expect(admin.get_by_role("heading", name="Doctors", exact=True)).to_be_visible()
    admin.get_by_role("link", name="Add a doctor").click()
    expect(admin.get_by_role("heading", name="New doctor")).to_be_visible()
    admin.get_by_label("Full name").fill(NAME)
    admin.get_by_label("Specialization").select_option(label="Dermatology")
    admin.get_by_label("Years of experience").fill("12")
    admin.get_by_label("About").fill(ABOUT)
    admin.get_by_label("Username").fill(USERNAME)
    admin.get_by_label("Email", exact=True).fill(EMAIL)
    expect(admin.get_by_label("Password")).to_have_count(0)  # the admin never knows it
    admin.get_by_role("button", name="Create doctor").click()

    expect(admin.locator("#messages")).to_have_text(
        f"{NAME} is invited to choose a password for {USERNAME}.")
    expect(admin.get_by_role("heading", name=NAME)).to_be_visible()
    shown = admin.locator("main p.code")
    expect(shown).to_have_count(1)
    code = shown.inner_text().strip()
    assert len(code.replace("-", "")) >= 20

    doctor = Doctor.get(Doctor.full_name == NAME)
    user = User.get_by_id(doctor.user_id)
    assert (user.username, user.email, user.role, user.is_active) == (
        USERNAME, EMAIL, "doctor", True)
    assert user.password_hash is None  # until the doctor chooses it
    assert doctor.department_id == Department.get(Department.name == "Dermatology").id
    assert (doctor.experience_years, doctor.about) == (12, ABOUT)
    assert not DoctorAvailability.select().where(DoctorAvailability.doctor == doctor).exists()

    # Shown once: the doctor's page, reached again from the list, never repeats it.
    tabs.get_by_role("link", name="Doctors", exact=True).click()
    admin.locator("#doctor-list").get_by_role("link", name=NAME).click()
    expect(admin).to_have_url(f"{live_server}/admin/doctors/{doctor.id}")
    expect(admin.locator(f"#doctor-{doctor.id}")).to_contain_text(f"{USERNAME} · {EMAIL}")
    expect(admin.locator("main p.code")).to_have_count(0)
    assert code not in admin.content()

    # The patient searches again: the new doctor is listed on the very next request. Their
    # page has nothing free on next week's Wednesday yet (and those free slots are now cached).
    mark_page(patient)
    patient.get_by_label("Name").press_sequentially("vale")
    expect(doctor_list).to_contain_text("1 doctor matching “vale”.")
    doctor_list.get_by_role("link", name=NAME).click()
    expect(patient.get_by_role("heading", name=NAME)).to_be_visible()
    picker = patient.locator("#slot-picker")
    patient.get_by_role("combobox", name="Day").select_option(wednesday.isoformat())
    expect(picker).to_contain_text(f"No free times on {long_day(wednesday)}. Try another day.")
    expect(patient).to_have_url(f"{live_server}/doctors/{doctor.id}?date={wednesday.isoformat()}")
    assert still_marked(patient)
    assert cached_keys(app, f"slots:{doctor.id}")

    # The new doctor types the code, chooses a password, and opens one slot next week.
    dr = new_tab()
    dr.goto(f"{live_server}/account/password")
    dr.get_by_label("Code from your letter").fill(code)
    dr.get_by_label("New password", exact=True).fill("skin-deep-sunrise")
    dr.get_by_label("Repeat the new password").fill("skin-deep-sunrise")
    dr.get_by_role("button", name="Set my password").click()
    expect(dr.get_by_role("heading", name="Today's appointments")).to_be_visible()
    mark_page(dr)
    dr.get_by_role("link", name="Availability").click()
    expect(dr.get_by_role("heading", name="My availability")).to_be_visible()
    dr.get_by_role("link", name="Next week →").click()
    expect(dr.get_by_role("heading", name=f"Week of {monday:%-d %B %Y}")).to_be_visible()
    expect(dr.locator("#grid .cell.open")).to_have_count(0)  # a new doctor's diary is empty
    cell = dr.locator(f"#c{wednesday.isoformat()}T1000")
    expect(cell).to_have_class("cell closed")
    cell.click()
    expect(cell).to_have_class("cell open")
    expect(cell).to_have_attribute("aria-pressed", "true")
    expect(cell).to_have_text("Open")
    expect(dr.locator("#grid .cell.open")).to_have_count(1)
    assert still_marked(dr)
    opened = DoctorAvailability.get(doctor=doctor, date=wednesday, time_slot=ten)
    assert opened.is_available
    assert DoctorAvailability.select().where(DoctorAvailability.doctor == doctor).count() == 1

    # The patient asks for that day again: the opened time is offered at once.
    patient.reload()
    times = picker.get_by_role("list", name=f"Free times on {long_day(wednesday)}")
    expect(times.get_by_role("link")).to_have_text(["10:00"])
    times.get_by_role("link", name="10:00").click()
    expect(patient.get_by_role("heading", name="Book an appointment")).to_be_visible()
    expect(patient.locator("#book-form")).to_contain_text(f"With {NAME}, Dermatology.")
    expect(patient.locator("#book-form")).to_contain_text(
        f"When: {long_day(wednesday)} at 10:00")
    patient.get_by_label("Reason for the visit").fill(REASON)
    patient.get_by_role("button", name="Book appointment").click()
    expect(patient.locator("#messages")).to_have_text(
        f"Booked: {long_day(wednesday)} at 10:00 with {NAME}.")
    details = patient.locator("section.appointment dl")
    expect(details).to_contain_text(f"{wednesday:%A %-d %B %Y}, 10:00")
    expect(details).to_contain_text(f"{NAME} (Dermatology)")
    expect(details.locator(".status")).to_have_text("booked")

    booked = Appointment.get(Appointment.doctor == doctor)
    pat_one = User.get(User.username == "pat.one")
    assert (booked.date, booked.time, booked.status, booked.reason) == (
        wednesday, ten, "booked", REASON)
    assert booked.patient.user_id == pat_one.id and booked.booked_by_id == pat_one.id
    expect(patient).to_have_url(f"{live_server}/appointments/{booked.id}")
    assert DoctorAvailability.get_by_id(opened.id).is_available  # the slot stays open, taken

    # And the doctor's grid now shows the slot as booked, linking to the appointment.
    dr.reload()
    booked_cell = dr.locator("#grid .cell.booked")
    expect(booked_cell).to_have_count(1)
    expect(booked_cell).to_have_attribute("href", f"/appointments/{booked.id}")
    expect(booked_cell).to_have_attribute("aria-label", f"{wednesday:%a %-d %b} 10:00: booked")


def test_admin_finds_a_patient_by_phone_and_deactivates_them(live_server, page, new_tab, people):
    admin, js = page, page.js_enabled
    pat_two = people.patient("pat.two")

    # Pat Two is logged in somewhere while the admin works.
    elsewhere = new_tab(js)
    log_in(elsewhere, live_server, "pat.two")
    expect(elsewhere.get_by_role("heading", name="Hello, Pat Two")).to_be_visible()

    log_in(admin, live_server, "admin")
    expect(admin.get_by_role("heading", name="Hospital dashboard")).to_be_visible()
    if js:
        mark_page(admin)
    admin.get_by_role("navigation", name="Admin").get_by_role("link", name="Patients").click()
    expect(admin.get_by_role("heading", name="Patients", exact=True)).to_be_visible()
    patient_list = admin.locator("#patient-list")
    expect(patient_list.get_by_role("link", name="Pat One")).to_be_visible()

    # Part of the phone number, with a space so that it cannot be read as a patient number.
    # (With JS the list should also narrow as you type: see test_admin_lists_narrow_as_you_type.)
    search = admin.get_by_label("Name, phone, email or patient no.")
    search.press_sequentially("1000 000002")
    if js:
        search.press("Enter")  # htmx swaps just the list
    else:
        admin.get_by_role("button", name="Search").click()
    expect(patient_list.get_by_role("link", name="Pat One")).to_have_count(0)
    rows = patient_list.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("+44 1000 000002")
    expect(admin).to_have_url(re.compile(r"/admin/patients\?q=1000(\+|%20)000002$"))
    if js:
        assert still_marked(admin)

    rows.get_by_role("link", name="Pat Two").click()
    expect(admin.get_by_role("heading", name="Pat Two")).to_be_visible()
    expect(admin).to_have_url(f"{live_server}/admin/patients/{pat_two.id}")
    card = admin.locator(f"#patient-{pat_two.id} dl")
    expect(card).to_contain_text("+44 1000 000002")
    expect(card.locator("dt:text-is('Status') + dd")).to_have_text("active")

    dialogs = []

    def accept(dialog):
        dialogs.append(dialog.message)
        dialog.accept()

    admin.on("dialog", accept)
    admin.get_by_role("button", name="Deactivate").click()
    if not js:  # no dialog without JavaScript: a page asks instead
        expect(admin.get_by_role("heading", name="Deactivate Pat Two?")).to_be_visible()
        admin.get_by_role("button", name="Yes, deactivate").click()
    expect(admin.locator("#messages")).to_have_text("Pat Two is deactivated.")
    expect(card.locator("dt:text-is('Status') + dd")).to_have_text("deactivated: cannot log in")
    expect(admin.get_by_role("button", name="Reactivate")).to_be_visible()
    expect(admin.get_by_role("button", name="Deactivate")).to_have_count(0)
    assert dialogs == (["Deactivate Pat Two? They will not be able to log in."] if js else [])
    if js:
        assert still_marked(admin)

    user = User.get(User.username == "pat.two")
    assert user.is_active is False
    assert AuditLog.get(AuditLog.action == "deactivate").patient_id == pat_two.id

    # The session that was open ends on its next request...
    elsewhere.get_by_role("link", name="My appointments").click()
    expect(elsewhere.get_by_role("heading", name="Log in")).to_be_visible()
    expect(elsewhere.get_by_role("button", name="Log out")).to_have_count(0)

    # ...and a fresh try to log in is refused with the reason.
    fresh = new_tab(js)
    fresh.goto(f"{live_server}/login")
    fresh.get_by_label("Username").fill("pat.two")
    fresh.get_by_label("Password").fill(PASSWORD)
    fresh.get_by_role("button", name="Log in").click()
    expect(fresh.locator("#login-form .error-summary li")).to_have_text(DEACTIVATED)
    expect(fresh.get_by_role("button", name="Log out")).to_have_count(0)
    expect(fresh).to_have_url(f"{live_server}/login")
    assert User.get_by_id(user.id).is_active is False


@pytest.mark.parametrize("tab, label, typed, region, kept, dropped", [
    ("Patients", "Name, phone, email or patient no.", "1000 000002", "#patient-list",
     "Pat Two", "Pat One"),
    ("Doctors", "Name, email or id", "ada", "#doctor-list", "Dr Ada One", "Dr Bo Two"),
    ("Search", "Name, specialization, id, phone or email", "Dermatology", "#search-results",
     "Dr Bo Two", "Dr Ada One"),
])
def test_admin_lists_narrow_as_you_type(live_server, js_page, tab, label, typed, region, kept,
                                        dropped):
    admin = js_page
    log_in(admin, live_server, "admin")
    admin.get_by_role("navigation", name="Admin").get_by_role("link", name=tab,
                                                              exact=True).click()
    expect(admin.get_by_label(label)).to_be_visible()
    mark_page(admin)
    if tab != "Search":  # the search page starts empty
        expect(admin.locator(region).get_by_role("link", name=dropped)).to_be_visible()
    admin.get_by_label(label).press_sequentially(typed)  # no Enter, no button
    results = admin.locator(region)
    expect(results.get_by_role("link", name=kept)).to_be_visible(timeout=3_000)
    expect(results.get_by_role("link", name=dropped)).to_have_count(0, timeout=3_000)
    assert still_marked(admin)

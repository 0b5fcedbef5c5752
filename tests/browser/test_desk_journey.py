"""The front desk from the keyboard only (no mouse clicks): find a patient, pick a doctor and a
free time, book, see the slip and the queue; and the budget of booking a patient's first free
slot (keystrokes, requests and bytes after the first load, and the first load itself)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

from playwright.sync_api import expect

from hms.clock import clinic_now
from hms.models import Appointment, DoctorAvailability
from support import PASSWORD
from wire import Wire

REASON = "Itchy rash"
BUDGET_FILE = os.environ.get("HMS_DESK_BUDGET_FILE")  # bench/desk_budget.py reads it back


class Keyboard:
    """The page's keyboard, counting every key pressed (typed text is counted apart)."""

    def __init__(self, page):
        self.page, self.presses, self.typed = page, 0, 0

    def press(self, key: str) -> None:
        self.presses += 1
        self.page.keyboard.press(key)

    def type(self, text: str) -> None:
        self.typed += len(text)
        self.page.keyboard.type(text, delay=20)


def keyboard_log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Username").focus()  # focusing is not clicking: the login is not measured
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Front desk")).to_be_visible()


def focused(page):
    return page.locator("*:focus")


def test_desk_books_with_the_keyboard_only_and_the_queue_shows_it(
        app, live_server, js_page, people):
    page = js_page
    with app.app_context():
        now = clinic_now()
    doctor, patient = people.doctor("dr.two"), people.patient("pat.two")
    DoctorAvailability.insert_many([{"doctor": doctor.id, "date": now.date(), "time_slot": t}
                                    for t in (dt.time(23), dt.time(23, 30))]).execute()
    keys = Keyboard(page)

    keyboard_log_in(page, live_server, "desk")
    expect(focused(page)).to_have_id("desk-q")
    keys.type("pat two")
    results = page.locator("#patient-results")
    expect(results.get_by_role("link", name="Pat Two")).to_be_visible()
    keys.press("ArrowDown")
    expect(focused(page)).to_have_text("Pat Two")
    keys.press("Enter")

    # The panel: focus on the specialization; Tab past it to the doctor list.
    expect(page.locator(".picked")).to_contain_text("Pat Two")
    expect(focused(page)).to_have_id("ff-department")
    for _ in range(3):
        keys.press("Tab")
    expect(focused(page)).to_have_id("desk-doctor")
    keys.press("ArrowDown")  # Dr Ada One → Dr Bo Two
    keys.press("Enter")
    picker = page.locator("#slot-picker")
    expect(picker.get_by_role("link")).to_have_text(["23:00", "23:30"])
    expect(focused(page)).to_have_text("23:00")
    keys.press("ArrowDown")
    expect(focused(page)).to_have_text("23:30")
    keys.press("Enter")

    expect(focused(page)).to_have_id("desk-reason")
    keys.type(REASON)
    keys.press("Enter")

    slip = page.locator("#desk-booking.slip")
    expect(slip).to_contain_text("Pat Two")
    expect(slip).to_contain_text("Dr Bo Two (Dermatology)")
    expect(slip).to_contain_text("23:30")
    appt = Appointment.get(Appointment.patient == patient)
    assert (appt.doctor_id, appt.date, appt.time) == (doctor.id, now.date(), dt.time(23, 30))
    assert (appt.status, appt.reason) == ("booked", REASON)
    assert appt.booked_by_id == people.user("desk").id
    expect(page).to_have_url(f"{live_server}/desk/slip/{appt.id}")
    expect(slip).to_contain_text(f"Appointment slip no. {appt.id}")
    # The queue below refreshed itself on the booking.
    expect(page.locator(f"#day-list #appt-{appt.id}")).to_contain_text(REASON)
    expect(focused(page)).to_have_text("Next patient")
    keys.press("Enter")
    expect(focused(page)).to_have_id("desk-q")
    assert keys.presses == 11  # after the search term: arrows, Tabs and Enters only


def test_desk_budget_for_an_existing_patients_first_free_slot(
        live_server, js_page, people, diary):
    page = js_page
    wire = Wire(page)
    keyboard_log_in(page, live_server, "desk")
    wire.settle()

    # The first load of the desk screen, every asset, with a cold cache.
    wire.cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    start = wire.mark()
    page.goto(f"{live_server}/desk/")
    page.wait_for_function("() => typeof htmx === 'object'")  # a function: see mark_page
    first = wire.fetched(start)
    wire.cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
    expect(focused(page)).to_have_id("desk-q")

    typing = wire.mark()
    page.keyboard.type("pat o", delay=20)  # the search term: not counted
    expect(page.locator("#patient-results").get_by_role("link", name="Pat One")).to_be_visible()
    search = wire.fetched(typing)
    before_booking = wire.mark()
    keys = Keyboard(page)
    keys.press("ArrowDown")
    keys.press("Enter")
    expect(focused(page)).to_have_id("ff-department")  # Cardiology, first in the list
    keys.press("Tab")
    keys.press("ArrowDown")  # today → tomorrow (the diary starts tomorrow)
    keys.press("Enter")
    expect(focused(page)).to_have_id("desk-reason")
    expect(page.locator("#desk-book")).to_contain_text(f"{diary:%A %-d %B} at 09:00")
    keys.type("Check-up")
    keys.press("Enter")
    expect(page.locator("#desk-booking.slip")).to_contain_text("Dr Ada One")
    appt = Appointment.get(Appointment.patient == people.patient("pat.one"))
    expect(page.locator("#day-list")).to_be_attached()
    booking = wire.fetched(before_booking)  # over the network only: not the cached icon
    assert (appt.date, appt.time, appt.doctor_id) == (diary, dt.time(9),
                                                       people.doctor("dr.one").id)

    numbers = {
        "first_load_bytes": sum(f.bytes for f in first),
        "first_load_files": [f.path.split("?")[0].rsplit("/", 1)[1] or "desk/" for f in first],
        "search_requests": len(search), "search_bytes": sum(f.bytes for f in search),
        "keystrokes_after_search_term": keys.presses, "reason_characters": keys.typed,
        "requests_after_first_load": len(search) + len(booking),
        "bytes_after_first_load": sum(f.bytes for f in search + booking),
        "booking_urls": [f.path for f in search + booking],
    }
    print("desk budget:", json.dumps(numbers, indent=1))
    if BUDGET_FILE:
        Path(BUDGET_FILE).write_text(json.dumps(numbers, indent=1))
    assert numbers["keystrokes_after_search_term"] < 15
    assert numbers["requests_after_first_load"] < 6
    assert numbers["bytes_after_first_load"] < 10_000
    assert numbers["first_load_bytes"] < 30_000


def test_desk_books_with_the_keyboard_and_javascript_off(app, live_server, nojs_page, people):
    page = nojs_page
    with app.app_context():
        now = clinic_now()
    doctor, patient = people.doctor("dr.two"), people.patient("pat.two")
    DoctorAvailability.create(doctor=doctor, date=now.date(), time_slot=dt.time(23, 30))

    keyboard_log_in(page, live_server, "desk")
    expect(focused(page)).to_have_id("desk-q")
    page.keyboard.type("pat two")
    page.keyboard.press("Enter")  # the plain GET form
    expect(page).to_have_url(f"{live_server}/desk/?q=pat+two")
    expect(focused(page)).to_have_id("desk-q")  # the search again, as typed
    for _ in range(3):  # Find, New walk-in, then the first patient found
        page.keyboard.press("Tab")
    expect(focused(page)).to_have_text("Pat Two")
    page.keyboard.press("Enter")
    expect(focused(page)).to_have_id("ff-department")
    for _ in range(3):
        page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")  # Dr Bo Two
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # Show free times
    expect(page.locator("#slot-picker")).to_be_visible()
    expect(focused(page)).to_have_text("23:30")
    page.keyboard.press("Enter")
    expect(focused(page)).to_have_id("desk-reason")
    page.keyboard.type(REASON)
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/desk/slip/\d+$"))
    appt = Appointment.get(Appointment.patient == patient)
    expect(page).to_have_url(f"{live_server}/desk/slip/{appt.id}")
    expect(page.locator("#desk-booking.slip")).to_contain_text("Dr Bo Two (Dermatology)")
    expect(page.locator(f"#day-list #appt-{appt.id}")).to_contain_text(REASON)
    assert (appt.doctor_id, appt.time, appt.reason) == (doctor.id, dt.time(23, 30), REASON)

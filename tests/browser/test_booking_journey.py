"""A patient finds a doctor, books a free slot, moves it and cancels it: with JS and without."""

from __future__ import annotations

import datetime as dt
import re

from browser.pagemarks import log_in, mark_page, still_marked
from playwright.sync_api import expect

from hms.models import Appointment

REASON = "Chest pain when climbing stairs"


def long_day(day: dt.date) -> str:
    return f"{day:%A %-d %B}"


def test_find_book_reschedule_and_cancel_with_htmx(live_server, js_page, people, diary):
    page = js_page
    patient, patient_user = people.patient("pat.one"), people.user("pat.one")
    doctor = people.doctor("dr.one")
    day = diary + dt.timedelta(days=1)  # a day in the diary after tomorrow, never "Today"

    log_in(page, live_server, "pat.one")
    expect(page.get_by_role("heading", name="Hello, Pat One")).to_be_visible()
    mark_page(page)

    # The directory: typing part of a name narrows the list in place.
    page.get_by_role("link", name="Find a doctor").click()
    expect(page.get_by_role("heading", name="Find a doctor")).to_be_visible()
    doctor_list = page.locator("#doctor-list")
    expect(doctor_list.get_by_role("link", name="Dr Bo Two")).to_be_visible()
    page.get_by_label("Name").press_sequentially("ada")
    expect(doctor_list).to_contain_text("1 doctor matching “ada”.")
    expect(doctor_list.get_by_role("link", name="Dr Bo Two")).to_have_count(0)
    expect(page).to_have_url(f"{live_server}/doctors/?q=ada&department=")
    assert still_marked(page)

    # The doctor's page and its slot picker: choosing a day swaps in that day's free times.
    doctor_list.get_by_role("link", name="Dr Ada One").click()
    expect(page.get_by_role("heading", name="Dr Ada One")).to_be_visible()
    picker = page.locator("#slot-picker")
    # It opens on the first day with a free time (the diary starts tomorrow), not on today.
    expect(page.get_by_role("combobox", name="Day")).to_have_value(diary.isoformat())
    page.get_by_role("combobox", name="Day").select_option((diary - dt.timedelta(days=1)).isoformat())
    expect(picker).to_contain_text("No free times on")
    page.get_by_role("combobox", name="Day").select_option(day.isoformat())
    times = picker.get_by_role("list", name=f"Free times on {long_day(day)}")
    expect(times.get_by_role("link")).to_have_text(
        ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"])
    assert still_marked(page)

    # Pick 10:00, give a reason, book.
    times.get_by_role("link", name="10:00").click()
    expect(page.get_by_role("heading", name="Book an appointment")).to_be_visible()
    expect(page.locator("#book-form")).to_contain_text(f"When: {long_day(day)} at 10:00")
    page.get_by_label("Reason for the visit").fill(REASON)
    page.get_by_role("button", name="Book appointment").click()
    expect(page.locator("#messages")).to_have_text(
        f"Booked: {long_day(day)} at 10:00 with Dr Ada One.")
    expect(page.get_by_role("heading", name="Appointment details")).to_be_visible()
    details = page.locator("section.appointment dl")
    expect(details).to_contain_text(f"{day:%A %-d %B %Y}, 10:00")
    expect(details).to_contain_text("Dr Ada One (Cardiology)")
    expect(details).to_contain_text(REASON)
    expect(details.locator(".status")).to_have_text("booked")

    booked = Appointment.get(Appointment.patient == patient)
    assert (booked.doctor_id, booked.date, booked.time) == (doctor.id, day, dt.time(10))
    assert booked.status == "booked"
    assert booked.reason == REASON
    assert booked.booked_by_id == patient_user.id
    assert booked.rescheduled_from is None and booked.cancelled_by is None
    expect(page).to_have_url(f"{live_server}/appointments/{booked.id}")
    expect(page.locator(f"#appointment-{booked.id}")).to_contain_text(f"No. {booked.id}")

    # Reschedule: the picker (same day) offers the other free times; move to 11:30.
    page.get_by_role("link", name="Reschedule").click()
    expect(page.get_by_role("heading", name="Reschedule")).to_be_visible()
    expect(page.locator("main")).to_contain_text(f"Now: {long_day(day)}, 10:00 with Dr Ada One.")
    # The picker opens on the appointment's own day, so the list looks the same before the
    # swap: wait for the swap's answer, or the click could land on a list about to go.
    with page.expect_response(lambda answer: f"date={day.isoformat()}" in answer.url):
        page.get_by_role("combobox", name="Day").select_option(day.isoformat())
    times = picker.get_by_role("list", name=f"Free times on {long_day(day)}")
    expect(times.get_by_role("link")).to_have_text(["09:00", "09:30", "10:30", "11:00", "11:30"])
    times.get_by_role("link", name="11:30").click()
    move = page.get_by_role("button", name=f"Move to {day:%a %-d %b} at 11:30")
    expect(move).to_be_visible()
    assert Appointment.get_by_id(booked.id).status == "booked"  # nothing moves before the click
    move.click()
    expect(page.locator("#messages")).to_have_text(f"Moved to {long_day(day)} at 11:30.")
    expect(details).to_contain_text(f"{day:%A %-d %B %Y}, 11:30")
    expect(details.locator("dt", has_text="Moved from")).to_be_visible()
    expect(details.get_by_role("link", name=f"{day:%a %-d %b}, 10:00")).to_be_visible()
    expect(details.locator(".status")).to_have_text("booked")

    old = Appointment.get_by_id(booked.id)
    assert old.status == "rescheduled"
    assert old.cancelled_by_id == patient_user.id and old.cancelled_at is not None
    moved = Appointment.get(Appointment.rescheduled_from == old)
    assert (moved.date, moved.time, moved.status) == (day, dt.time(11, 30), "booked")
    assert moved.reason == REASON and moved.cancelled_by is None
    assert Appointment.select().where(Appointment.patient == patient).count() == 2
    expect(page).to_have_url(f"{live_server}/appointments/{moved.id}")

    # Cancel: hx-confirm asks first; accepting cancels and frees the slot.
    dialogs = []

    def accept(dialog):
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.get_by_label("Reason for cancelling (optional)").fill("Feeling better")
    page.get_by_role("button", name="Cancel appointment").click()
    expect(page.locator("#messages")).to_have_text(
        "The appointment is cancelled and its slot is free for others.")
    expect(details.locator(".status")).to_have_text("cancelled")
    expect(details).to_contain_text("Feeling better")
    expect(page.get_by_role("button", name="Cancel appointment")).to_have_count(0)
    expect(page.get_by_role("link", name="Reschedule")).to_have_count(0)
    assert dialogs == ["Cancel this appointment?"]

    cancelled = Appointment.get_by_id(moved.id)
    assert cancelled.status == "cancelled"
    assert cancelled.cancelled_by_id == patient_user.id and cancelled.cancelled_at is not None
    assert cancelled.cancel_reason == "Feeling better"
    assert cancelled.reason == REASON
    assert cancelled.rescheduled_from_id == old.id
    assert not Appointment.select().where(Appointment.patient == patient,
                                          Appointment.status == "booked").exists()
    # The whole journey, log-in page aside, was htmx swaps: never a full page load.
    assert still_marked(page)


def test_book_with_plain_links_and_forms(live_server, nojs_page, people, diary):
    page = nojs_page
    patient = people.patient("pat.one")
    day = diary + dt.timedelta(days=1)

    log_in(page, live_server, "pat.one")
    page.get_by_role("link", name="Find a doctor").click()
    page.get_by_label("Name").fill("ada")
    page.get_by_role("button", name="Search").click()
    doctor_list = page.locator("#doctor-list")
    expect(doctor_list).to_contain_text("1 doctor matching “ada”.")
    expect(doctor_list.get_by_role("link", name="Dr Bo Two")).to_have_count(0)

    doctor_list.get_by_role("link", name="Dr Ada One").click()
    expect(page.get_by_role("heading", name="Dr Ada One")).to_be_visible()
    page.get_by_role("combobox", name="Day").select_option(day.isoformat())
    page.get_by_role("button", name="Show free times").click()
    expect(page).to_have_url(re.compile(rf"/doctors/\d+\?date={day.isoformat()}$"))
    times = page.get_by_role("list", name=f"Free times on {long_day(day)}")
    times.get_by_role("link", name="09:30").click()

    expect(page.locator("#book-form")).to_contain_text(f"When: {long_day(day)} at 09:30")
    page.get_by_label("Reason for the visit").fill(REASON)
    page.get_by_role("button", name="Book appointment").click()
    expect(page.locator("#messages")).to_have_text(
        f"Booked: {long_day(day)} at 09:30 with Dr Ada One.")
    expect(page.locator("section.appointment .status")).to_have_text("booked")

    booked = Appointment.get(Appointment.patient == patient)
    assert (booked.doctor_id, booked.date, booked.time) == (
        people.doctor("dr.one").id, day, dt.time(9, 30))
    assert booked.status == "booked" and booked.reason == REASON
    assert booked.rescheduled_from is None and booked.cancelled_by is None
    expect(page).to_have_url(f"{live_server}/appointments/{booked.id}")

    # Without JavaScript, cancelling asks on a page of its own first: "No" changes nothing.
    page.get_by_label("Reason for cancelling (optional)").fill("Feeling better")
    page.get_by_role("button", name="Cancel appointment").click()
    expect(page.get_by_role("heading", name="Cancel this appointment?")).to_be_visible()
    expect(page.locator("main")).to_contain_text(f"{long_day(day)} at 09:30 with Dr Ada One")
    page.get_by_role("link", name="No, go back").click()
    expect(page).to_have_url(f"{live_server}/appointments/{booked.id}")
    assert Appointment.get_by_id(booked.id).status == "booked"
    page.get_by_label("Reason for cancelling (optional)").fill("Feeling better")
    page.get_by_role("button", name="Cancel appointment").click()
    page.get_by_role("button", name="Yes, cancel it").click()
    expect(page.locator("#messages")).to_have_text(
        "The appointment is cancelled and its slot is free for others.")
    cancelled = Appointment.get_by_id(booked.id)
    assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "Feeling better")

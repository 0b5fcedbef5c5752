"""A doctor opens and closes slots in the week grid, one at a time and in bulk: with JS and
without."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from browser.pagemarks import log_in, mark_page, still_marked
from playwright.sync_api import expect

from hms.models import Appointment, DoctorAvailability
from hms.scheduling import grid_times

KEPT_ONE = ("1 slot holds an appointment and was left open: move or cancel those appointments "
            "first.")


@pytest.fixture
def next_monday(diary) -> dt.date:
    """The Monday of next week. It always falls within the diary's seven days from tomorrow,
    and the whole of next week is in the future, whatever day and hour the tests run."""
    today = diary - dt.timedelta(days=1)
    monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=7)
    assert diary <= monday <= diary + dt.timedelta(days=6)
    return monday


def cell_id(day: dt.date, time: dt.time) -> str:
    return f"#c{day.isoformat()}T{time:%H%M}"


def is_open(doctor, day: dt.date, time: dt.time) -> bool | None:
    """The slot's row in the database: True open, False closed, None no row."""
    row = DoctorAvailability.get_or_none(doctor=doctor, date=day, time_slot=time)
    return None if row is None else row.is_available


def cell_states(tab) -> dict[str, str]:
    """Every cell of the grid by its accessible label, with its class."""
    return tab.eval_on_selector_all("#grid .cell", """cells => Object.fromEntries(cells.map(
        c => [(c.getAttribute('aria-label') || c.textContent).replace(/^\\W+/, '')
                  .replace(/( open for booking|: .*)$/, ''), c.className]))""")


def open_next_week(tab, base: str, monday: dt.date) -> None:
    tab.get_by_role("link", name="Availability").click()
    expect(tab.get_by_role("heading", name="My availability")).to_be_visible()
    tab.get_by_role("link", name="Next week →").click()
    expect(tab.get_by_role("heading", name=f"Week of {monday:%-d %B %Y}")).to_be_visible()
    expect(tab).to_have_url(f"{base}/availability/?week={monday.isoformat()}")


def test_toggle_and_bulk_close_with_htmx(app, live_server, js_page, people, next_monday):
    page = js_page
    with app.app_context():
        slots_a_day = len(grid_times())  # the grid's rows: 08:00 to 17:30 by default
    doctor = people.doctor("dr.one")
    nine, half_nine, ten = dt.time(9), dt.time(9, 30), dt.time(10)
    appt = Appointment.create(patient=people.patient("pat.one"), doctor=doctor,
                              date=next_monday, time=ten, reason="Check-up")
    diary_before = {(r.doctor_id, r.date, r.time_slot): r.is_available
                    for r in DoctorAvailability.select()}

    log_in(page, live_server, "dr.one")
    expect(page.get_by_role("heading", name="Today's appointments")).to_be_visible()
    mark_page(page)
    open_next_week(page, live_server, next_monday)

    # A slot holding an appointment is a link to it, not a toggle.
    booked = page.locator("#grid .cell.booked")
    expect(booked).to_have_count(1)
    expect(booked).to_have_text("Booked")
    expect(booked).to_have_attribute("aria-label", f"{next_monday:%a %-d %b} 10:00: booked")
    expect(booked).to_have_attribute("href", f"/appointments/{appt.id}")

    # One click closes one slot: only that cell is swapped.
    cell = page.locator(cell_id(next_monday, nine))
    expect(cell).to_have_class("cell open")
    expect(cell).to_have_text("Open")
    before = cell_states(page)
    cell.click()
    expect(cell).to_have_class("cell closed")
    expect(cell).to_have_attribute("aria-pressed", "false")
    expect(cell).to_have_text("Closed")  # a state, not a verb: "Open" meant the opposite
    expect(cell).to_have_attribute("aria-label", f"{next_monday:%a %-d %b} 09:00 open for booking")
    after = cell_states(page)
    assert {k for k in before if before[k] != after[k]} == {f"{next_monday:%a %-d %b} 09:00"}
    expect(page.locator(cell_id(next_monday, half_nine))).to_have_class("cell open")
    assert is_open(doctor, next_monday, nine) is False
    assert is_open(doctor, next_monday, half_nine) is True
    assert still_marked(page)

    # Close all mornings: the grid is swapped with a count, and the booked slot stays open.
    page.get_by_role("button", name="Close all mornings").click()
    message = page.locator("#grid p.flash")
    expect(message).to_have_text(re.compile(rf"^\d+ slots updated\. {re.escape(KEPT_ONE)}$"))
    expect(page.locator("#grid button.cell.open")).to_have_count(0)
    expect(page.locator(cell_id(next_monday, half_nine))).to_have_class("cell closed")
    expect(booked).to_have_attribute("href", f"/appointments/{appt.id}")
    assert still_marked(page)

    week = [next_monday + dt.timedelta(days=d) for d in range(7)]
    mornings = DoctorAvailability.select().where(
        DoctorAvailability.doctor == doctor, DoctorAvailability.date.between(week[0], week[-1]),
        DoctorAvailability.time_slot < dt.time(12))
    states = {(r.date, r.time_slot): r.is_available for r in mornings}
    assert states.pop((next_monday, ten)) is True  # the booked slot was left open
    assert states and not any(states.values())
    # Nothing outside Dr One's mornings of next week changed.
    for (doctor_id, day, time), was in diary_before.items():
        if doctor_id != doctor.id or day not in week:
            assert is_open(doctor_id, day, time) is was
    assert Appointment.get_by_id(appt.id).status == "booked"

    # A day's "Open" in the footer opens the whole of that day again, afternoons included.
    page.get_by_role("button", name=f"Open all of {next_monday:%A}").click()
    expect(message).to_have_text(re.compile(r"^\d+ slots updated\.$"))
    # Every slot of the day is open but the booked one; no other day has an open slot.
    monday_cells = page.locator(f"#grid button[id^='c{next_monday.isoformat()}T']")
    expect(monday_cells).to_have_count(slots_a_day - 1)
    expect(page.locator("#grid button.cell.open")).to_have_count(slots_a_day - 1)
    monday_rows = DoctorAvailability.select().where(DoctorAvailability.doctor == doctor,
                                                    DoctorAvailability.date == next_monday)
    assert len(monday_rows) == slots_a_day and all(r.is_available for r in monday_rows)
    assert still_marked(page)

    # The booked slot's link leads to the appointment.
    booked.click()
    expect(page.get_by_role("heading", name="Appointment details")).to_be_visible()
    expect(page.locator(f"#appointment-{appt.id}")).to_contain_text("Pat One")
    expect(page).to_have_url(f"{live_server}/appointments/{appt.id}")


def test_toggle_with_a_plain_form(live_server, nojs_page, people, next_monday):
    page = nojs_page
    doctor = people.doctor("dr.one")
    slot = dt.time(11)

    log_in(page, live_server, "dr.one")
    open_next_week(page, live_server, next_monday)
    cell = page.locator(cell_id(next_monday, slot))
    expect(cell).to_have_class("cell open")
    assert is_open(doctor, next_monday, slot) is True

    cell.click()  # submits the grid's form: a full page load
    expect(cell).to_have_class("cell closed")
    expect(page).to_have_url(f"{live_server}/availability/?week={next_monday.isoformat()}")
    assert is_open(doctor, next_monday, slot) is False
    assert is_open(doctor, next_monday, dt.time(10, 30)) is True

    cell.click()  # and open again
    expect(cell).to_have_class("cell open")
    assert is_open(doctor, next_monday, slot) is True

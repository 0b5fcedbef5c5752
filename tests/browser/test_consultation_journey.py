"""The consultation as it runs: the desk checks the patient in and sees them waiting; the doctor
starts the consultation and ends it; the times are kept."""

from __future__ import annotations

import datetime as dt

from browser.pagemarks import log_in, mark_page, still_marked
from playwright.sync_api import expect

from hms.clock import utc_now
from hms.models import Appointment


def test_the_desk_checks_in_and_the_doctor_starts_and_ends_the_consultation(
        app, live_server, js_page, browser, people, clinic_midday, frozen_clock):
    page = js_page
    today = clinic_midday.date()
    appt = Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                              date=today, time=dt.time(11, 30), reason="Back pain")

    log_in(page, live_server, "desk")
    row = page.locator(f"#appt-{appt.id}")
    row.get_by_role("button", name="Check in").click()
    expect(row.locator(".status.checked_in")).to_have_text("checked in")
    expect(row.locator(".tag.waiting")).to_have_text("waiting 0 min")
    arrived = utc_now()
    frozen_clock.move_to((arrived + dt.timedelta(minutes=14)).replace(tzinfo=dt.UTC))
    page.reload()
    expect(page.locator(f"#appt-{appt.id} .tag.waiting")).to_have_text("waiting 14 min")

    doctor_tab = browser.new_context().new_page()
    log_in(doctor_tab, live_server, "dr.one")
    mark_page(doctor_tab)
    row = doctor_tab.locator(f"#appt-{appt.id}")
    expect(row.locator(".tag.waiting")).to_have_text("waiting 14 min")
    row.get_by_role("button", name="Start").click()
    expect(row.locator(".tag.with-doctor")).to_have_text("with the doctor")
    expect(row.get_by_role("button", name="Start")).to_have_count(0)
    expect(doctor_tab.get_by_text("Pat One: in with the doctor.")).to_be_visible()
    frozen_clock.move_to((arrived + dt.timedelta(minutes=26)).replace(tzinfo=dt.UTC))
    row.get_by_role("button", name="Complete").click()
    expect(row.locator(".status.completed")).to_have_text("completed")
    assert still_marked(doctor_tab)  # swapped in place, never reloaded
    done = Appointment.get_by_id(appt.id)
    assert done.started_at - done.checked_in_at == dt.timedelta(minutes=14)
    assert done.ended_at - done.started_at == dt.timedelta(minutes=12)

    page.reload()  # the desk's queue shows it done
    expect(page.locator(f"#appt-{appt.id} .status.completed")).to_have_text("completed")
    doctor_tab.context.close()

"""A patient joins a doctor's waitlist, is offered a time someone let go, and takes it from
their home page: with JavaScript on and off."""

from __future__ import annotations

import datetime as dt

from browser.pagemarks import log_in
from playwright.sync_api import expect

from hms.models import Appointment, SlotOffer, WaitlistEntry
from hms.scheduling import cancel_appointment
from support import one_time_held


def test_a_patient_waits_for_a_time_and_takes_the_one_offered(app, live_server, page, people,
                                                             diary, clinic_midday):
    day = diary + dt.timedelta(days=1)
    doctor = people.doctor("dr.one")
    held = one_time_held(people, day)  # Dr One sees patients at 09:00 only; Pat Two holds it

    log_in(page, live_server, "pat.one")
    page.goto(f"{live_server}/doctors/{doctor.id}")
    page.get_by_role("link", name="Join the waitlist").click()
    expect(page.get_by_role("heading", name="Join the waitlist")).to_be_visible()
    page.get_by_label("Earliest day").fill(day.isoformat())
    page.get_by_label("Latest day").fill(day.isoformat())
    page.get_by_label("Times").select_option("morning")
    page.get_by_label("Reason for the visit").fill("Chest pain on stairs")
    page.get_by_role("button", name="Join the waitlist").click()
    expect(page.get_by_text("You are on the waitlist for Dr Ada One")).to_be_visible()
    expect(page.get_by_role("heading", name="On the waitlist")).to_be_visible()
    assert WaitlistEntry.get().part_of_day == "morning"

    with app.app_context():  # Pat Two lets the time go; it is offered to Pat One at once
        cancel_appointment(held, people.user("pat.two"), "Away")
    page.goto(f"{live_server}/me/")
    offers = page.get_by_role("region", name="A time is free for you")
    expect(offers).to_contain_text(f"{day:%a %-d %b}, 09:00 with Dr Ada One")
    offers.get_by_role("button", name="Book this time").click()
    expect(page.get_by_text(f"Booked: {day:%A %-d %B} at 09:00 with Dr Ada One.")).to_be_visible()
    expect(page.get_by_role("heading", name="Appointment details")).to_be_visible()
    booked = Appointment.get(Appointment.patient == people.patient("pat.one"))
    assert (booked.date, booked.time, booked.reason) == (day, dt.time(9), "Chest pain on stairs")
    assert SlotOffer.get().status == "claimed"
    page.goto(f"{live_server}/me/")
    expect(page.get_by_role("heading", name="On the waitlist")).to_have_count(0)

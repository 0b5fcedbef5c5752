"""One request per decision (issue 15): with JavaScript each form step is one request that
answers with the next view and its address; without, post-redirect-get; after the first page
no static file is fetched again."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from hms.models import Appointment
from pagemarks import log_in
from support import PASSWORD
from wire import Wire


@pytest.fixture
def seen_before(people, diary):
    """Pat One saw Dr One ten days ago: Dr One is under "Book again" on Pat One's home."""
    doctor = people.doctor("dr.one")
    Appointment.create(patient=people.patient("pat.one"), doctor=doctor, status="completed",
                       date=diary - dt.timedelta(days=10), time=dt.time(9), reason="Check-up")
    return doctor


def wait_until(page, condition, tries: int = 100) -> None:
    """Until condition() holds, letting Playwright deliver its events between tries."""
    for _ in range(tries):
        if condition():
            return
        page.wait_for_timeout(20)
    raise AssertionError("waited in vain")


def test_the_patients_booking_costs_one_request_per_decision(live_server, page, seen_before):
    doctor = seen_before
    wire = Wire(page)
    js = page.js_enabled

    page.goto(f"{live_server}/login")
    first_page = wire.fetched()
    assert sorted(f.path.split("?")[0] for f in first_page) == [
        "/login", "/static/app.css", "/static/favicon.svg",
        *(["/static/htmx.min.js"] if js else [])]
    steps = []

    def step(action, shown):
        """Do it, wait until its result is shown, and note what crossed the network."""
        mark = wire.mark()
        action()
        shown()
        steps.append([f"{f.method} {f.path} {f.status}" for f in wire.fetched(mark)])
        return steps[-1]

    def log_in():
        page.get_by_label("Username").fill("pat.one")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()

    step(log_in, lambda: expect(page.get_by_role("heading", name="Book again")).to_be_visible())
    assert steps[-1] == (["POST /login 200"] if js else ["POST /login 303", "GET /me/ 200"])
    expect(page).to_have_url(f"{live_server}/me/")

    step(lambda: page.get_by_role("link", name="Dr Ada One").click(),
         lambda: expect(page.get_by_role("heading", name="Soonest free times")).to_be_visible())
    assert steps[-1] == [f"GET /doctors/{doctor.id} 200"]

    first_time = page.locator("ul.slots a").first
    slot_path = first_time.get_attribute("href")
    step(first_time.click,
         lambda: expect(page.get_by_label("Reason for the visit")).to_be_visible())
    assert steps[-1] == [f"GET {slot_path} 200"]

    def confirm():
        page.get_by_label("Reason for the visit").fill("Follow-up")
        page.get_by_role("button", name="Book appointment").click()

    step(confirm, lambda: expect(page.locator("#messages")).to_contain_text("Booked:"))
    booked = Appointment.get(Appointment.reason == "Follow-up")
    assert steps[-1] == ([f"POST /appointments/book/{doctor.id} 200"] if js else
                         [f"POST /appointments/book/{doctor.id} 303",
                          f"GET /appointments/{booked.id} 200"])
    # The address shown is the appointment's own page, and reloading it books nothing again.
    expect(page).to_have_url(f"{live_server}/appointments/{booked.id}")
    page.reload()
    expect(page.locator("section.appointment .status")).to_have_text("booked")
    assert Appointment.select().where(Appointment.reason == "Follow-up").count() == 1
    # Four decisions, and nothing static after the first page (the reload included).
    assert not [f for f in wire.fetched(len(first_page)) if "/static/" in f.url]
    assert sum(len(s) for s in steps) == (4 if js else 6), steps


def test_a_refused_htmx_post_is_its_one_answer_in_place(live_server, js_page, people):
    """A form that fails is answered with itself and the messages, in the same request."""
    page = js_page
    wire = Wire(page)
    page.goto(f"{live_server}/login")
    mark = wire.mark()
    page.get_by_label("Username").fill("pat.one")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Wrong username or password.")).to_be_visible()
    assert [f"{f.method} {f.path} {f.status}" for f in wire.fetched(mark)] == \
        ["POST /login 422"]
    expect(page).to_have_url(re.compile(r"/login$"))


def test_log_out_while_a_page_is_still_coming_wins(live_server, js_page):
    """A slow menu link, then Log out: the later click aborts the earlier one, as a browser's
    own navigation would, so the stale signed-in page never swaps in over the login page."""
    page = js_page
    log_in(page, live_server, "pat.one")
    held = []

    def hold(route):  # the server answers (signed in); the answer is held back from the tab
        held.append((route, route.fetch()))

    page.route("**/me/history", hold)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="History").click()
    wait_until(page, lambda: held)  # the server has answered the held request
    route, answer = held[0]
    assert answer.status == 200 and "My medical history" in answer.text()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("navigation", name="Account")).to_be_visible()
    try:
        route.fulfill(response=answer)  # too late: the tab gave up on it at Log out
    except Exception:  # noqa: BLE001 - Playwright refuses to answer an aborted request
        pass
    page.wait_for_timeout(300)
    expect(page.get_by_role("navigation", name="Account")).to_be_visible()
    expect(page.get_by_role("heading", name="My medical history")).to_have_count(0)


def test_a_pressed_link_is_fetched_before_it_is_released_and_only_once(
        live_server, js_page, seen_before):
    """Intent, not hover: the press starts the request, the click uses its answer."""
    page = js_page
    doctor = seen_before
    log_in(page, live_server, "pat.one")
    wire = Wire(page)
    link = page.get_by_role("link", name="Dr Ada One")
    mark = wire.mark()
    link.hover()
    assert wire.fetched(mark) == []  # a pointer passing over a link costs nothing
    # nor does pressing a menu link: the menu is not a likely next view, and its navigations
    # must stay abortable by the next one (test_log_out_while_a_page_is_still_coming_wins)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="History") \
        .dispatch_event("mousedown")
    assert wire.fetched(mark) == []

    link.dispatch_event("mousedown")  # held down: the page is asked for now
    # Answered (its body is read only once the click uses it, so not wire.fetched()).
    wait_until(page, lambda: any(f.status for f in wire.log[mark:]))
    assert [f"{f.method} {f.path} {f.status}" for f in wire.log[mark:]] == \
        [f"GET /doctors/{doctor.id} 200"]
    expect(page.get_by_role("heading", name="Book again")).to_be_visible()  # not shown yet
    link.click()  # released: the answer already here is swapped in, with no second request
    expect(page.get_by_role("heading", name="Soonest free times")).to_be_visible()
    expect(page).to_have_url(f"{live_server}/doctors/{doctor.id}")
    assert [f"{f.method} {f.path}" for f in wire.fetched(mark)] == [f"GET /doctors/{doctor.id}"]


def test_a_check_in_on_the_doctors_day_is_one_request(live_server, page, people, clinic_midday):
    """The answer is the day's list itself: the row's new state, the next patient, the counts."""
    today = clinic_midday.date()
    first, second = (Appointment.create(
        patient=people.patient(who), doctor=people.doctor("dr.one"), date=today,
        time=dt.time(hour), reason="Review") for who, hour in (("pat.one", 9), ("pat.two", 10)))
    log_in(page, live_server, "dr.one")
    expect(page.locator(f"#appt-{first.id}")).to_contain_text("Next")
    wire = Wire(page)
    mark = wire.mark()
    page.locator(f"#appt-{first.id}").get_by_role("button", name="Check in").click()
    expect(page.locator(f"#appt-{first.id} .status")).to_have_text("checked in")
    assert [f"{f.method} {f.path} {f.status}" for f in wire.fetched(mark)] == (
        [f"POST /appointments/{first.id}/status 200"] if page.js_enabled else
        [f"POST /appointments/{first.id}/status 303", "GET /doctor/ 200"])
    assert Appointment.get_by_id(first.id).status == "checked_in"

    mark = wire.mark()
    page.locator(f"#appt-{first.id}").get_by_role("button", name="Complete").click()
    expect(page.locator(f"#appt-{second.id}")).to_contain_text("Next")  # the list moved on
    expect(page.locator(f"#appt-{first.id} .status")).to_have_text("completed")
    assert len(wire.fetched(mark)) == (1 if page.js_enabled else 2)
    assert Appointment.get_by_id(first.id).status == "completed"

"""The strict Content-Security-Policy in a real browser: every role's main pages and their htmx
swaps (search as you type, the slot picker, a status change) run without a single violation,
and htmx still swaps under it."""

from __future__ import annotations

import datetime as dt

import pytest
from browser.pagemarks import log_in, mark_page, still_marked
from playwright.sync_api import expect

from hms.models import Appointment

# Reports each violation to the test (an exposed binding outlives page loads; a list in window
# would not), from the first script of every document, before the page's own.
RECORD_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.hmsViolation({directive: e.effectiveDirective, blocked: e.blockedURI,
                       sample: e.sample, page: e.documentURI, line: e.lineNumber});
}, true);
"""


class Watch:
    """What the browser said while the journey ran: CSP violations, console errors and
    warnings, uncaught script errors."""

    def __init__(self, context, page) -> None:
        self.violations: list[dict] = []
        self.console: list[str] = []
        self.errors: list[str] = []
        context.expose_function("hmsViolation", self._violation)
        context.add_init_script(RECORD_VIOLATIONS)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _violation(self, violation: dict) -> None:
        self.violations.append(violation)

    def _console(self, message) -> None:
        if message.type in ("error", "warning"):
            self.console.append(f"{message.type}: {message.text} ({message.location.get('url')})")

    def policy_messages(self) -> list[str]:
        """Console lines about a policy: CSP refusals, Permissions-Policy header errors."""
        words = ("content security policy", "content-security-policy", "permissions-policy",
                 "refused to", "unsafe-eval", "unsafe-inline")
        return [m for m in self.console if any(w in m.lower() for w in words)]

    def assert_clean(self) -> None:
        assert self.violations == []
        assert self.policy_messages() == []
        assert self.errors == []


def log_out(page) -> None:
    """Log out, and wait until it is done (the next login must not race it)."""
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("navigation", name="Account")).to_be_visible()


@pytest.fixture
def watched(browser):
    """A tab with JavaScript on (and the CSP on: bypass_csp stays off), watched."""
    context = browser.new_context(java_script_enabled=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    watch = Watch(context, page)
    yield page, watch
    context.close()


def test_the_watch_sees_a_violation(live_server, watched):
    """The recorder itself works: an inline style set on a page is refused and reported."""
    page, watch = watched
    page.goto(f"{live_server}/login")
    page.evaluate("document.body.setAttribute('style', 'color: red')")
    expect(page.locator("body")).not_to_have_css("color", "rgb(255, 0, 0)")
    for _ in range(50):  # the event is reported asynchronously
        if watch.violations:
            break
        page.wait_for_timeout(20)
    assert [v["directive"] for v in watch.violations] == ["style-src-attr"]
    assert watch.policy_messages(), watch.console


def test_every_role_works_under_the_policy_without_a_violation(
        app, live_server, watched, people, diary, clinic_midday):
    page, watch = watched
    today = clinic_midday.date()
    slot = dt.time(clinic_midday.hour, 30 if clinic_midday.minute >= 30 else 0)
    appt = Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                              date=today, time=slot, reason="Sore throat",
                              booked_by=people.user("pat.one"))
    day = diary + dt.timedelta(days=1)

    # A patient: search as you type, then the slot picker, then the history page.
    log_in(page, live_server, "pat.one")
    expect(page.get_by_role("heading", name="Hello, Pat One")).to_be_visible()
    mark_page(page)
    page.get_by_role("link", name="Find a doctor").click()
    doctor_list = page.locator("#doctor-list")
    page.get_by_label("Name").press_sequentially("ada")
    expect(doctor_list).to_contain_text("1 doctor matching “ada”.")
    doctor_list.get_by_role("link", name="Dr Ada One").click()
    page.get_by_role("combobox", name="Day").select_option(day.isoformat())
    expect(page.locator("#slot-picker").get_by_role("link", name="09:00")).to_be_visible()
    assert still_marked(page)  # htmx swapped (boosted links, the search, the picker)
    # htmx was told (base.html) not to add its indicator stylesheet; app.css has the rules.
    assert page.evaluate("document.adoptedStyleSheets.length") == 0
    page.get_by_role("navigation", name="Main").get_by_role("link", name="History").click()
    expect(page.get_by_role("heading", name="My medical history")).to_be_visible()
    # Print is a link to the PDF: it needs no script, and works with JavaScript off. It is a
    # download, not a boosted link (htmx would swap the PDF's bytes into the page).
    with page.expect_download() as download:
        page.get_by_role("link", name="Print (PDF)").click()
    assert download.value.suggested_filename.endswith(".pdf")
    expect(page.get_by_role("heading", name="My medical history")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Profile").click()
    expect(page.get_by_role("heading", name="My profile")).to_be_visible()
    log_out(page)

    # A doctor: today's list, a status change in place, the statistics page with its charts.
    log_in(page, live_server, "dr.one")
    expect(page.get_by_role("heading", name="Today's appointments")).to_be_visible()
    mark_page(page)
    row = page.locator(f"#appt-{appt.id}")
    row.get_by_role("button", name="Check in").click()
    expect(row.locator(".status")).to_have_text("checked in")
    assert still_marked(page)
    assert Appointment.get_by_id(appt.id).status == "checked_in"
    expect(page.get_by_role("heading", name="The last 30 days")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Statistics").click()
    expect(page.locator("main svg.chart").first).to_be_visible()
    nav.get_by_role("link", name="Availability").click()
    expect(page.get_by_role("heading", name="My availability")).to_be_visible()
    log_out(page)

    # The desk: the patient search as one types.
    log_in(page, live_server, "desk")
    expect(page.get_by_role("heading", name="Front desk")).to_be_visible()
    mark_page(page)
    page.locator("#desk-q").press_sequentially("pat two")
    expect(page.locator("#patient-results").get_by_role("link", name="Pat Two")).to_be_visible()
    assert still_marked(page)
    log_out(page)

    # An admin: the console, analytics (charts), the patient search as one types.
    log_in(page, live_server, "admin")
    page.goto(f"{live_server}/admin/analytics")
    expect(page.locator("main svg.chart").first).to_be_visible()
    page.goto(f"{live_server}/admin/patients")
    mark_page(page)
    page.get_by_label("Name, phone, email or patient no.").press_sequentially("pat one")
    patients = page.locator("#patient-list")
    expect(patients.get_by_role("link", name="Pat One")).to_be_visible()
    expect(patients.get_by_role("link", name="Pat Two")).to_have_count(0)
    assert still_marked(page)
    page.goto(f"{live_server}/no/such/page")  # an error page is under the policy too
    expect(page.get_by_text("There is nothing here")).to_be_visible()

    watch.assert_clean()

"""axe-core (from npm, pinned) on every page each role can reach, and on the main interactive
states, in real Chromium against the demo hospital: any violation fails. And the focus ring
stands out (at least 3:1) from what is around it, wherever Tab goes on each landing page."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from browser import pagemarks
from playwright.sync_api import expect

from hms.db import db, init_schema
from hms.demo import DEMO_PASSWORD, seed_demo
from support import make_app

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
ROLES = ["admin", "desk", "dr.grey", "anna"]
# Downloads and actions are not pages; each kind of page is visited once (ids and dates vary).
NOT_PAGES = re.compile(r"\.(pdf|csv|ics)$|^/static/|^/logout|/photo$")
PAGES_PER_ROLE = 60


@pytest.fixture
def app(tmp_path, redis_url, database_engine, request):
    """The app on an empty database of its own (not the personas': the demo has its own admin
    and desk), which the demo fixture fills."""
    if database_engine == "sqlite":
        location = str(tmp_path / "hms-demo.sqlite3")
    else:
        postgres = request.getfixturevalue("postgres")
        name = f"demo_{uuid.uuid4().hex[:16]}"
        request.addfinalizer(lambda: postgres.drop(name))
        location = postgres.create(name)
    app = make_app(tmp_path, redis_url, DATABASE=location)
    with app.app_context():
        init_schema()
    yield app
    if not db.is_closed():
        db.close()


@pytest.fixture
def demo(app, clinic_midday):
    """The demo hospital, seeded at noon of the default day."""
    with app.app_context():
        assert seed_demo()


def log_in(tab, base: str, username: str) -> None:
    pagemarks.log_in(tab, base, username, DEMO_PASSWORD)


def violations(tab) -> list[str]:
    """axe-core's violations on the page as it is now: rule, and the first elements at fault."""
    if not tab.evaluate("() => typeof axe === 'object'"):
        tab.evaluate(AXE.read_text())  # through the DevTools protocol: no CSP exception needed
    found = tab.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']}))
        .violations.map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' '))
                                                  .join(' | '))""")
    return [f"{urlsplit(tab.url).path}: {v}" for v in found]


def kind(href: str) -> str:
    """/doctors/12?date=2026-01-05 → /doctors/N?date: one visit per kind of page."""
    parts = urlsplit(href)
    return re.sub(r"\d+", "N", parts.path) + "?" + ",".join(
        sorted(name for name, _ in parse_qsl(parts.query)))


def crawl(tab, base: str) -> tuple[list[str], list[str]]:
    """Every kind of page reachable by links from the start page: (paths, violations)."""
    queue, seen, visited, found = [urlsplit(tab.url).path], set(), [], []
    while queue and len(visited) < PAGES_PER_ROLE:
        href = queue.pop(0)
        if kind(href) in seen:
            continue
        seen.add(kind(href))
        response = tab.goto(base + href)
        assert response.status == 200, (href, response.status)
        visited.append(href)
        found += violations(tab)
        for link in tab.eval_on_selector_all("a[href]", "as => as.map(a => a.getAttribute('href'))"):
            link = link.split("#")[0]
            if link.startswith("/") and not link.startswith("//") and not NOT_PAGES.search(
                    urlsplit(link).path) and kind(link) not in seen:
                queue.append(link)
    return visited, found


@pytest.mark.parametrize("username", ROLES)
def test_every_page_a_role_reaches_has_no_axe_violation(live_server, js_page, demo, username):
    log_in(js_page, live_server, username)
    visited, found = crawl(js_page, live_server)
    assert len(visited) >= 4, visited  # the crawl did reach the role's pages
    assert found == [], "\n".join(found)


def test_the_login_pages_have_no_axe_violation(live_server, js_page, demo):
    found = []
    for path in ("/login", "/register", "/forgot"):
        js_page.goto(live_server + path)
        found += violations(js_page)
    js_page.goto(live_server + "/login")
    js_page.get_by_label("Username").fill("anna")
    js_page.get_by_label("Password").fill("wrong password")
    js_page.get_by_role("button", name="Log in").click()
    expect(js_page.locator("#login-form .error-summary")).to_be_focused()
    found += violations(js_page)
    assert found == [], "\n".join(found)


def test_the_main_interactive_states_have_no_axe_violation(live_server, js_page, demo):
    """Swapped fragments and refused forms: the desk with a patient and a doctor picked, the
    directory searched, a treatment form refused, the availability grid toggled."""
    tab, found = js_page, []
    log_in(tab, live_server, "desk")
    tab.get_by_label("Patient: name, phone or number").fill("Anna")
    tab.get_by_role("link", name="Anna Schmidt").click()
    tab.get_by_label("or the doctor").select_option(label="Dr Meredith Grey (General Medicine)")
    tab.get_by_role("button", name="Show free times").last.click()
    expect(tab.locator("#slot-picker")).to_be_visible()
    found += violations(tab)
    tab.locator("#slot-picker .slots a").first.click()
    expect(tab.get_by_label("Reason for the visit")).to_be_focused()
    tab.get_by_role("button", name="Book (Enter)").click()  # no reason: refused
    expect(tab.locator("#reason-error")).to_be_visible()
    found += violations(tab)

    tab.context.clear_cookies()
    log_in(tab, live_server, "anna")
    tab.get_by_role("link", name="Find a doctor").click()
    tab.get_by_label(re.compile("Name")).first.fill("Grey")
    expect(tab.locator("#doctor-list")).to_contain_text("1 doctor matching")
    found += violations(tab)

    tab.context.clear_cookies()
    log_in(tab, live_server, "dr.grey")
    tab.get_by_role("link", name="Availability").click()
    cell = tab.locator("#grid button.cell").first
    pressed = cell.get_attribute("aria-pressed")
    cell_id = cell.get_attribute("id")
    cell.click()
    expect(tab.locator(f"#{cell_id}")).not_to_have_attribute("aria-pressed", pressed)
    found += violations(tab)
    assert found == [], "\n".join(found)


CONTRAST = """el => {
  const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => (v /= 255) <= 0.03928 ? v / 12.92
      : ((v + 0.055) / 1.055) ** 2.4).reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const style = getComputedStyle(el);
  if (style.outlineStyle === 'none' || parseFloat(style.outlineWidth) < 2) return 0;
  let around = el.parentElement;  // what the ring is drawn on: the first opaque background
  while (around && (rgb(getComputedStyle(around).backgroundColor)[3] === 0))
    around = around.parentElement;
  const bg = around ? rgb(getComputedStyle(around).backgroundColor) : [255, 255, 255];
  const [a, b] = [lum(rgb(style.outlineColor)), lum(bg)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


@pytest.mark.parametrize("username", ROLES)
def test_tab_shows_a_focus_ring_of_at_least_3_to_1_everywhere(live_server, js_page, demo,
                                                              username):
    """Tab through the landing page: every stop shows a ring, 3:1 against its background."""
    log_in(js_page, live_server, username)
    js_page.locator("body").focus()
    weak = []
    for _ in range(25):
        js_page.keyboard.press("Tab")
        if js_page.evaluate("() => document.activeElement === document.body"):
            break  # past the last stop
        ratio = js_page.evaluate(f"() => ({CONTRAST})(document.activeElement)")
        name = js_page.evaluate("() => document.activeElement.outerHTML.slice(0, 80)")
        if ratio < 3:
            weak.append(f"{ratio:.2f}: {name}")
    assert weak == [], "\n".join(weak)


def test_focus_goes_where_attention_should_after_each_swap(live_server, js_page, demo):
    """A new page: its heading. A row changed in its list: that row's next action. A refused
    form: its first invalid field. A medicine row added: its first box."""
    tab = js_page
    log_in(tab, live_server, "dr.grey")
    menu = tab.get_by_role("navigation", name="Main")
    menu.get_by_role("link", name="Appointments").click()
    expect(tab.locator("main h1")).to_be_focused()
    expect(tab.locator("main h1")).to_have_text("Appointments")

    menu.get_by_role("link", name="Today").click()
    expect(tab.locator("main h1")).to_be_focused()
    check_in = tab.locator("#day-list").get_by_role("button", name="Check in").first
    row = check_in.locator("xpath=ancestor::tr").get_attribute("id")
    check_in.click()
    expect(tab.locator(f"#{row} .status")).to_have_text("checked in")
    # The row's first button now: Start, the doctor's next step.
    expect(tab.locator(f"#{row}").get_by_role("button", name="Start")).to_be_focused()

    tab.locator(f"#{row}").get_by_role("link", name="Record treatment").click()
    expect(tab.locator("main h1")).to_be_focused()
    tab.get_by_role("button", name="Add a medicine").click()
    expect(tab.locator("#medicines .medicine")).to_have_count(2)
    expect(tab.locator("#medicines .medicine").nth(1).get_by_label("Name")).to_be_focused()
    second = tab.locator("#medicines .medicine").nth(1)
    second.get_by_label("Name").fill("Amoxicillin")
    second.get_by_label("Dose").fill("500 mg")
    second.get_by_label("Days").fill("five")
    tab.get_by_role("button", name="Save treatment").click()  # no diagnosis, a bad medicine
    summary = tab.locator("#treatment-form .error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_text(
        ["Diagnosis: Enter the diagnosis.", re.compile(r"^Medicine 2: .*how often.*days", re.I)])
    summary.get_by_role("link").nth(1).click()
    expect(tab.locator("#medicines .medicine").nth(1).get_by_label("How often")).to_be_focused()
    summary.get_by_role("link").first.click()
    expect(tab.get_by_label("Diagnosis")).to_be_focused()
    expect(tab.get_by_label("Diagnosis")).to_have_attribute("aria-invalid", "true")


def test_a_refused_form_without_javascript_opens_on_its_error_summary(live_server, nojs_page,
                                                                      demo):
    """GOV.UK's pattern with no script at all: the summary has the focus as the page loads, and
    each of its links goes to its field."""
    tab = nojs_page
    tab.goto(live_server + "/register")
    tab.get_by_label("Full name").fill("Ola Nordmann")
    tab.get_by_label("Email").fill("not an address")
    tab.get_by_role("button", name="Create my account").click()
    summary = tab.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    links = summary.get_by_role("link")
    expect(links.first).to_have_attribute("href", "#phone")
    hrefs = links.evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert "#email" in hrefs and "#full_name" not in hrefs, hrefs
    for href in hrefs:  # every link names a field on the page
        expect(tab.locator(href)).to_have_attribute("aria-invalid", "true")


@pytest.mark.parametrize("width", [1024, 1366, 1920])
def test_menus_never_wrap_and_the_admin_heading_stays_put(live_server, browser, demo, width):
    """From 1024 to 1920 px wide, each role's menu is one row and the admin console's tabs one
    column: the page heading is at the same height on every admin tab."""
    context = browser.new_context(viewport={"width": width, "height": 700})
    tab = context.new_page()
    try:
        for username in ROLES:
            log_in(tab, live_server, username)
            tops = tab.eval_on_selector_all(".top nav li", "lis => lis.map(li => li.offsetTop)")
            assert len(set(tops)) == 1, (username, tops)
            brand, user = (tab.eval_on_selector(f".top {part}", "e => e.getBoundingClientRect()")
                           for part in (".brand", ".user"))
            assert user["top"] < brand["top"] + brand["height"], username  # one row
            tab.context.clear_cookies()
        log_in(tab, live_server, "admin")
        heights = set()
        for link in tab.locator("nav.tabs a").all():
            tab.goto(live_server + link.get_attribute("href"))
            heights.add(tab.eval_on_selector("main h1", "h => Math.round(h.getBoundingClientRect().top)"))
        assert len(heights) == 1, heights
    finally:
        context.close()


def test_the_readme_tour_script_photographs_each_role(live_server, demo, tmp_path):
    """scripts/screenshots.py, as the README runs it, against the demo: every shot it names is
    a PNG of the window's size."""
    import struct
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[2] / "scripts" / "screenshots.py"
    run = subprocess.run([sys.executable, str(script), "--url", live_server, "--out",
                          str(tmp_path), "--width", "1024", "--height", "640"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    shots = sorted(p.name for p in tmp_path.glob("*.png"))
    assert shots == sorted(Path(line).name for line in run.stdout.split()), run.stdout
    assert {"patient-home.png", "doctor-today.png", "desk-booking.png",
            "admin-dashboard.png"} <= set(shots)
    for shot in tmp_path.glob("*.png"):
        head = shot.read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", head[16:24]) == (1024, 640)


FOCUSED = """() => { const e = document.activeElement, r = e.getBoundingClientRect();
  return {top: r.top + window.scrollY, left: r.left, width: r.width, height: r.height,
          name: e.outerHTML.slice(0, 70), body: e === document.body}; }"""


def tab_order_faults(tab, stops: int = 60) -> list[str]:
    """Tab from the top of the page: the focus must move as the page is read, left to right
    along a line, then down to the next line (rows of a table, boxes of a form), and only ever
    to something visible. A line is what starts within 20 px of the same height (a row's
    buttons sit a little above its links)."""
    tab.evaluate("() => { document.activeElement && document.activeElement.blur(); "
                 "window.scrollTo(0, 0); }")
    faults, last = [], None
    for _ in range(stops):
        tab.keyboard.press("Tab")
        here = tab.evaluate(FOCUSED)
        if here["body"]:
            break  # past the last stop
        if not (here["width"] and here["height"]):
            faults.append(f"invisible: {here['name']}")
        if last is not None and (here["top"], here["left"]) != (last["top"], last["left"]):
            # (the same box again: a date's day, month and year parts)
            same_line = abs(here["top"] - last["top"]) <= 20
            if not (here["top"] > last["top"] + 20 or (same_line and here["left"] > last["left"])):
                faults.append(f"{last['name']} -> {here['name']}")
        last = here
    return faults


def test_the_keyboard_order_follows_the_page_on_the_main_journeys(live_server, js_page, demo):
    """No positive tabindex anywhere, and Tab walks each journey's pages in reading order: the
    header's rows, then the page, line by line."""
    tab, found = js_page, {}

    def check(name: str) -> None:
        assert tab.locator("[tabindex]:not([tabindex='-1']):not([tabindex='0'])").count() == 0
        found[name] = tab_order_faults(tab)

    log_in(tab, live_server, "anna")
    check("patient home")
    tab.get_by_role("link", name="Find a doctor").click()
    tab.locator("#doctor-list a[href^='/doctors/']").first.click()
    expect(tab.locator("#slot-picker")).to_be_visible()
    check("doctor's page")

    tab.context.clear_cookies()
    log_in(tab, live_server, "dr.grey")
    check("doctor's day")
    tab.get_by_role("link", name="Record treatment").first.click()
    expect(tab.get_by_label("Diagnosis")).to_be_visible()
    check("treatment form")

    tab.context.clear_cookies()
    log_in(tab, live_server, "desk")
    check("front desk")
    tab.get_by_label("Patient: name, phone or number").fill("Anna")
    tab.get_by_role("link", name="Anna Schmidt").click()
    tab.get_by_label("or the doctor").select_option(label="Dr Meredith Grey (General Medicine)")
    tab.get_by_role("button", name="Show free times").last.click()
    expect(tab.locator("#slot-picker")).to_be_visible()
    check("desk booking")
    assert {name: faults for name, faults in found.items() if faults} == {}

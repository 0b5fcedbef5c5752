"""A new patient registers, logs out, logs in again and lands on their page: with JS and without."""

from __future__ import annotations

from browser.pagemarks import mark_page, still_marked
from playwright.sync_api import expect

from hms.models import Patient, User


def test_register_log_in_and_land_on_the_patient_page(live_server, page):
    page.goto(f"{live_server}/register")
    if page.js_enabled:
        mark_page(page)

    # A first try with a mistake: the message appears beside the field, what was typed stays.
    page.get_by_label("Full name").fill("Rosa Diaz")
    page.get_by_label("Gender").select_option("female")
    page.get_by_label("Date of birth").fill("1988-07-15")
    page.get_by_label("Phone").fill("+44 20 7946 0555")
    page.get_by_label("Username").fill("rosa")
    page.get_by_label("Email").fill("rosa@example.org")
    page.get_by_label("Password", exact=True).fill("brooklyn-99")
    page.get_by_label("Repeat password").fill("brooklyn-98")
    page.get_by_role("button", name="Create my account").click()
    expect(page.locator("#confirm-error")).to_have_text("The passwords do not match.")
    expect(page.get_by_label("Full name")).to_have_value("Rosa Diaz")
    assert not User.select().where(User.username == "rosa").exists()

    page.get_by_label("Password", exact=True).fill("brooklyn-99")
    page.get_by_label("Repeat password").fill("brooklyn-99")
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", name="Hello, Rosa Diaz")).to_be_visible()
    assert page.url == f"{live_server}/me/"
    assert Patient.get(Patient.full_name == "Rosa Diaz").user.email == "rosa@example.org"

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You have been logged out.")).to_be_visible()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()

    page.get_by_label("Username").fill("rosa")
    page.get_by_label("Password").fill("brooklyn-99")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Hello, Rosa Diaz")).to_be_visible()
    expect(page.get_by_text("You have no upcoming appointments.")).to_be_visible()
    assert page.url == f"{live_server}/me/"
    if page.js_enabled:
        # Every step, the 422 included, was an htmx swap: the page was never reloaded.
        assert still_marked(page)


def test_boosted_link_swaps_the_body_and_updates_the_address(live_server, js_page):
    js_page.goto(f"{live_server}/login")
    mark_page(js_page)
    js_page.get_by_role("link", name="Register").first.click()
    expect(js_page.get_by_role("heading", name="Create your patient account")).to_be_visible()
    assert js_page.url == f"{live_server}/register"
    assert still_marked(js_page)
    js_page.go_back()
    expect(js_page.get_by_role("heading", name="Log in")).to_be_visible()
    js_page.reload()
    assert not still_marked(js_page)  # the marker does tell a full load apart

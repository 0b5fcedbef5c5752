"""A new patient registers, logs out, logs in again and lands on their page: with JS and without."""

from __future__ import annotations

from browser.pagemarks import mark_page, still_marked
from playwright.sync_api import expect

from hms.models import Patient, User
from support import PASSWORD, mailed_path


def test_register_confirm_by_mail_log_in_and_land_on_the_patient_page(
        live_server, page, worker_app, inbox):
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
    page.get_by_label("Password", exact=True).fill("brooklyn-nine-9")
    page.get_by_label("Repeat password").fill("brooklyn-nine-8")
    page.get_by_role("button", name="Create my account").click()
    expect(page.locator("#confirm-error")).to_have_text("The passwords do not match.")
    expect(page.get_by_label("Full name")).to_have_value("Rosa Diaz")
    assert not User.select().where(User.username == "rosa").exists()

    page.get_by_label("Password", exact=True).fill("brooklyn-nine-9")
    page.get_by_label("Repeat password").fill("brooklyn-nine-9")
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    if page.js_enabled:
        # Every step, the 422 included, was an htmx swap: the page was never reloaded.
        assert still_marked(page)
    assert Patient.get(Patient.full_name == "Rosa Diaz").user.email == "rosa@example.org"

    # The link in the e-mail the test SMTP server received finishes it.
    [mail] = inbox.messages
    page.goto(live_server + mailed_path(mail))
    page.get_by_role("button", name="Confirm and log in").click()
    expect(page.get_by_role("heading", name="Hello, Rosa Diaz")).to_be_visible()
    assert page.url == f"{live_server}/me/"

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You have been logged out.")).to_be_visible()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()

    page.get_by_label("Username").fill("rosa")
    page.get_by_label("Password").fill("brooklyn-nine-9")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Hello, Rosa Diaz")).to_be_visible()
    expect(page.get_by_text("You have no upcoming appointments.")).to_be_visible()
    assert page.url == f"{live_server}/me/"


def test_forgot_password_by_mail_ends_the_old_sessions(live_server, page, browser, worker_app,
                                                        inbox):
    # Logged in elsewhere, on another terminal.
    other = browser.new_context()
    old = other.new_page()
    old.goto(f"{live_server}/login")
    old.get_by_label("Username").fill("pat.one")
    old.get_by_label("Password").fill(PASSWORD)
    old.get_by_role("button", name="Log in").click()
    expect(old.get_by_role("heading", name="Hello, Pat One")).to_be_visible()

    page.goto(f"{live_server}/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill("pat1@test.example")
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    [mail] = inbox.messages
    assert mail["Subject"] == "Reset your password"

    page.goto(live_server + mailed_path(mail))
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("Repeat the new password").fill("short")
    page.get_by_role("button", name="Set my password").click()
    expect(page.locator("#password-error")).to_contain_text("at least 10 characters")
    page.get_by_label("New password", exact=True).fill("lighthouse-keeper-9")
    page.get_by_label("Repeat the new password").fill("lighthouse-keeper-9")
    page.get_by_role("button", name="Set my password").click()
    expect(page.get_by_text("Your password is set.")).to_be_visible()
    expect(page.get_by_role("heading", name="Hello, Pat One")).to_be_visible()

    old.reload()  # the session from before the reset is gone
    expect(old.get_by_role("heading", name="Log in")).to_be_visible()
    other.close()


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

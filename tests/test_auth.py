"""Accounts: registration, log in, log out, landing pages, deactivation, CSRF and cookies."""

from __future__ import annotations

import re

import pytest

from hms.db import db
from hms.models import Patient, User
from support import PASSWORD, AuthActions, csrf_token, mailed_path

GOOD = {
    "full_name": "Nora New", "gender": "female", "dob": "1990-03-04",
    "phone": "+44 20 7946 0999", "address": "3 Elm Row", "username": "nora",
    "email": "Nora@Example.org", "password": "long-enough-1", "confirm": "long-enough-1",
}


def register(client, **changes):
    page = client.get("/register")
    return client.post("/register", data={"csrf_token": csrf_token(page.text), **GOOD, **changes})


def test_register_creates_the_profile_and_the_mailed_link_finishes_it(client, app, worker_app,
                                                                      inbox):
    response = register(client)
    assert response.status_code == 200
    assert "Check your e-mail" in response.text and "nora@example.org" in response.text
    with app.app_context(), db.connection_context():
        user = User.get(User.username == "nora")
        assert user.role == "patient" and user.email == "nora@example.org"
        assert user.password_hash is None  # nobody logs in before the address is confirmed
        assert Patient.get(Patient.user == user).phone == "+44 20 7946 0999"
    [message] = inbox.messages
    assert message["To"] == "nora@example.org"
    path = mailed_path(message)
    page = client.get(path)  # opening the link (a mail scanner might) changes nothing
    assert "Confirm and log in" in page.text
    with app.app_context(), db.connection_context():
        assert User.get(User.username == "nora").password_hash is None
    response = client.post(path, data={"csrf_token": csrf_token(page.text)})
    assert response.status_code == 303 and response.headers["Location"] == "/me/"
    assert "Hello, Nora New" in client.get("/me/").text
    with app.app_context(), db.connection_context():
        assert User.get(User.username == "nora").password_hash.startswith("scrypt:")
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/me/").text)})
    assert client.get(path).status_code == 404  # used once
    assert AuthActions(client).login("nora", GOOD["password"]).status_code == 303


def test_registering_a_known_address_answers_the_same_and_tells_its_owner(
        client, app, worker_app, inbox):
    before = _count_users(app)
    response = register(client, email="PAT1@test.example")
    assert response.status_code == 200
    assert "Check your e-mail" in response.text and "already exists" not in response.text
    fresh = register(client, email="someone.new@example.org", username="nora2")
    assert _strip_address(response.text) == _strip_address(fresh.text)
    assert _count_users(app) == before + 2  # only the new address made an account
    owner_mail = next(m for m in inbox.messages if m["To"] == "pat1@test.example")
    assert "tried to register" in owner_mail["Subject"]
    assert "pat.one" in owner_mail.get_body(("plain",)).get_content()


def _strip_address(html: str) -> str:
    return re.sub(r"<strong>[^<]*</strong>", "", html.split('<main id="main"')[1])


@pytest.mark.parametrize("changes, field, message", [
    ({"full_name": "   "}, "full_name", "Enter the full name."),
    ({"username": "pat.one"}, "username", "That username is taken"),
    ({"username": "no spaces"}, "username", "Use letters, digits"),
    ({"email": "not-an-email"}, "email", "Enter an email address"),
    ({"password": "short", "confirm": "short"}, "password", "at least 10 characters"),
    ({"confirm": "different-1"}, "confirm", "do not match"),
    ({"dob": "2999-01-01"}, "dob", "must be in the past"),
    ({"dob": "yesterday"}, "dob", "Not a valid date value."),
    ({"gender": "robot"}, "gender", "Not a valid choice."),
    ({"phone": "call me"}, "phone", "Enter a phone number"),
])
def test_register_refuses_bad_input_beside_the_field_and_saves_nothing(
        client, app, changes, field, message):
    before = _count_users(app)
    response = register(client, **changes)
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.text
    error = response.text.split(f'id="{field}-error">')[1].split("</p>")[0]
    assert message in error.replace("&#39;", "'")
    assert _count_users(app) == before
    # What was typed is kept (except passwords).
    if field != "full_name":
        assert 'value="Nora New"' in response.text


def _count_users(app) -> int:
    with app.app_context(), db.connection_context():
        return User.select().count() + Patient.select().count()


@pytest.mark.parametrize("username, landing, text", [
    ("admin", "/admin/", "Hospital dashboard"),
    ("dr.one", "/doctor/", "Today's appointments"),
    ("pat.one", "/me/", "Hello, Pat One"),
    ("desk", "/desk/", "Front desk"),
])
def test_each_role_lands_on_its_own_page(client, auth, username, landing, text):
    response = auth.login(username)
    assert response.status_code == 303 and response.headers["Location"] == landing
    assert text in client.get(landing).text
    assert client.get("/").headers["Location"] == landing


def test_login_failure_does_not_say_whether_the_username_exists(auth):
    unknown = auth.login("nobody-here", "whatever-123")
    wrong = auth.login("pat.one", "wrong-password")
    assert unknown.status_code == wrong.status_code == 422
    assert "Wrong username or password." in unknown.text
    assert "Wrong username or password." in wrong.text
    assert "nobody-here" not in unknown.text.split("<form")[0]


def test_login_form_asks_for_missing_fields(auth):
    response = auth.login("", "")
    assert response.status_code == 422
    assert "Enter your username." in response.text and "Enter your password." in response.text


def test_login_only_follows_local_next_links(client, auth):
    page = client.get("/login?next=https://evil.example/")
    response = client.post("/login?next=https://evil.example/", data={
        "csrf_token": csrf_token(page.text), "username": "pat.one", "password": PASSWORD})
    assert response.headers["Location"] == "/me/"


@pytest.mark.parametrize("target", [
    "//other-host/x", "///other-host/x", "////other-host/x", "/\\other-host/x",
    "\\\\other-host/x", "/\t/other-host/x", "/\n/other-host/x", "/\r/other-host/x",
    "\t//other-host/x", "/%2F/other-host/x", "/%2f%2fother-host/x", "/%5Cother-host/x",
    "/%09/other-host/x", "/%0A/other-host/x", "/%252F/other-host/x", "%2F%2Fother-host/x",
    "https://other-host/x", "javascript:alert(1)", "me/", "",
])
def test_login_never_sends_anyone_to_another_host(client, target):
    page = client.get("/login")
    response = client.post("/login", query_string={"next": target}, data={
        "csrf_token": csrf_token(page.text), "username": "pat.one", "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"] == "/me/"


def test_login_refuses_the_four_slashes_as_typed_in_the_address(client):
    page = client.get("/login")
    response = client.post("/login?next=////other-host/x", data={
        "csrf_token": csrf_token(page.text), "username": "pat.one", "password": PASSWORD})
    assert response.headers["Location"] == "/me/"


@pytest.mark.parametrize("target", ["/me/profile", "/doctors/?q=a%20b&page=2", "/me/#top"])
def test_login_returns_to_a_plain_local_path(client, target):
    page = client.get("/login")
    response = client.post("/login", query_string={"next": target}, data={
        "csrf_token": csrf_token(page.text), "username": "pat.one", "password": PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] == target


def test_a_protected_page_sends_visitors_to_login_and_back(client):
    response = client.get("/me/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_deactivated_user_is_refused_at_login(auth, app, people):
    user = people.user("pat.one")
    user.is_active = False
    user.save()
    response = auth.login("pat.one")
    assert response.status_code == 422
    assert "deactivated" in response.text


def test_deactivated_user_is_logged_out_on_next_request(client, auth, people):
    auth.login("pat.one")
    assert client.get("/me/").status_code == 200
    User.update(is_active=False).where(User.username == "pat.one").execute()
    response = client.get("/me/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_logout_is_a_post_and_ends_the_session(client, auth):
    auth.login("pat.one")
    assert client.get("/logout").status_code == 405
    response = auth.logout()
    assert response.status_code == 303
    assert client.get("/me/").status_code == 302


def test_post_without_csrf_token_is_refused(client, app):
    response = client.post("/register", data=GOOD)
    assert response.status_code == 400
    assert "expired" in response.text
    assert _count_users(app) == 8  # the six personas' logins and two patient profiles


def test_htmx_post_may_send_the_csrf_token_as_a_header(client, auth):
    auth.login("pat.one")
    page = client.get("/me/")
    token = page.text.split('"X-CSRFToken": "')[1].split('"')[0]
    response = client.post("/logout", headers={"X-CSRFToken": token, "HX-Request": "true",
                                               "HX-Boosted": "true"})
    # Accepted, and answered in this one response with the next page and its address.
    assert response.status_code == 200 and response.headers["HX-Push-Url"] == "/login"
    assert "You have been logged out." in response.text
    assert client.get("/me/").status_code == 302  # the session is gone


def test_session_cookie_is_httponly_and_samesite(auth):
    response = auth.login("pat.one")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie

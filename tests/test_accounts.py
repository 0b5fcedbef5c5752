"""Accounts a hospital can trust: sessions that end, the password policy, resets, changes,
invitations and throttling (issue 14)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from hms.clock import clinic_time
from hms.db import db
from hms.models import AccountMail, AccountToken, Patient, User, UserSession
from support import (PASSWORD, AuthActions, csrf_token, free_port, mailed_path, make_app,
                     run_queued, statements)

MINUTE = dt.timedelta(minutes=1)


def cookie(client) -> str:
    return client.get_cookie("session").value


def with_cookie(app, value: str):
    other = app.test_client()
    other.set_cookie("session", value)
    return other


# --- sessions ---------------------------------------------------------------------------------

def test_a_cookie_copied_before_logout_no_longer_opens_any_page(app, client, auth):
    auth.login("pat.one")
    copied = cookie(client)
    assert with_cookie(app, copied).get("/me/profile").status_code == 200
    auth.logout()
    replay = with_cookie(app, copied).get("/me/profile")
    assert replay.status_code == 302 and replay.headers["Location"].startswith("/login")
    with db.connection_context():
        assert UserSession.select().where(UserSession.ended_at.is_null()).count() == 0


@pytest.mark.parametrize("username, landing, idle", [
    ("desk", "/desk/", 15), ("admin", "/admin/", 15), ("pat.one", "/me/", 60)])
def test_a_session_ends_after_its_roles_idle_time(client, auth, frozen_clock, username, landing,
                                                   idle):
    auth.login(username)
    start = dt.datetime.now(dt.UTC)
    frozen_clock.move_to(start + (idle - 1) * MINUTE)
    assert client.get(landing).status_code == 200  # still there, and seen again now
    frozen_clock.move_to(start + (2 * idle - 2) * MINUTE)
    assert client.get(landing).status_code == 200
    frozen_clock.move_to(start + (3 * idle) * MINUTE)
    gone = client.get(landing)
    assert gone.status_code == 302 and gone.headers["Location"].startswith("/login")
    assert "without activity" in client.get(gone.headers["Location"]).text


def test_a_session_ends_at_its_lifetime_however_busy(app, client, auth, frozen_clock):
    auth.login("dr.one")
    start = dt.datetime.now(dt.UTC)
    for minutes in range(10, 12 * 60, 10):  # active every ten minutes for a shift
        frozen_clock.move_to(start + minutes * MINUTE)
        assert client.get("/doctor/").status_code == 200
    frozen_clock.move_to(start + 12 * 60 * MINUTE + MINUTE)
    assert client.get("/doctor/").status_code == 302


def test_the_csrf_secret_of_the_anonymous_session_dies_at_login(client, auth):
    before = csrf_token(client.get("/login").text)
    auth.login("pat.one")
    after = csrf_token(client.get("/me/").text)
    assert after != before
    refused = client.post("/logout", data={"csrf_token": before})
    assert refused.status_code == 400
    assert client.get("/me/").status_code == 200  # still logged in
    assert client.post("/logout", data={"csrf_token": after}).status_code == 303


def test_flash_messages_naming_people_stay_out_of_the_cookie(app, client, auth):
    response = auth.login("pat.one")
    raw = cookie(client)
    data = app.session_interface.get_signing_serializer(app).loads(raw)
    assert "_flashes" not in data and "Pat One" not in repr(data)
    assert "Pat One" not in response.headers.get("Set-Cookie", "")
    with statements() as shown:
        assert "Welcome, Pat One." in client.get("/me/").text
    # Showing it wrote nothing: a read never waits for SQLite's write lock for a message.
    assert not [sql for sql in shown if sql.startswith(("UPDATE", "INSERT", "DELETE"))]
    assert "Welcome, Pat One." not in client.get("/me/").text  # shown once
    assert "Pat One" not in repr(app.session_interface.get_signing_serializer(app).loads(
        cookie(client)))  # the cookie holds the number of the last one shown, no more
    auth.logout()
    auth.login("pat.one")  # a second message, in a new session row, is shown once too
    assert client.get("/me/").text.count("Welcome, Pat One.") == 1
    assert "Welcome, Pat One." not in client.get("/me/").text


# --- the password policy ---------------------------------------------------------------------

@pytest.mark.parametrize("password, message", [
    ("short-1", "at least 10 characters"),
    ("1234567890", "most common passwords"),
    ("qwertyuiop", "most common passwords"),
    ("iloveyou2024!", "most common passwords"),
    ("ababababababab", "more than one or two different characters"),
    ("my-pat.one-password", "username"),
    ("x" * 9_990 + "y-z-w-v-u-", "at most 128 characters"),
])
def test_the_policy_refuses_weak_passwords_and_says_why(client, auth, password, message):
    auth.login("pat.one")
    response = change(client, PASSWORD, password)
    assert response.status_code == 422
    assert message in error_of(response, "password")
    assert auth.logout().status_code == 303
    assert auth.login("pat.one").status_code == 303  # the old password still works


def test_the_policy_accepts_a_long_passphrase(client, auth):
    auth.login("pat.one")
    phrase = "tide pools glitter under a violet sky at dawn, said the fisherman " * 1
    assert 64 <= len(phrase) <= 128
    assert change(client, PASSWORD, phrase.strip()).status_code == 303


def change(client, current: str, new: str, confirm: str | None = None):
    page = client.get("/account/password/change")
    return client.post("/account/password/change", data={
        "csrf_token": csrf_token(page.text), "current": current, "password": new,
        "confirm": new if confirm is None else confirm})


def error_of(response, field: str) -> str:
    match = re.search(rf'id="{field}-error">(.*?)</p>', response.text, re.S)
    assert match, f"no message beside {field}"
    return match.group(1).replace("&#39;", "'")


# --- changing a password ---------------------------------------------------------------------

def test_changing_the_password_logs_out_every_other_session(app, client, auth):
    other = app.test_client()
    AuthActions(other).login("dr.one")
    auth.login("dr.one")
    wrong = change(client, "not-my-password", "sea-shanty-evenings")
    assert wrong.status_code == 422 and "not your current password" in error_of(wrong, "current")
    response = change(client, PASSWORD, "sea-shanty-evenings")
    assert response.status_code == 303
    assert "1 other session logged out" in client.get(response.headers["Location"]).text
    assert client.get("/doctor/").status_code == 200  # this one stays
    assert other.get("/doctor/").status_code == 302  # the other is gone
    auth.logout()
    assert auth.login("dr.one").status_code == 422
    assert auth.login("dr.one", "sea-shanty-evenings").status_code == 303


# --- forgot password -------------------------------------------------------------------------

def forgot(client, email: str):
    page = client.get("/account/forgot")
    return client.post("/account/forgot", data={"csrf_token": csrf_token(page.text),
                                                  "email": email})


def set_password(client, path: str, password: str):
    page = client.get(path)
    return client.post(path, data={"csrf_token": csrf_token(page.text), "password": password,
                                   "confirm": password})


def test_forgot_password_by_mail_ends_old_sessions_and_works_once(app, client, auth,
                                                                   worker_app, inbox):
    elsewhere = app.test_client()
    AuthActions(elsewhere).login("pat.one")
    known = forgot(client, "PAT1@test.example")
    unknown = forgot(client, "nobody@test.example")
    assert known.status_code == unknown.status_code == 200
    assert "If an account has the address" in known.text
    assert known.text.replace("pat1@test.example", "X") == unknown.text.replace(
        "nobody@test.example", "X")
    [mail] = inbox.messages  # and nothing went to the unknown address
    assert mail["To"] == "pat1@test.example" and mail["Subject"] == "Reset your password"
    path = mailed_path(mail)
    assert "pat.one" in client.get(path).text
    response = set_password(client, path, "lighthouse-keeper-9")
    assert response.status_code == 303 and response.headers["Location"] == "/me/"
    assert "Your password is set." in client.get("/me/").text
    assert elsewhere.get("/me/").status_code == 302  # the old session is gone
    auth.logout()
    assert client.get(path).status_code == 404  # used once
    assert auth.login("pat.one").status_code == 422
    assert auth.login("pat.one", "lighthouse-keeper-9").status_code == 303


def test_a_reset_link_expires_after_thirty_minutes(client, worker_app, inbox, frozen_clock):
    forgot(client, "pat1@test.example")
    path = mailed_path(inbox.messages[0])
    start = dt.datetime.now(dt.UTC)
    with worker_app.app_context():  # the mail says when, in clinic time with its zone
        until = clinic_time(start + 30 * MINUTE, "%-d %B at %H:%M")
    assert f"until {until}" in inbox.messages[0].get_body(("plain",)).get_content()
    frozen_clock.move_to(start + 29 * MINUTE)
    assert client.get(path).status_code == 200
    frozen_clock.move_to(start + 31 * MINUTE)
    late = client.get(path)
    assert late.status_code == 404 and "does not work any more" in late.text
    token = csrf_token(client.get("/account/forgot").text)
    assert client.post(path, data={"csrf_token": token, "password": "lighthouse-keeper-9",
                                   "confirm": "lighthouse-keeper-9"}).status_code == 404


def test_a_forged_link_and_an_older_link_do_not_work(client, worker_app, inbox):
    forgot(client, "pat1@test.example")
    forgot(client, "pat1@test.example")
    first, second = (mailed_path(m) for m in inbox.messages)
    assert client.get(first).status_code == 404  # replaced by the second
    token = second.rsplit("/", 1)[1]
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert client.get(f"/account/password/{forged}").status_code == 404
    other_row = str(int(token.split("-")[0]) + 1) + "-" + token.split("-")[1]
    assert client.get(f"/account/password/{other_row}").status_code == 404
    assert client.get(second).status_code == 200


def test_a_reset_mail_is_recorded_before_it_is_queued_and_the_sweep_sends_it(
        app, client, queue, inbox):
    forgot(client, "pat1@test.example")
    with app.app_context(), db.connection_context():
        [row] = AccountMail.select()
        assert row.kind == "reset" and row.status == "queued"
    queue.flush()  # the queue lost its message (an empty Redis)
    assert not inbox.messages
    import tasks

    with app.app_context(), db.connection_context():
        counts = tasks.sweep()
        assert counts["accounts"] == 0  # handed out less than REQUEUE ago: not yet
        later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + 3 * MINUTE
        from hms import work

        counts = work.sweep(later, tasks.send_reminder, tasks.send_monthly_report,
                            tasks.export_history, tasks.send_account_mail)
        assert counts["accounts"] == 1
    run_queued(queue)
    run_queued(queue)  # a second message for the same mail sends nothing more
    assert len(inbox.messages) == 1
    with app.app_context(), db.connection_context():
        assert AccountMail.get().status == "sent"


# --- invitations ----------------------------------------------------------------------------

def test_the_desk_prints_a_code_for_a_walk_in_who_then_chooses_a_password(
        app, client, auth, people):
    auth.login("desk")
    page = client.get("/desk/")
    walk_in = client.post("/desk/walk-in", data={
        "csrf_token": csrf_token(page.text), "full_name": "Wanda Walk", "gender": "female",
        "dob": "1970-01-02", "phone": "+44 1000 000777"}, follow_redirects=True)
    assert "Print a password code" in walk_in.text
    user = User.select().join(Patient).where(Patient.full_name == "Wanda Walk").get()
    slip = client.post(f"/account/invite/{user.id}", data={"csrf_token": csrf_token(walk_in.text)})
    assert slip.status_code == 201 and user.username in slip.text
    code = re.search(r'<p class="code"><strong>([^<]+)</strong>', slip.text).group(1)
    auth.logout()
    page = client.get("/account/password")
    wrong = client.post("/account/password", data={
        "csrf_token": csrf_token(page.text), "code": code[:-1] + ("2" if code[-1] != "2" else "3"),
        "password": "x",
        "confirm": "x"})
    assert wrong.status_code == 422 and "not right" in error_of(wrong, "code")
    response = client.post("/account/password", data={
        "csrf_token": csrf_token(page.text), "code": code, "password": "garden-gnome-party",
        "confirm": "garden-gnome-party"})
    assert response.status_code == 303 and response.headers["Location"] == "/me/"
    auth.logout()
    assert auth.login(user.username, "garden-gnome-party").status_code == 303


@pytest.mark.parametrize("who, target, status", [
    ("desk", "dr.two", 403), ("desk", "admin", 403), ("dr.one", "pat.one", 403),
    ("pat.one", "pat.two", 403), ("admin", "nobody", 404)])
def test_only_the_desk_and_admins_invite_and_the_desk_only_patients(
        client, auth, people, who, target, status):
    auth.login(who)
    user_id = people.user(target).id if target != "nobody" else 999_999
    page = client.get("/", follow_redirects=True)
    response = client.post(f"/account/invite/{user_id}", data={"csrf_token": csrf_token(page.text)})
    assert response.status_code == status
    with db.connection_context():
        assert not AccountToken.select().exists()


# --- throttling --------------------------------------------------------------------------------

def test_failed_logins_are_throttled_per_account_even_for_the_right_password(client, auth):
    for _ in range(10):
        assert auth.login("pat.one", "wrong-password").status_code == 422
    refused = auth.login("pat.one")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "too many attempts" in refused.text.lower() and "minute" in refused.text
    assert auth.login("pat.two").status_code == 303  # another account is not locked out


def test_failed_logins_are_throttled_per_address(app, client, auth):
    app.config["LIMIT_LOGIN_ADDRESS"] = "5 per 15 minutes"
    for n in range(5):
        assert auth.login(f"guess{n}", "wrong-password").status_code == 422
    assert auth.login("pat.two").status_code == 429


def test_reset_requests_and_registrations_are_throttled(app, client):
    for _ in range(3):
        assert forgot(client, "pat1@test.example").status_code == 200
    refused = forgot(client, "pat1@test.example")
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    app.config["LIMIT_REGISTER_ADDRESS"] = "2 per hour"
    from test_auth import register

    assert register(client, username="reg1", email="reg1@example.org").status_code == 200
    assert register(client, username="reg2", email="reg2@example.org").status_code == 200
    assert register(client, username="reg3", email="reg3@example.org").status_code == 429


def test_throttling_holds_when_redis_is_down(tmp_path, database):
    app = make_app(tmp_path, f"redis://127.0.0.1:{free_port()}/0", DATABASE=database)
    client = app.test_client()
    auth = AuthActions(client)
    for _ in range(10):
        assert auth.login("pat.one", "wrong-password").status_code == 422
    assert auth.login("pat.one").status_code == 429
    assert auth.login("pat.two").status_code == 303

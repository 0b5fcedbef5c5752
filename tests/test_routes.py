"""Every route, checked at once: nothing but the public pages is open to a visitor, and each
role is kept out of the other roles' areas, whatever id is asked for. Every answer any of these
tests gets carries the security headers, and no page has inline script or style."""

from __future__ import annotations

import re

import pytest

from support import assert_security_headers, csrf_token

# The doors into an account: logging in, registering, a forgotten password, a code or link.
PUBLIC = {"static", "auth.login", "auth.register", "auth.forgot", "auth.set_password",
          "home.index", "home.health",
          # Signed links from e-mail (a reminder's reply, a waitlist offer): opened without a
          # login, a wrong signature is 404 (tests/test_replies.py, tests/test_waitlist.py).
          "replies.reply", "waiting.offer_link", "waiting.answer"}
# URL prefixes each role must never enter (403 before any record is loaded).
FORBIDDEN = {
    "pat.one": ("/admin", "/desk", "/availability", "/patients", "/doctor/", "/recalls"),
    "dr.one": ("/admin", "/desk", "/me/", "/doctors", "/waitlist/join"),
    "desk": ("/admin", "/availability", "/patients", "/doctor/", "/me/", "/recalls"),
}


# Route arguments that take one of some words (<any(...)>), and a word each takes.
WORDS = {"change": "deactivate", "action": "confirm", "answer": "claim"}
# What a strict Content-Security-Policy would block: inline script, inline style, handlers.
INLINE_CODE = re.compile(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=|javascript:|hx-on",
                         re.IGNORECASE)


@pytest.fixture
def client(client, monkeypatch):
    """The test client, checking the security headers of every answer it gets."""
    open_ = client.open

    def checked(*args, **kwargs):
        response = open_(*args, **kwargs)
        assert_security_headers(response)
        return response

    monkeypatch.setattr(client, "open", checked)
    return client


def routes(app, method: str, public: bool = False) -> list[tuple[str, str]]:
    """(endpoint, URL) for every rule answering this method, with 1 for ids (and, if asked,
    the public pages too)."""
    found = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if (rule.endpoint in PUBLIC and not public) or method not in rule.methods:
                continue
            values = {arg: WORDS.get(arg, 1) for arg in rule.arguments}
            found.append((rule.endpoint, url_for(rule.endpoint, **values)))
    return found


def test_every_page_asks_a_visitor_to_log_in(app, client):
    pages = routes(app, "GET")
    assert len(pages) > 50
    for endpoint, url in pages:
        response = client.get(url)
        assert response.status_code == 302, (endpoint, url, response.status_code)
        assert response.headers["Location"].startswith("/login"), endpoint


def test_every_action_asks_a_visitor_to_log_in(app, client):
    token = csrf_token(client.get("/login").text)
    actions = routes(app, "POST")
    assert len(actions) > 20
    for endpoint, url in [(e, u) for e, u in actions if e not in ("auth.logout",)]:
        response = client.post(url, data={"csrf_token": token})
        assert response.status_code == 302, (endpoint, url, response.status_code)


def test_every_action_needs_the_csrf_token(app, client, auth):
    auth.login("admin")
    for endpoint, url in routes(app, "POST"):
        response = client.post(url, data={})
        assert response.status_code == 400, (endpoint, url, response.status_code)


@pytest.mark.parametrize("username", FORBIDDEN)
def test_each_role_is_kept_out_of_other_roles_areas(app, client, auth, username):
    auth.login(username)
    token = csrf_token(client.get("/", follow_redirects=True).text)
    checked = 0
    for method in ("GET", "POST"):
        for _endpoint, url in routes(app, method):
            if not url.startswith(FORBIDDEN[username]):
                continue
            response = client.get(url) if method == "GET" else \
                client.post(url, data={"csrf_token": token})
            assert response.status_code == 403, (username, method, url, response.status_code)
            checked += 1
    assert checked > 5


@pytest.mark.parametrize("username", ["admin", "dr.one", "pat.one", "desk"])
def test_every_page_of_each_role_is_headed_and_has_no_inline_code(app, client, auth, username):
    auth.login(username)
    statuses = set()
    pages = 0
    for endpoint, url in routes(app, "GET", public=True):
        response = client.get(url)  # the client checks its headers
        statuses.add(response.status_code)
        if response.status_code == 200 and response.mimetype == "text/html":
            pages += 1
            assert not INLINE_CODE.search(response.text), (url, INLINE_CODE.search(response.text))
    # Pages, downloads, redirects, refusals and pages not found alike.
    assert {200, 302, 403, 404} <= statuses, statuses
    assert pages > 5

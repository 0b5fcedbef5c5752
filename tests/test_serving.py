"""Serving behind reverse proxies and over HTTPS: forwarded headers are believed only from the
declared number of proxies, and a declared HTTPS site sends Secure cookies and HSTS."""

from __future__ import annotations

import pytest
from flask import request

from support import PASSWORD, assert_security_headers, csrf_token, make_app

FORWARDED = {"X-Forwarded-For": "198.51.100.7, 203.0.113.9", "X-Forwarded-Proto": "https",
             "X-Forwarded-Host": "hms.example.org"}


@pytest.fixture
def serve(tmp_path, redis_url, database):
    """An app with the given settings, and a route that says what it saw of the request."""
    def make(**config):
        app = make_app(tmp_path, redis_url, DATABASE=database, **config)

        @app.get("/test-seen")
        def seen():
            return {"address": request.remote_addr, "scheme": request.scheme,
                    "host": request.host}

        return app
    return make


def test_forwarded_headers_are_ignored_unless_proxies_are_declared(serve):
    seen = serve().test_client().get("/test-seen", headers=FORWARDED).json
    assert seen == {"address": "127.0.0.1", "scheme": "http", "host": "localhost"}


def test_one_declared_proxy_is_believed_for_its_own_hop_only(serve):
    seen = serve(PROXIES=1).test_client().get("/test-seen", headers=FORWARDED).json
    # The address the proxy added last; the one before it could be anyone's claim.
    assert seen == {"address": "203.0.113.9", "scheme": "https", "host": "hms.example.org"}


def test_two_declared_proxies_are_believed_for_two_hops(serve):
    seen = serve(PROXIES=2).test_client().get("/test-seen", headers=FORWARDED).json
    assert seen["address"] == "198.51.100.7"


def login(client, base: str) -> tuple[str, object]:
    page = client.get(f"{base}/login")
    # As a browser posts a form: with the page as its Referer, which Flask-WTF requires of a
    # POST over HTTPS (a forged cross-site post cannot name this site).
    response = client.post(f"{base}/login", headers={"Referer": f"{base}/login"}, data={
        "csrf_token": csrf_token(page.text), "username": "pat.one", "password": PASSWORD})
    return page.headers.get("Set-Cookie", ""), response


def test_a_declared_https_site_sends_secure_cookies_and_hsts(serve):
    client = serve(HTTPS=True).test_client()
    cookie, response = login(client, "https://localhost")
    assert response.status_code == 303
    assert "; Secure" in cookie and "; Secure" in response.headers["Set-Cookie"]
    home = client.get("https://localhost/me/")
    assert home.status_code == 200 and "Pat One" in home.text
    assert home.headers["Strict-Transport-Security"] == "max-age=31536000"
    with client.get("https://localhost/static/app.css") as static:
        assert static.headers["Strict-Transport-Security"] == "max-age=31536000"
    redirect, missing = client.get("https://localhost/login"), client.get("https://localhost/x/y")
    assert (redirect.status_code, missing.status_code) == (302, 404)
    for answer in (home, redirect, missing):
        assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"
        assert_security_headers(answer)


def test_a_plain_site_sends_neither(serve):
    client = serve().test_client()
    cookie, response = login(client, "http://localhost")
    assert response.status_code == 303 and "session=" in cookie and "Secure" not in cookie
    home = client.get("/me/")
    assert home.status_code == 200 and "Strict-Transport-Security" not in home.headers
    assert_security_headers(home)  # everything else is the same over plain HTTP

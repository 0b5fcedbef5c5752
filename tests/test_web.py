"""How responses are shaped: page or fragment, Vary, compression, static caching, errors."""

from __future__ import annotations

import gzip
import os
import re

import brotli
import pytest

from support import assert_security_headers

HTMX = {"HX-Request": "true"}


def test_full_page_for_plain_requests_and_fragment_for_htmx(client, auth):
    auth.login("pat.one")
    page = client.get("/me/")
    fragment = client.get("/me/", headers=HTMX)
    assert "<html" in page.text and '<section id="upcoming"' in page.text
    assert "<html" not in fragment.text
    assert fragment.text.lstrip().startswith('<section id="upcoming"')
    for response in (page, fragment):
        assert "HX-Request" in response.headers["Vary"]


@pytest.mark.parametrize("extra", [{"HX-Boosted": "true"}, {"HX-History-Restore-Request": "true"}])
def test_boosted_and_history_restore_requests_get_the_full_page(client, auth, extra):
    auth.login("pat.one")
    response = client.get("/me/", headers={**HTMX, **extra})
    assert "<html" in response.text


def test_form_errors_answer_422_with_the_form_fragment_for_htmx(client):
    from support import csrf_token

    page = client.get("/login")
    response = client.post("/login", headers=HTMX, data={
        "csrf_token": csrf_token(page.text), "username": "pat.one", "password": "wrong"})
    assert response.status_code == 422
    assert response.text.startswith('<form id="login-form"')
    assert "Wrong username or password." in response.text


def test_csrf_failure_for_htmx_goes_to_the_message_area(client):
    response = client.post("/login", headers=HTMX, data={})
    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == "#messages"
    assert "<html" not in response.text


@pytest.mark.parametrize("path, code", [("/admin/", 403), ("/doctors/999999", 404)])
def test_a_boosted_link_that_fails_gets_the_error_as_a_whole_page(client, auth, path, code):
    """A boosted link stands for a navigation: its 403 or 404 is the error page itself, as
    without JavaScript, not a second page put inside the current page's message area."""
    auth.login("pat.one")
    response = client.get(path, headers={**HTMX, "HX-Boosted": "true"})
    assert response.status_code == code
    assert "HX-Retarget" not in response.headers
    assert "<html" in response.text and 'id="error"' in response.text
    assert "Go to your start page" in response.text


def test_html_is_compressed_with_brotli_or_gzip_as_the_browser_accepts(client):
    chromium = client.get("/register", headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert chromium.headers["Content-Encoding"] == "br"  # the smallest for our pages
    assert "Accept-Encoding" in chromium.headers["Vary"]
    assert "Create your patient account" in brotli.decompress(chromium.data).decode()
    older = client.get("/register", headers={"Accept-Encoding": "gzip"})
    assert older.headers["Content-Encoding"] == "gzip"
    assert "Create your patient account" in gzip.decompress(older.data).decode()
    assert len(chromium.data) < len(older.data) < 2500  # a full page stays a few KB compressed


def test_nothing_is_compressed_without_accept_encoding(client):
    response = client.get("/register")
    assert "Content-Encoding" not in response.headers
    assert "Create your patient account" in response.text


def static_urls(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', html)


def test_static_files_are_fetched_once_and_never_revalidated(client, auth):
    """Versioned URLs, cached as immutable; no no-cache, no cookie, no Vary: Cookie (issue 15
    found app.css re-checked on every page)."""
    auth.login("pat.one")
    urls = static_urls(client.get("/me/").text)
    assert {url.split("?")[0] for url in urls} == {
        "/static/app.css", "/static/htmx.min.js", "/static/favicon.svg"}
    for url in urls:
        assert re.search(r"\?v=[0-9a-f]{10}$", url), url
        with client.get(url, headers={"Accept-Encoding": "gzip, deflate, br, zstd"}) as response:
            assert response.status_code == 200
            cache = response.headers["Cache-Control"]
            assert "immutable" in cache and "public" in cache and "no-cache" not in cache
            assert int(re.search(r"max-age=(\d+)", cache)[1]) >= 31_536_000
            assert response.headers["Vary"] == "Accept-Encoding"
            assert "Set-Cookie" not in response.headers
            assert_security_headers(response)
            assert response.headers["Content-Encoding"] == "br"  # compressed once, at setup
            etag = response.headers["ETag"]
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304  # a browser that kept it asks nothing more of us
    with client.get(urls[0], headers={"Accept-Encoding": "gzip"}) as css:
        assert b":root" in gzip.decompress(css.data)


def test_an_edited_static_file_gets_new_compressed_copies(tmp_path):
    from hms.web import precompress_static

    style = tmp_path / "app.css"
    style.write_text("body { color: red; }\n" * 50)
    precompress_static(str(tmp_path))
    assert brotli.decompress((tmp_path / "app.css.br").read_bytes()) == style.read_bytes()
    style.write_text("body { color: blue; }\n" * 50)
    os.utime(style, (style.stat().st_atime, style.stat().st_mtime + 5))
    precompress_static(str(tmp_path))
    assert brotli.decompress((tmp_path / "app.css.br").read_bytes()) == style.read_bytes()
    assert gzip.decompress((tmp_path / "app.css.gz").read_bytes()) == style.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.css", "app.css.br", "app.css.gz"]


def test_every_page_names_its_icon_so_no_browser_asks_for_favicon_ico(client):
    page = client.get("/login").text
    icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)[1]
    with client.get(icon) as response:
        assert response.status_code == 200 and response.mimetype == "image/svg+xml"
        assert b"<svg" in response.data
    head = page.split("<title>")[0]  # asked for before anything else in the page
    assert "app.css" in head and "htmx.min.js" in head


def test_htmx_is_served_from_static_after_setup(client):
    page = client.get("/login").text
    js_url = page.split('<script src="')[1].split('"')[0]
    with client.get(js_url, headers={"Accept-Encoding": "gzip"}) as response:
        assert response.status_code == 200, "run scripts/setup.sh: it copies htmx into static/"
        assert len(response.data) < 16_000  # htmx 4 is about 13 KB gzipped


def test_unknown_page_is_a_friendly_404_page_or_fragment(client):
    page = client.get("/no/such/page")
    assert page.status_code == 404 and "<html" in page.text
    assert "There is nothing here" in page.text
    fragment = client.get("/no/such/page", headers=HTMX)
    assert fragment.status_code == 404 and "<html" not in fragment.text
    assert "There is nothing here" in fragment.text


def test_wrong_method_is_405(client):
    assert client.delete("/login").status_code == 405


def test_server_error_is_a_friendly_500_page(app, client):
    @app.get("/boom")
    def boom():
        raise RuntimeError("kaput")

    response = client.get("/boom")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text
    assert "kaput" not in response.text


def test_health_check_reports_database_and_redis(client):
    assert client.get("/healthz").get_json()["redis"] == "ok"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/%09/evil.example",
                                    "/%0A/x", "/\\evil.example", "javascript:alert(1)"])
def test_login_never_redirects_off_site_nor_fails(client, target):
    from support import PASSWORD, csrf_token

    page = client.get(f"/login?next={target}")
    response = client.post(f"/login?next={target}", data={
        "csrf_token": csrf_token(page.text), "username": "pat.one", "password": PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] == "/me/"


def test_login_returns_to_a_local_page_after_logging_in(client):
    from support import PASSWORD, csrf_token

    assert client.get("/appointments/?page=2").headers["Location"] == \
        "/login?next=/appointments/?page%3D2"
    page = client.get("/login?next=/appointments/?page%3D2")
    response = client.post("/login?next=/appointments/?page%3D2", data={
        "csrf_token": csrf_token(page.text), "username": "pat.one", "password": PASSWORD})
    assert response.headers["Location"] == "/appointments/?page=2"


@pytest.mark.parametrize("url", ["/appointments/" + "9" * 30, "/doctors/" + "9" * 30,
                                 "/patients/" + "9" * 30])
def test_huge_ids_are_404_not_500(client, auth, url):
    auth.login("admin")
    assert client.get(url).status_code in (403, 404)


@pytest.mark.parametrize("url", ["/appointments/?page=" + "9" * 30, "/doctors/?department=" +
                                 "9" * 30, "/doctors/?department=x"])
def test_huge_or_bad_query_numbers_do_not_fail(client, auth, url):
    auth.login("pat.one")
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("q", ["9" * 30, "²", "' OR 1=1 --"])
def test_patient_search_survives_odd_input(client, auth, q):
    auth.login("dr.one")
    assert client.get("/patients/", query_string={"q": q}).status_code == 200


def test_pages_of_logged_in_users_are_never_stored_by_the_browser(client, auth):
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    auth.login("pat.one")
    cache = client.get("/me/").headers["Cache-Control"]
    assert "no-store" in cache and "private" in cache


def test_expired_session_during_an_htmx_swap_redirects_the_whole_page(client, people):
    response = client.get(f"/doctors/{people.doctor('dr.one').id}", headers=HTMX)
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=/doctors/")


def test_responses_vary_on_every_header_that_picks_page_or_fragment(client):
    vary = client.get("/login").headers["Vary"]
    for header in ("HX-Request", "HX-Boosted", "HX-History-Restore-Request"):
        assert header in vary


def test_every_kind_of_answer_carries_the_security_headers(client, auth):
    from support import assert_security_headers

    auth.login("pat.one")
    page = client.get("/me/")
    fragment = client.get("/me/", headers=HTMX)
    missing = client.get("/no/such/page")
    redirect = client.get("/login")  # a logged-in patient is sent on to their page
    css_url = page.text.split('rel="stylesheet" href="')[1].split('"')[0]
    with client.get(css_url) as static:
        assert static.status_code == 200 and static.mimetype == "text/css"
        answers = (page, fragment, missing, redirect, static)
        assert [a.status_code for a in answers] == [200, 200, 404, 302, 200]
        for answer in answers:
            assert_security_headers(answer)


def test_the_security_headers_say_exactly_this(client):
    headers = client.get("/login").headers
    assert headers["Content-Security-Policy"] == (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'")
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["Cross-Origin-Resource-Policy"] == "same-origin"
    denied = headers["Permissions-Policy"].split(", ")
    assert {"camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"} <= set(denied)
    assert all(item.endswith("=()") for item in denied)  # each one denied, none allowed


def test_server_errors_and_downloads_carry_the_security_headers(app, client, auth):
    from support import assert_security_headers

    @app.get("/boom")
    def boom():
        raise RuntimeError("kaput")

    assert_security_headers(client.get("/boom"))
    auth.login("pat.one")
    for url, mimetype in (("/me/history.csv", "text/csv"), ("/me/history.pdf", "application/pdf")):
        download = client.get(url)
        assert download.status_code == 200 and download.mimetype == mimetype
        assert "attachment" in download.headers["Content-Disposition"]
        assert_security_headers(download)



def test_no_template_has_inline_script_or_style(app):
    """The CSP blocks inline code; a template that added some back would break in the browser.
    PDFs (WeasyPrint) and e-mails are not pages a browser opens under the policy."""
    import re
    from pathlib import Path

    inline = re.compile(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+\s*=|javascript:"
                        r"|hx-on|\bjs:", re.IGNORECASE)
    templates = Path(app.template_folder)
    pages = [path for path in templates.rglob("*.html")
             if path.relative_to(templates).parts[0] not in ("pdf", "email")]
    assert len(pages) > 80
    # The server-drawn charts go into pages too: presentation attributes, never style=.
    for path in [*pages, Path(app.root_path) / "charts.py"]:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            assert not inline.search(line), f"{path}:{number}: {line.strip()}"

"""How every response is shaped: page or fragment, Vary, compression, static caching, errors,
security headers.

Static files are served by WhiteNoise, in front of Flask: the files found at start,
precompressed once (Brotli and gzip, next to each file), cached as immutable for ten years
(every URL the pages give carries the file's digest), and without the session, the user or
the database. Every other response is compressed by Flask-Compress: Brotli, else zstd, else
gzip, as the browser accepts."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import os
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import Flask, Response, current_app, redirect, render_template, request, session, url_for
from flask.ctx import RequestContext
from flask_compress import Compress
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter
from whitenoise import WhiteNoise
from whitenoise.compress import Compressor

from hms.clock import clinic_time, hhmm, hhmm_zone

log = logging.getLogger(__name__)

FRAGMENT_HEADERS = ("HX-Request", "HX-Boosted", "HX-History-Restore-Request")
ONE_YEAR = 31_536_000
compress = Compress()
# What HMS sends that compresses: pages and fragments, CSV and calendar files, JSON; static
# files are compressed ahead (serve_static). PDFs and photos are compressed already.
COMPRESSED_TYPES = ["text/html", "text/plain", "text/csv", "text/calendar", "text/css",
                    "application/javascript", "text/javascript", "application/json",
                    "image/svg+xml"]

# Sent on every answer (pages, fragments, errors, redirects, static files, downloads). The
# policy allows only this site's own scripts, stylesheets, images and htmx requests: no inline
# script or style, no eval (htmx is configured for that in base.html), no plugins, no <base>,
# forms post only here, and no other site may frame a page (clickjacking).
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
])
# Powerful browser features no page of a clinic needs (a photo upload is a plain file input and
# needs none of them). Only names Chromium knows: an unknown one (such as bluetooth) is a
# console warning on every page.
DENIED_FEATURES = ("accelerometer", "autoplay", "browsing-topics", "camera", "display-capture",
                   "geolocation", "gyroscope", "hid", "idle-detection", "local-fonts",
                   "magnetometer", "microphone", "midi", "payment", "screen-wake-lock", "serial",
                   "usb", "window-management", "xr-spatial-tracking")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate CSP 2
    "X-Content-Type-Options": "nosniff",
    # The origin, not the path (paths name records), goes to other sites; Flask-WTF's HTTPS
    # Referer check on our own forms needs at least the origin.
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": ", ".join(f"{feature}=()" for feature in DENIED_FEATURES),
    # No window opened from elsewhere keeps a handle on ours, nor ours on theirs.
    "Cross-Origin-Opener-Policy": "same-origin",
    # Our files (records, photos, downloads) are not embedded by other sites.
    "Cross-Origin-Resource-Policy": "same-origin",
}


class BoundedInt(IntegerConverter):
    """<int:...> in routes, limited to what the database can hold, in ASCII digits only
    (Werkzeug's \\d+ would also match '٣' and read it as 3, or fail on '²')."""

    regex = r"[0-9]+"

    def __init__(self, url_map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = 2**63 - 1, signed: bool = False) -> None:
        super().__init__(url_map, fixed_digits, min, max, signed)


def private_download(data: bytes, filename: str, mimetype: str) -> Response:
    """A file download of medical or staff records: an attachment no cache keeps."""
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.cache_control.private = True
    response.cache_control.no_store = True
    return response


def ascii_int(value: str | None, max_digits: int = 18) -> int | None:
    """The whole number typed, in the digits 0-9 only, or None. str.isdigit() also passes
    '²' and '①' (which int() then refuses) and '٣' (which int() reads as 3): a number read
    from input goes through here, so nothing else counts as one."""
    value = (value or "").strip()
    if value and len(value) <= max_digits and value.isascii() and value.isdigit():
        return int(value)
    return None


def arg_int(name: str, default: int, low: int = 1, high: int = 100_000) -> int:
    """An integer query argument, clamped into a sane range (bad values give the default)."""
    value = ascii_int(request.args.get(name))
    return min(max(default if value is None else value, low), high)


def _as_browsers_may_read(target: str) -> list[str]:
    """The target, then each percent-decoding of it (a proxy, Werkzeug's routing or a browser
    may decode once more), until nothing changes."""
    forms = [target]
    for _ in range(5):
        decoded = unquote(forms[-1])
        if decoded == forms[-1]:
            return forms
        forms.append(decoded)
    return forms + ["//"]  # still changing: refuse


def local_path(target: str | None) -> str | None:
    """A path on this site to return to, or None: never send anyone elsewhere. '//host',
    '///host', '/\\host' and '/<tab>/host' all lead browsers to another host (they drop tabs
    and newlines and read a backslash as a slash), so backslashes, control characters and a
    second leading slash are refused, in the target and in every decoding of it."""
    target = target or ""
    for form in _as_browsers_may_read(target):
        if (not form.startswith("/") or form.startswith("//") or "\\" in form
                or any(ord(c) < 0x20 or ord(c) == 0x7F for c in form)):
            return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def wants_fragment() -> bool:
    """True for an htmx request that swaps part of a page (not boosted, not a history restore)."""
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render(page: str, fragment: str, status: int = 200, **context) -> Response:
    """Render the fragment for htmx swaps, else the full page that includes that same fragment."""
    body = render_template(fragment if wants_fragment() else page, **context)
    return current_app.make_response((body, status))


def see_other(url: str) -> Response:
    """The answer to a form post that succeeded: the view at url, and the address to show.

    Without JavaScript, a 303 to url (post, redirect, get: reloading does not post again).
    For htmx, the view itself in this one response, with HX-Push-Url for the address bar:
    a redirect would cost the slow link a second round trip for the same page."""
    if not request.htmx:
        return redirect(url, 303)
    response = _view_at(url)
    if response.status_code < 300 and request.htmx.boosted:
        response.headers["HX-Push-Url"] = url
    return response


def confirm_first(question: str, yes: str, back: str, detail: str = "") -> Response | None:
    """For a destructive form posted without JavaScript (its hidden ask=1; see the asks macro),
    the page that asks first, re-posting what was typed; None when the person has said yes."""
    if request.form.get("ask") != "1":
        return None
    fields = [(name, value) for name, value in request.form.items(multi=True) if name != "ask"]
    return render("confirm.html", "confirm.html", question=question, yes=yes, detail=detail,
                  back=back, fields=fields)


def with_messages(response: Response) -> Response:
    """An htmx fragment answer, with the messages flashed for it swapped into the page's
    message area out of band: announced where they are, and no stale one left standing."""
    response.set_data(response.get_data() + render_template("_messages.html", oob=True)
                      .encode())
    return response


def _view_at(url: str) -> Response:
    """GET url inside this request, as the browser would after a redirect: its headers and
    this request's session (with what the post changed), its role checks, its errors."""
    parts = urlsplit(url)
    path = parts.path.removeprefix(request.script_root) or "/"
    environ = {key: value for key, value in request.environ.items()
               if key not in ("CONTENT_TYPE", "CONTENT_LENGTH", "werkzeug.request")}
    environ.update({"REQUEST_METHOD": "GET", "PATH_INFO": path,
                    "QUERY_STRING": parts.query, "wsgi.input": io.BytesIO()})
    app = current_app._get_current_object()
    with RequestContext(app, environ, session=session._get_current_object()):
        try:
            response = app.make_response(app.preprocess_request() or app.dispatch_request())
        except Exception as error:  # noqa: BLE001 - as Flask's own full_dispatch_request
            response = app.make_response(app.handle_user_exception(error))
    return response


@cache
def _file_version(static_folder: str, filename: str) -> str:
    try:
        return hashlib.sha256((Path(static_folder) / filename).read_bytes()).hexdigest()[:10]
    except FileNotFoundError:
        return "missing"


def static_url(filename: str) -> str:
    """A versioned static URL: it changes when the file does, so it may be cached for a year."""
    version = _file_version(current_app.static_folder, filename)
    return url_for("static", filename=filename, v=version)


def _after_request(response: Response) -> Response:
    for header, value in SECURITY_HEADERS.items():
        response.headers.setdefault(header, value)
    if current_app.config["HTTPS"]:
        # Sent on every answer, not only those the app sees as HTTPS: behind a proxy that is
        # not declared it would never be sent, and browsers ignore it over plain HTTP anyway.
        response.headers["Strict-Transport-Security"] = f"max-age={ONE_YEAR}"
    if response.mimetype == "text/html":
        # Every HTML answer may differ between an htmx swap and a full page.
        for header in FRAGMENT_HEADERS:
            response.vary.add(header)
        if current_user.is_authenticated:
            # Records on a shared clinic terminal must not come back from the cache after
            # logout (the Back button).
            response.cache_control.private = True
            response.cache_control.no_store = True
    return response


def error_response(code: int, title: str, message: str) -> Response:
    """An error page, or for an htmx swap a fragment shown in the page's message area. A
    boosted navigation (a link or form that stands for a page) gets the page, as it would
    without JavaScript: the whole error page, never one page nested in another's messages."""
    response = render("errors/error.html", "errors/_error.html", status=code,
                      code=code, title=title, message=message)
    if wants_fragment():
        response.headers["HX-Retarget"] = "#messages"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


MESSAGES = {
    400: "The request could not be understood. Please go back and try again.",
    403: "Your account does not have access to this page.",
    404: "There is nothing here. The link may be out of date.",
    405: "That action cannot be done this way.",
    413: "That was more than this form takes. Please shorten what you typed and try again.",
    500: "Something went wrong on our side. It has been logged; please try again.",
}


def _handle_http_error(error: HTTPException) -> Response:
    code = error.code or 500
    return error_response(code, error.name, MESSAGES.get(code, error.description or ""))


def _handle_csrf_error(error: CSRFError) -> Response:
    return error_response(400, "Form expired",
                           "This form had expired or was sent from elsewhere. "
                           "Please reload the page and try again.")


def _handle_unexpected(error: Exception) -> Response:
    log.exception("Unhandled error on %s %s", request.method, request.path)
    return error_response(500, "Server error", MESSAGES[500])


def slot_label(key: str) -> str:
    """'2026-11-24T09:00' → 'Tuesday 24 November at 09:00'."""
    from hms.scheduling import SLOT_FORMAT

    at = dt.datetime.strptime(key, SLOT_FORMAT)
    return f"{at:%A %-d %B} at {hhmm(at.time(), at.date())}"


class _Compressor(Compressor):
    """WhiteNoise's compressor (Brotli and gzip at their best levels, kept only when they
    save), writing each copy whole before it takes the copy's name: a process starting
    beside another never serves half a file."""

    def write_data(self, path, data, suffix, stat_result):
        partial = f"{path}{suffix}.{os.getpid()}.tmp"
        with open(partial, "wb") as file:
            file.write(data)
        os.utime(partial, ns=(stat_result.st_atime_ns, stat_result.st_mtime_ns))  # the file's
        os.replace(partial, path + suffix)
        return path + suffix


def precompress_static(folder: str) -> None:
    """Brotli and gzip copies of each static file, made when missing or not of the file as it
    is (scripts/setup.sh makes them first; an edited file gets new ones at the next start). A
    copy carries its file's modification time, to the nanosecond."""
    compressor = _Compressor(quiet=True)
    for path in Path(folder).rglob("*"):
        if not path.is_file() or path.suffix in (".gz", ".br", ".tmp") or \
                not compressor.should_compress(path.name):
            continue
        made = path.stat().st_mtime_ns
        if any(not copy.exists() or copy.stat().st_mtime_ns != made
               for copy in (path.with_name(path.name + ".br"), path.with_name(path.name + ".gz"))):
            compressor.compress(str(path))


def serve_static(app: Flask) -> None:
    """Serve /static/ with WhiteNoise (see the module's docstring), with the headers every
    answer carries."""
    precompress_static(app.static_folder)
    headers = dict(SECURITY_HEADERS)
    if app.config["HTTPS"]:
        headers["Strict-Transport-Security"] = f"max-age={ONE_YEAR}"

    def add_headers(file_headers, path: str, url: str) -> None:
        for name, value in headers.items():
            file_headers[name] = value

    app.wsgi_app = WhiteNoise(
        app.wsgi_app, root=app.static_folder, prefix=app.static_url_path,
        allow_all_origins=False,  # our files are for our pages (Cross-Origin-Resource-Policy)
        immutable_file_test=lambda path, url: True,  # every URL carries the file's digest
        add_headers_function=add_headers)


def init_compression(app: Flask) -> None:
    """Flask-Compress, installed before every other extension so that its after_request runs
    last (Flask runs them in reverse) and compresses the final body; and the static files."""
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED_TYPES)
    # Brotli first: measured on our pages it is the smallest (the login page: 1,127 bytes,
    # zstd 1,284, gzip 1,246), and every browser HMS supports accepts it.
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "zstd", "gzip"])
    compress.init_app(app)
    serve_static(app)


def init_app(app: Flask) -> None:
    """Install the response shaping and the friendly error pages."""
    app.after_request(_after_request)
    # Block tags leave no blank lines behind: smaller pages, and fragments start at their root.
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.globals["static_url"] = static_url
    app.jinja_env.filters["slot_label"] = slot_label
    app.jinja_env.filters["hhmm"] = hhmm
    app.jinja_env.filters["hhmm_zone"] = hhmm_zone
    app.jinja_env.filters["clinic_time"] = clinic_time
    app.register_error_handler(CSRFError, _handle_csrf_error)
    app.register_error_handler(HTTPException, _handle_http_error)
    app.register_error_handler(Exception, _handle_unexpected)

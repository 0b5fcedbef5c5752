"""PDFs with WeasyPrint, from the same Jinja templates and SVG charts as the pages.

`render_pdf` needs only an app context (no request), so a background task can attach a report
to a mail. Templates rendered here must therefore not call url_for or read the request.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from flask import Response, current_app, render_template
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from hms.clock import clinic_now
from hms.web import private_download


class StaticOnlyFetcher(URLFetcher):
    """Lets a PDF load the app's own static files and data: URLs, and nothing else, so that a
    URL in a record can never make the server read its own files or call other hosts."""

    def __init__(self, static_folder: str) -> None:
        super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False)
        self.root = Path(static_folder).resolve()

    def fetch(self, url: str, headers: dict | None = None):
        """Fetch a static file or a data: URL; refuse the rest."""
        if url.lower().startswith("file:"):
            path = Path(url2pathname(urlsplit(url).path)).resolve()
            if not path.is_relative_to(self.root):
                raise ValueError(f"Not one of the app's static files: {url}")
        return super().fetch(url, headers)


def render_pdf(template_name: str, **context) -> bytes:
    """A template rendered to PDF bytes, stamped with the time it is generated; relative links
    resolve to the static folder."""
    html = render_template(template_name, pdf=True, generated_at=clinic_now(), **context)
    static = current_app.static_folder
    document = HTML(string=html, base_url=Path(static).as_uri() + "/",
                    url_fetcher=StaticOnlyFetcher(static))
    return document.write_pdf()


def pdf_response(data: bytes, filename: str) -> Response:
    """A PDF download. It names doctors (and a doctor's numbers), so no cache keeps a copy."""
    return private_download(data, filename, "application/pdf")

"""Analytics with server-rendered SVG charts, and the monthly and weekly reports (screen, PDF)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reports", __name__)

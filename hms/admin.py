"""The admin console: doctors, departments, patients, staff, search, appointments, audit log."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

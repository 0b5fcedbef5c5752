"""Analytics with server-rendered SVG charts, and the monthly and weekly reports (screen, PDF)."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, request
from flask_login import current_user

from hms import cache, charts
from hms.auth import doctor_of, role_required
from hms.clock import clinic_now, clinic_today, utc_now
from hms.models import Doctor
from hms.pdf import pdf_response, render_pdf
from hms.stats import (
    PERIODS,
    RECENT_DAYS,
    doctor_activity,
    hospital_summary,
    last_days,
    parse_date,
    parse_month,
    period_of,
    previous_month,
    summary_as_json,
    summary_from_json,
)
from hms.web import render

bp = Blueprint("reports", __name__)
bp.add_app_template_global(charts.bar_chart)
bp.add_app_template_global(charts.daily_chart)

# How far ahead a doctor may look: a week or a month of appointments already booked.
AHEAD = dt.timedelta(days=366)


def _month_asked(today: dt.date) -> tuple[dt.date | None, str | None]:
    """The month asked for (the last complete month when none is), or why it cannot be shown."""
    value = request.args.get("month", "").strip()
    if not value:
        return previous_month(today), None
    month = parse_month(value)
    if month is None:
        return None, "Give the month as YYYY-MM, for example 2026-03 (from 2000 on)."
    if month > today.replace(day=1):
        return None, "That month has not begun yet."
    return month, None


def _period_asked(today: dt.date) -> tuple[str, dt.date | None, dict[str, str]]:
    """The week or month asked for (this week when none is), with messages for bad fields."""
    period = request.args.get("period", "week")
    value = request.args.get("start", "").strip()
    start = parse_date(value) if value else today
    errors = {}
    if period not in PERIODS:
        errors["period"] = "Choose a week or a month."
    if start is None:
        errors["start"] = "Give a day as YYYY-MM-DD, for example 2026-03-02 (from 2000 on)."
    elif start > today + AHEAD:
        errors["start"] = "Choose a day within the next year."
    return period, start, errors


def _monthly(month: dt.date | None, error: str | None) -> Response:
    """The monthly report page (or its body for htmx), or the picker with a message."""
    today = clinic_today()
    if error:
        return render("reports/monthly.html", "reports/_monthly.html", status=422, report=None,
                      month=None, error=error, today=today,
                      typed=request.args.get("month", "")[:20])
    first, last = period_of("month", month)
    following = last + dt.timedelta(days=1)
    return render("reports/monthly.html", "reports/_monthly.html",
                  report=hospital_summary(first, last), month=month, error=None, today=today,
                  earlier=previous_month(month), later=following if following <= today else None)


def _doctor_report(me: Doctor, period: str, start: dt.date | None,
                   errors: dict[str, str]) -> Response:
    """The doctor's activity report page (or its body for htmx), or the form with messages."""
    if errors:
        return render("reports/doctor_report.html", "reports/_doctor_report.html", status=422,
                      report=None, period=period, errors=errors,
                      typed=request.args.get("start", "")[:20])
    first, last = period_of(period, start)
    report = doctor_activity(me, first, last)
    return render("reports/doctor_report.html", "reports/_doctor_report.html", report=report,
                  period=period, errors=errors, typed=start.isoformat(),
                  earlier=first - dt.timedelta(days=1), later=last + dt.timedelta(days=1))


@bp.get("/admin/analytics")
@role_required("admin")
def analytics():
    """The hospital's last 30 clinic days: per day, by status, by specialization, the busiest
    doctors, and completion and no-show rates."""
    now = clinic_now()
    return render("reports/analytics.html", "reports/_summary.html",
                  report=recent_summary(now.date()), as_of=now)


def recent_summary(today: dt.date) -> dict:
    """The hospital summary of the RECENT_DAYS up to today, counted at most once a minute: the
    cache key names the UTC minute (which never repeats, unlike the clinic's in the autumn;
    Redis keeps it two), so reloads and several admins share one count of the rollup rows."""
    first, last = last_days(RECENT_DAYS, today)
    minute = f"{first}:{utc_now():%Y-%m-%dT%H:%M}"
    return summary_from_json(cache.remember(
        "analytics", minute, lambda: summary_as_json(hospital_summary(first, last)), ttl=120))


@bp.get("/admin/reports/monthly")
@role_required("admin")
def monthly():
    """The hospital's monthly report for a chosen month (the last complete one by default)."""
    return _monthly(*_month_asked(clinic_today()))


@bp.get("/admin/reports/monthly.pdf")
@role_required("admin")
def monthly_pdf():
    """The monthly report as a PDF, from the same templates and charts as the page."""
    month, error = _month_asked(clinic_today())
    if error:
        return _monthly(month, error)
    report = hospital_summary(*period_of("month", month))
    return pdf_response(render_pdf("pdf/monthly.html", report=report),
                        f"hms-monthly-report-{month:%Y-%m}.pdf")


@bp.get("/doctor/stats")
@role_required("doctor")
def doctor_stats():
    """The doctor's own last 30 days: per day, by status, completion and no-show rates."""
    me = doctor_of(current_user)
    report = doctor_activity(me, *last_days(RECENT_DAYS, clinic_today()))
    return render("reports/doctor_stats.html", "reports/_activity.html", report=report)


@bp.get("/doctor/report")
@role_required("doctor")
def doctor_report():
    """The doctor's activity over a week or a month (this week by default)."""
    me = doctor_of(current_user)
    return _doctor_report(me, *_period_asked(clinic_today()))


@bp.get("/doctor/report.pdf")
@role_required("doctor")
def doctor_report_pdf():
    """The doctor's activity report as a PDF, from the same templates as the page."""
    me = doctor_of(current_user)
    period, start, errors = _period_asked(clinic_today())
    if errors:
        return _doctor_report(me, period, start, errors)
    first, last = period_of(period, start)
    report = doctor_activity(me, first, last)
    return pdf_response(render_pdf("pdf/doctor_report.html", report=report),
                        f"hms-activity-{period}-{first:%Y-%m-%d}.pdf")

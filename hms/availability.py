"""A doctor's diary: the week grid, one-slot toggles, bulk actions and the weekly plan."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, request, url_for
from flask_login import current_user

from hms import overbooking
from hms.audit import audit
from hms.auth import doctor_of, role_required
from hms.clock import clinic_today
from hms.forms import OverbookForm
from hms.models import Doctor, WorkingHours
from hms.scheduling import (
    SchedulingError,
    bulk_slots,
    copy_previous_week,
    horizon_end,
    on_slot_grid,
    parse_clock,
    parse_day,
    parse_slot,
    read_cell,
    replace_plan,
    set_slot,
    set_slots,
    slot_minutes,
    slot_times,
    week_grid,
    week_start,
)
from hms.web import render, see_other, wants_fragment

bp = Blueprint("availability", __name__, url_prefix="/availability")

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _week(value: str | None) -> dt.date:
    """The Monday asked for: this week by default, never before it nor past the horizon."""
    this_week = week_start(clinic_today())
    if not value:
        return this_week
    day = parse_day(value)
    if day is None:
        abort(404)
    monday = week_start(day)
    if not this_week <= monday <= week_start(horizon_end()):
        abort(404)
    return monday


def _week_page(monday: dt.date, status: int = 200, message: str | None = None):
    doctor = doctor_of(current_user)
    last = week_start(horizon_end())
    return render("availability/week.html", "availability/_grid.html", status=status,
                  grid=week_grid(doctor, monday), message=message, today=clinic_today(),
                  prev_week=monday - dt.timedelta(days=7) if monday > week_start(clinic_today())
                  else None,
                  next_week=monday + dt.timedelta(days=7) if monday < last else None)


@bp.get("/")
@role_required("doctor")
def week():
    """The doctor's week: every slot open, closed, booked or past."""
    return _week_page(_week(request.args.get("week")))


def _parse_slot(value: str) -> tuple[bool, dt.date, dt.time]:
    """'open 2026-11-24T09:00' → (True, date, time); anything else is a bad request."""
    verb, _, key = value.partition(" ")
    slot = parse_slot(key)
    if verb not in ("open", "close") or slot is None:
        abort(400)
    return verb == "open", *slot


@bp.post("/slot")
@role_required("doctor")
def toggle():
    """Open or close one slot; htmx swaps just that cell."""
    doctor = doctor_of(current_user)
    is_open, day, time = _parse_slot(request.form.get("slot", ""))
    try:
        cell, error = set_slot(doctor, day, time, is_open), None
    except SchedulingError as refusal:
        cell, error = read_cell(doctor, day, time), refusal
    if wants_fragment():
        return render("availability/_cell.html", "availability/_cell.html",
                      status=error.status if error else 200, cell=cell,
                      cell_error=error.message if error else None)
    if error:
        flash(error.message, "error")
    return see_other(url_for(".week", week=week_start(day).isoformat()))


BULK = {
    "open mornings": (True, "mornings"), "close mornings": (False, "mornings"),
    "open afternoons": (True, "afternoons"), "close afternoons": (False, "afternoons"),
    "open day": (True, "day"), "close day": (False, "day"),
}


@bp.post("/bulk")
@role_required("doctor")
def bulk():
    """Open or close a day, all mornings or all afternoons, or copy last week's pattern."""
    doctor = doctor_of(current_user)
    monday = _week(request.form.get("week"))
    action = request.form.get("action", "")
    if action == "copy previous":
        changed, kept = copy_previous_week(doctor, monday)
    else:
        verb, _, day_text = action.partition(" day ")
        key = f"{verb} day" if day_text else action
        if key not in BULK:
            abort(400)
        is_open, scope = BULK[key]
        day = None
        if scope == "day":
            day = parse_day(day_text)
            if day is None or week_start(day) != monday:
                abort(400)
        changed, kept = set_slots(doctor, bulk_slots(week_grid(doctor, monday), scope, day),
                                  is_open)
    message = f"{changed} slot{'' if changed == 1 else 's'} updated."
    if kept:
        held = "slot holds an appointment and was" if kept == 1 else \
            "slots hold appointments and were"
        message += f" {kept} {held} left open: move or cancel those appointments first."
    if wants_fragment():
        return _week_page(monday, message=message)
    flash(message, "error" if kept else "success")
    return see_other(url_for(".week", week=monday.isoformat()))


def _parse_plan(form) -> tuple[list[tuple[int, dt.time, dt.time]], dict[int, str]]:
    """Read up to two periods per weekday; errors are keyed by weekday."""
    periods, errors = [], {}
    for day in range(7):
        day_periods = []
        for n in (1, 2):
            start, end = form.get(f"d{day}_start{n}", ""), form.get(f"d{day}_end{n}", "")
            if not start and not end:
                continue
            s, e = parse_clock(start), parse_clock(end)
            if s is None or e is None:
                errors[day] = "Give both a start and an end time, like 09:00 and 13:00."
                break
            if not on_slot_grid(s):
                errors[day] = f"Start periods on a slot boundary (every {slot_minutes()} minutes)."
                break
            if not slot_times(s, e, slot_minutes()):
                errors[day] = (f"Each period must last at least one slot ({slot_minutes()} "
                               "minutes) and end after it starts.")
                break
            day_periods.append((s, e))
        if day not in errors and len(day_periods) == 2:
            (s1, e1), (s2, e2) = sorted(day_periods)
            if s2 < e1:
                errors[day] = "The two periods overlap."
        periods += [(day, s, e) for s, e in day_periods]
    return periods, errors


@bp.route("/plan", methods=["GET", "POST"])
@role_required("doctor")
def plan():
    """The weekly working plan from which the slots of new weeks are opened."""
    return _plan_page(doctor_of(current_user), url_for(".plan"), url_for(".plan"))


@bp.route("/plan/<int:doctor_id>", methods=["GET", "POST"])
@role_required("admin")
def doctor_plan(doctor_id: int):
    """An admin sets a doctor's weekly plan: a new doctor has none, so nobody can book them
    until it is set (the admin's doctor page says so and links here)."""
    doctor = Doctor.get_or_none(Doctor.id == doctor_id) or abort(404)
    return _plan_page(doctor, url_for(".doctor_plan", doctor_id=doctor.id),
                      url_for("admin.doctor", doctor_id=doctor.id))


def _plan_page(doctor: Doctor, here: str, done: str):
    if request.method == "POST":
        periods, errors = _parse_plan(request.form)
        if not errors:
            added = replace_plan(doctor, periods)
            if doctor.user_id != current_user.id:  # an admin set it: on the record
                audit(current_user, "set weekly plan", None, "doctor", doctor.id)
            flash(f"Weekly plan saved; {added} new slot{'' if added == 1 else 's'} opened "
                  "up to the booking horizon.", "success")
            return see_other(done)
        values = request.form
    else:
        errors, values = {}, _plan_values(doctor)
    return render("availability/plan.html", "availability/_plan_form.html",
                  status=422 if errors else 200, errors=errors, values=values,
                  weekdays=WEEKDAYS, plan_url=here,
                  doctor=doctor if current_user.role == "admin" else None)


def _plan_values(doctor) -> dict[str, str]:
    values, seen = {}, {}
    for hours in WorkingHours.select().where(WorkingHours.doctor == doctor).order_by(
            WorkingHours.weekday, WorkingHours.start_time):
        n = seen[hours.weekday] = seen.get(hours.weekday, 0) + 1
        values[f"d{hours.weekday}_start{n}"] = hours.start_time.strftime("%H:%M")
        values[f"d{hours.weekday}_end{n}"] = hours.end_time.strftime("%H:%M")
    return values


@bp.route("/overbook", methods=["GET", "POST"])
@role_required("doctor")
def overbook():
    """The doctor allows the front desk a few appointments over a morning or an afternoon."""
    return _overbook_page(doctor_of(current_user), url_for(".overbook"))


@bp.route("/overbook/<int:doctor_id>", methods=["GET", "POST"])
@role_required("admin")
def doctor_overbook(doctor_id: int):
    """An admin sets a doctor's overbooking allowances."""
    doctor = Doctor.get_or_none(Doctor.id == doctor_id) or abort(404)
    return _overbook_page(doctor, url_for(".doctor_overbook", doctor_id=doctor.id))


def _overbook_page(doctor: Doctor, here: str):
    form = OverbookForm(data={"day": clinic_today(), "extra": 2})
    status = 200
    if form.validate_on_submit():
        try:
            overbooking.set_allowance(doctor, form.day.data, form.part_of_day.data,
                                      form.extra.data, current_user)
        except SchedulingError as refusal:
            form.day.errors.append(refusal.message)
        else:
            extra, when = form.extra.data, f"{form.day.data:%a %-d %b} {form.part_of_day.data}"
            flash(f"{when}: up to {extra} extra appointment{'' if extra == 1 else 's'}."
                  if extra else f"{when}: no overbooking.", "success")
            return see_other(here)
    if form.errors:
        status = 422
    return render("availability/overbook.html", "availability/_overbook.html", status=status,
                  form=form, here=here, doctor=doctor if current_user.role == "admin" else None,
                  allowances=overbooking.allowances(doctor, clinic_today(), horizon_end()))

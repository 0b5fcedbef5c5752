"""Accounts: log in, log out, register; the user loader; role and ownership helpers."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Blueprint, abort, flash, make_response, redirect, request, url_for
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from peewee import IntegrityError, fn
from werkzeug.security import check_password_hash

from hms.accounts import hash_password, register_patient
from hms.forms import LoginForm, RegisterForm
from hms.models import Appointment, Doctor, Patient, User
from hms.web import local_path, render

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to see that page."

LANDING = {
    "admin": "home.admin",
    "doctor": "home.doctor",
    "patient": "home.patient",
    "receptionist": "desk.index",
}

# Each role's navigation: (endpoint, label).
NAV = {
    # The admin console's own tabs (templates/admin/_nav.html) list the rest.
    "admin": [("home.admin", "Admin console"), ("desk.index", "Front desk")],
    "doctor": [("home.doctor", "Today"), ("appointments.schedule", "Appointments"),
               ("patients.index", "My patients"), ("availability.week", "Availability"),
               ("availability.plan", "Weekly plan"), ("reports.doctor_stats", "Statistics"),
               ("profiles.doctor", "Profile")],
    "patient": [("home.patient", "Home"), ("doctors.index", "Find a doctor"),
                ("appointments.mine", "My appointments"), ("patients.my_history", "History"),
                ("profiles.patient", "Profile")],
    "receptionist": [("desk.index", "Front desk"), ("doctors.index", "Doctors")],
}


def nav_links(user: User) -> list[tuple[str, str]]:
    """The navigation a user's role sees."""
    return NAV.get(user.role, [])


# Checked when the username is unknown, so a miss costs as long as a wrong password.
_DUMMY_HASH = hash_password("not-a-real-password")


@login_manager.unauthorized_handler
def _ask_to_log_in():
    """Send a visitor to the login page, and back here afterwards. For an htmx swap (say the
    session expired at a slot picker), redirect the whole page rather than swap the form in."""
    back = request.full_path.rstrip("?") if request.method == "GET" else None
    target = url_for("auth.login", next=back)
    if request.htmx:
        response = make_response("", 401)
        response.headers["HX-Redirect"] = target
        return response
    flash(login_manager.login_message, "error")
    return redirect(target)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Deactivated users load as nobody, so they are logged out on their next request."""
    return User.get_or_none((User.id == int(user_id)) & (User.is_active == True))  # noqa: E712


def role_required(*roles: str) -> Callable:
    """Allow a logged-in user of one of these roles; others get 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def patient_of(user: User) -> Patient:
    """The patient profile of a patient login (404 when it has none)."""
    patient = Patient.get_or_none(Patient.user == user)
    if patient is None:
        abort(404)
    return patient


def doctor_of(user: User) -> Doctor:
    """The doctor profile of a doctor login (404 when it has none)."""
    doctor = Doctor.get_or_none(Doctor.user == user)
    if doctor is None:
        abort(404)
    return doctor


def appointment_for(user: User, appointment_id: int) -> Appointment:
    """An appointment this user may see: a patient's or doctor's own; any, for the front desk
    and admins. Someone else's appointment is 404, as if it did not exist."""
    query = (Appointment.select(Appointment, Patient, Doctor)
             .join(Patient).switch(Appointment).join(Doctor)
             .where(Appointment.id == appointment_id))
    if user.role == "patient":
        query = query.where(Patient.user == user)
    elif user.role == "doctor":
        query = query.where(Doctor.user == user)
    elif user.role not in ("admin", "receptionist"):
        abort(403)
    appointment = query.get_or_none()
    if appointment is None:
        abort(404)
    return appointment


def patient_for(user: User, patient_id: int) -> Patient:
    """A patient whose record this user may read: their own; for a doctor, someone who has or
    had an appointment with them; any, for an admin. Others are 404; the front desk, 403."""
    if user.role == "receptionist":
        abort(403)
    query = Patient.select().where(Patient.id == patient_id)
    if user.role == "patient":
        query = query.where(Patient.user == user)
    elif user.role == "doctor":
        query = query.where(fn.EXISTS(
            Appointment.select(Appointment.id).join(Doctor)
            .where(Appointment.patient == Patient.id, Doctor.user == user)))
    patient = query.get_or_none()
    if patient is None:
        abort(404)
    return patient


def landing_url(user: User) -> str:
    """Where a role starts its day."""
    return url_for(LANDING[user.role])


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in with username and password; the failure message never says which was wrong."""
    if current_user.is_authenticated:
        return redirect(landing_url(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = User.get_or_none(User.username == form.username.data.strip())
        password_ok = check_password_hash(
            user.password_hash if user and user.password_hash else _DUMMY_HASH, form.password.data
        )
        if user and user.password_hash and password_ok:
            if not user.is_active:
                form.form_errors.append("This account has been deactivated. "
                                        "Please contact the hospital's front desk.")
            else:
                login_user(user)
                flash(f"Welcome, {user.display_name}.", "success")
                return redirect(local_path(request.args.get("next")) or landing_url(user), 303)
        else:
            form.form_errors.append("Wrong username or password.")
    status = 422 if request.method == "POST" else 200
    return render("auth/login.html", "auth/_login_form.html", status=status, form=form)



@bp.post("/logout")
@login_required
def logout():
    """Log out and return to the login page."""
    logout_user()
    flash("You have been logged out.", "success")
    return redirect(url_for("auth.login"), 303)


@bp.route("/register", methods=["GET", "POST"])
def register():
    """A patient creates their account and profile in one step."""
    if current_user.is_authenticated:
        return redirect(landing_url(current_user))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = register_patient(
                username=form.username.data, email=form.email.data,
                password=form.password.data, full_name=form.full_name.data,
                gender=form.gender.data, dob=form.dob.data, phone=form.phone.data,
                address=form.address.data or "",
            )
        except IntegrityError:
            # Someone took the username or email between our check and the insert.
            form.username.errors.append("That username or email was just taken; "
                                        "please choose another.")
        else:
            login_user(user)
            flash("Your account is ready. Welcome!", "success")
            return redirect(landing_url(user), 303)
    status = 422 if request.method == "POST" else 200
    return render("auth/register.html", "auth/_register_form.html", status=status, form=form)

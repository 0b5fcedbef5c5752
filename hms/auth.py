"""Accounts: log in, log out, register; the user loader; role and ownership helpers."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    request,
    url_for,
)
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from peewee import IntegrityError, fn
from werkzeug.security import check_password_hash

from hms import passwords, sessions
from hms.accounts import hash_password, register_patient
from hms.audit import audit
from hms.db import write_transaction
from hms.forms import (
    ChangePasswordForm,
    CodeForm,
    ForgotForm,
    LoginForm,
    NewPasswordForm,
    RegisterForm,
    normalise_email,
)
from hms.models import Appointment, Doctor, Patient, User
from hms.throttle import by_email, by_username, failed, limiter, setting
from hms.web import local_path, render, see_other

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
               ("patients.index", "My patients"), ("followups.index", "Recalls"),
               ("waiting.index", "Waitlist"), ("availability.week", "Availability"),
               ("availability.plan", "Weekly plan"), ("reports.doctor_stats", "Statistics"),
               ("profiles.doctor", "Profile")],
    "patient": [("home.patient", "Home"), ("doctors.index", "Find a doctor"),
                ("appointments.mine", "My appointments"), ("patients.my_history", "History"),
                ("profiles.patient", "Profile")],
    "receptionist": [("desk.index", "Front desk"), ("waiting.index", "Waitlist"),
                     ("doctors.index", "Doctors")],
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
    flash("Your session ended after a while without activity. Please log in again."
          if g.get("session_timed_out") else login_manager.login_message, "error")
    return redirect(target)


@login_manager.user_loader
def load_user(token: str) -> User | None:
    """The cookie's session token, if its session is still open (hms/sessions.py); deactivated
    users load as nobody, so they are logged out on their next request."""
    return sessions.load(token)


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


def _log_in(user: User) -> None:
    """Start a new server-side session for user (hms/sessions.py), with a new CSRF secret."""
    sessions.start(user)
    login_user(user)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(setting("LIMIT_LOGIN_ACCOUNT"), key_func=by_username, methods=["POST"],
               deduct_when=failed, scope="login-account")
@limiter.limit(setting("LIMIT_LOGIN_ADDRESS"), methods=["POST"], deduct_when=failed,
               scope="login-address")
def login():
    """Log in with username and password; the failure message never says which was wrong.
    Failed attempts are throttled per account and per client address (hms/throttle.py)."""
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
                _log_in(user)
                flash(f"Welcome, {user.display_name}.", "success")
                return see_other(local_path(request.args.get("next")) or landing_url(user))
        else:
            form.form_errors.append("Wrong username or password.")
    status = 422 if request.method == "POST" else 200
    return render("auth/login.html", "auth/_login_form.html", status=status, form=form)


@bp.post("/logout")
@login_required
def logout():
    """Log out: the session ends on the server, so a copy of the cookie stops working too."""
    sessions.end_current()
    logout_user()
    flash("You have been logged out.", "success")
    return see_other(url_for("auth.login"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(setting("LIMIT_REGISTER_ADDRESS"), methods=["POST"], deduct_when=lambda r:
               r.status_code == 200, scope="register")
def register():
    """A patient creates their account and profile in one step, and confirms their e-mail
    address through the link we send. The answer is the same whether or not the address
    already has an account (then its owner is told by e-mail instead), so the form cannot be
    used to learn who is a patient here."""
    if current_user.is_authenticated:
        return redirect(landing_url(current_user))
    form = RegisterForm()
    if form.validate_on_submit():
        email = normalise_email(form.email.data)
        owner = User.get_or_none(User.email == email)
        try:
            with write_transaction():
                if owner is not None:
                    sent = passwords.mail(owner, "signup")
                else:
                    user = register_patient(
                        username=form.username.data, email=email, password=None,
                        full_name=form.full_name.data, gender=form.gender.data,
                        dob=form.dob.data, phone=form.phone.data,
                        address=form.address.data or "")
                    sent = passwords.mail(user, "confirm", hash_password(form.password.data))
        except IntegrityError:
            # Someone took the username between our check and the insert.
            form.username.errors.append("That username was just taken; please choose another.")
        else:
            passwords.hand_out(sent)
            return render("auth/check_mail.html", "auth/_check_mail.html", email=email,
                          days=current_app.config["INVITE_DAYS"])
    status = 422 if request.method == "POST" else 200
    return render("auth/register.html", "auth/_register_form.html", status=status, form=form)


@bp.route("/account/forgot", methods=["GET", "POST"])
@limiter.limit(setting("LIMIT_RESET_EMAIL"), key_func=by_email, methods=["POST"],
               scope="reset-email")
@limiter.limit(setting("LIMIT_RESET_ADDRESS"), methods=["POST"], scope="reset-address")
def forgot():
    """Ask for a password reset link by e-mail. The answer never says whether the address has
    an account."""
    form = ForgotForm()
    if form.validate_on_submit():
        email = normalise_email(form.email.data)
        user = User.get_or_none((User.email == email) & (User.is_active == True))  # noqa: E712
        if user is not None:
            with write_transaction():
                sent = passwords.mail(user, "reset")
            passwords.hand_out(sent)
        return render("auth/check_mail.html", "auth/_check_mail.html", email=email,
                      minutes=current_app.config["RESET_MINUTES"])
    status = 422 if request.method == "POST" else 200
    return render("auth/forgot.html", "auth/_forgot_form.html", status=status, form=form)


@bp.route("/account/password", methods=["GET", "POST"], defaults={"token": None})
@bp.route("/account/password/<token>", methods=["GET", "POST"])
@limiter.limit(setting("LIMIT_TOKEN_ADDRESS"), methods=["POST"], deduct_when=failed,
               scope="token")
def set_password(token: str | None):
    """Choose a password through a link (a reset, an invitation) or a code typed from a
    printed invitation; or confirm a registration. Each token works once, until it expires;
    using one ends every session of the account and logs its owner in."""
    if current_user.is_authenticated and token is None:
        return redirect(url_for(".change_password"))
    row = passwords.find(token) if token else None
    if token and row is None:
        return render("auth/token_invalid.html", "auth/_token_invalid.html", status=404)
    if row is not None and row.purpose == "confirm":
        return _confirm(row)
    form = NewPasswordForm() if row else CodeForm()
    if row is None and form.is_submitted():
        row = passwords.find(form.code.data or "")
    form.account_username = row.user.username if row else ""
    if form.validate_on_submit() and row is not None:
        if passwords.use(row, hash_password(form.password.data)):
            return _welcome(row.user, "Your password is set.")
        return render("auth/token_invalid.html", "auth/_token_invalid.html", status=404)
    if form.is_submitted() and row is None:
        form.code.errors.append("That code is not right, or it has been used or has expired. "
                                "Check it, or ask the front desk for a new one.")
    status = 422 if request.method == "POST" else 200
    return render("auth/set_password.html", "auth/_set_password_form.html", status=status,
                  form=form, token=token, account=row.user if row else None)


def _confirm(row) -> Response:
    """A registration's link: a button (a mail scanner that opens the link changes nothing),
    which sets the password chosen at registration and logs the new patient in."""
    form = FlaskForm()
    if form.validate_on_submit():
        if passwords.use(row, row.password_hash):
            return _welcome(row.user, "Your account is ready. Welcome!")
        return render("auth/token_invalid.html", "auth/_token_invalid.html", status=404)
    return render("auth/confirm.html", "auth/_confirm_form.html", form=form, account=row.user)


def _welcome(user: User, message: str) -> Response:
    if current_user.is_authenticated:
        sessions.end_current()
        logout_user()
    sessions.end_all(user)
    _log_in(user)
    flash(message, "success")
    return see_other(landing_url(user))


@bp.route("/account/password/change", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's password: the current one first; every other session then ends."""
    form = ChangePasswordForm()
    form.account_username = current_user.username
    if form.validate_on_submit():
        if not (current_user.password_hash
                and check_password_hash(current_user.password_hash, form.current.data)):
            form.current.errors.append("That is not your current password.")
        else:
            with write_transaction():
                User.update(password_hash=hash_password(form.password.data)).where(
                    User.id == current_user.id).execute()
                ended = sessions.end_all(current_user, keep=sessions.current())
            flash("Your password is changed." + (
                f" {ended} other session{'' if ended == 1 else 's'} logged out." if ended else ""),
                "success")
            return see_other(landing_url(current_user))
    status = 422 if request.method == "POST" else 200
    return render("auth/change_password.html", "auth/_change_password_form.html",
                  status=status, form=form)


@bp.post("/account/invite/<int:user_id>")
@role_required("admin", "receptionist")
def invite(user_id: int):
    """Invite someone to choose their password: a walk-in or admin-registered patient (the
    front desk and admins), or staff (admins). The code and link are shown once, to print."""
    user = User.get_or_none((User.id == user_id) & (User.is_active == True))  # noqa: E712
    if user is None:
        abort(404)
    if current_user.role == "receptionist" and user.role != "patient":
        abort(403)
    invitation = passwords.invite(user)
    patient = Patient.get_or_none(Patient.user == user)
    audit(current_user, "invite", patient, "user", user.id)
    return render("auth/invitation.html", "auth/_invitation.html", invitation=invitation,
                  status=201)

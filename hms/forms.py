"""The forms of the accounts area, validated beside each field by WTForms."""

from __future__ import annotations

import datetime as dt
import re

from flask_wtf import FlaskForm
from peewee import fn
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FloatField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from hms.models import BLOOD_GROUPS, GENDERS, Department, Doctor, User
from hms.passwords import MAX_LENGTH, PasswordPolicy
from hms.web import ascii_int


class NoControlCharacters:
    """Refuse invisible control characters (a NUL, a tab) in names."""

    def __call__(self, form: FlaskForm, field: StringField) -> None:
        if field.data and any(ord(c) < 0x20 or ord(c) == 0x7F for c in field.data):
            raise ValidationError("Use letters, digits and punctuation only.")


class WholeNumberField(IntegerField):
    """A whole number in the digits 0-9: WTForms' int() would read '٣' as 3."""

    def process_formdata(self, valuelist: list[str]) -> None:
        if valuelist:
            self.data = ascii_int(valuelist[0], max_digits=9)
            if self.data is None:
                raise ValueError("Enter a whole number, like 12.")


DECIMAL = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,6})?")


class DecimalNumberField(FloatField):
    """A number like 172 or 172.5 in the digits 0-9: float() would also take '٣', 'nan',
    '1e3' and '1_0'."""

    def process_formdata(self, valuelist: list[str]) -> None:
        if valuelist:
            value = valuelist[0].strip()
            self.data = float(value) if DECIMAL.fullmatch(value) else None
            if self.data is None:
                raise ValueError("Enter a number, like 72 or 72.5.")


def choice_id(value: object) -> int:
    """Coerce a chosen id (a select's choices are ints; what is posted must be 0-9 digits)."""
    if isinstance(value, int):
        return value
    number = ascii_int(value if isinstance(value, str) else None)
    if number is None:
        raise ValueError("not an id")
    return number


USERNAME = Regexp(r"^[A-Za-z0-9_.-]+$", message="Use letters, digits, dots, dashes or underscores.")
EMAIL = Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
               message="Enter an email address like name@example.org.")
PHONE = Regexp(r"^\+?[0-9 ()-]{6,20}$", message="Enter a phone number of 6 to 20 digits.")


def at_most(n: int) -> Length:
    """A text field's longest value, said beside the field (and sent as maxlength)."""
    return Length(max=n, message=f"Use at most {n} characters.")


def _past_birth_date(form: FlaskForm, field: DateField) -> None:
    from hms.clock import clinic_today

    today = clinic_today()
    if field.data and field.data >= today:
        raise ValidationError("The date of birth must be in the past.")
    if field.data and field.data.year < today.year - 130:
        raise ValidationError("Please check the year of birth.")


def _strip(value: str | None) -> str | None:
    """Trim what was typed, so '   ' counts as nothing."""
    return value.strip() if isinstance(value, str) else value


def _blank_as_none(value: str | None) -> str | None:
    """Trim what was typed, and make blank mean 'none' (NULL, never a second '')."""
    return (value.strip() or None) if isinstance(value, str) else value


def _gender_choices() -> list[SelectChoice]:
    return [SelectChoice("", "Choose…")] + [SelectChoice(g, g.title()) for g in GENDERS]


class LoginForm(FlaskForm):
    username = StringField("Username", [InputRequired(message="Enter your username."),
                                        at_most(254)])
    password = PasswordField("Password", [InputRequired(message="Enter your password."),
                                          at_most(MAX_LENGTH)])


class NewPasswordForm(FlaskForm):
    """Choosing a password: through a reset link, an invitation or a code. `account_username`
    is set by the view, so that the policy can refuse a password containing it."""

    password = PasswordField("New password", [InputRequired(message="Choose a password."),
                                              PasswordPolicy()])
    confirm = PasswordField("Repeat the new password", [
        EqualTo("password", message="The passwords do not match.")])


class CodeForm(NewPasswordForm):
    """A printed invitation: the code typed from the slip, and the password."""

    code = StringField("Code from your letter", [InputRequired(message="Type the code."),
                                                 at_most(60)])


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField("Current password", [
        InputRequired(message="Enter your current password."), at_most(MAX_LENGTH)])


class ForgotForm(FlaskForm):
    email = EmailField("Email", [InputRequired(message="Enter your email address."),
                                 at_most(254), EMAIL])


class PersonForm(FlaskForm):
    """Who a patient is: the four things the front desk asks a walk-in; the other patient
    forms add to them."""

    full_name = StringField("Full name", filters=[_strip], validators=[
        DataRequired(message="Enter the full name."), NoControlCharacters(), at_most(120)])
    phone = StringField("Phone", filters=[_strip], validators=[
        InputRequired(message="Enter a phone number."), PHONE])
    gender = SelectField("Gender", choices=_gender_choices(),
                         validators=[InputRequired(message="Choose a gender.")])
    dob = DateField("Date of birth", [InputRequired(message="Enter the date of birth."),
                                      _past_birth_date])


class RegisterForm(PersonForm):
    # Declared in the page's order, which the error summary follows.
    address = TextAreaField("Address", [Optional(), at_most(500)])
    username = StringField("Username", [InputRequired(message="Choose a username."),
                                        Length(min=3, max=40), USERNAME])
    email = EmailField("Email", [InputRequired(message="Enter your email address."),
                                 at_most(254), EMAIL])
    password = PasswordField("Password", [InputRequired(message="Choose a password."),
                                          PasswordPolicy("username")])
    confirm = PasswordField("Repeat password", [EqualTo("password",
                                                        message="The passwords do not match.")])

    # No check that the e-mail is free: the answer must not tell anyone whether an address
    # has an account (the view mails its owner instead).
    def validate_username(self, field: StringField) -> None:
        unused_username(field)


def unused_username(field: StringField) -> None:
    """Refuse a username someone already has."""
    if User.select().where(User.username == field.data.strip()).exists():
        raise ValidationError("That username is taken; please choose another.")


def unused_email(field: EmailField, message: str, except_user: int | None = None) -> None:
    """Refuse an email address another account already has."""
    taken = User.select().where(User.email == normalise_email(field.data))
    if except_user:
        taken = taken.where(User.id != except_user)
    if field.data and taken.exists():
        raise ValidationError(message)


def normalise_email(value: str) -> str:
    """Emails are stored trimmed and lower-cased so that one person has one account."""
    return re.sub(r"\s+", "", value or "").lower()


class PatientProfileForm(PersonForm):
    address = TextAreaField("Address", [Optional(), at_most(500)])
    height_cm = DecimalNumberField("Height (cm)", [Optional(), NumberRange(
        min=30, max=260, message="Enter a height between 30 and 260 cm.")])
    weight_kg = DecimalNumberField("Weight (kg)", [Optional(), NumberRange(
        min=1, max=400, message="Enter a weight between 1 and 400 kg.")])
    blood_group = SelectField("Blood group", choices=[SelectChoice("", "Not known")]
                              + [SelectChoice(b, b) for b in BLOOD_GROUPS])
    is_disabled = BooleanField("I have a disability the clinic should know about")


class DoctorProfileForm(FlaskForm):
    full_name = StringField("Full name", filters=[_strip], validators=[
        DataRequired(message="Enter the full name."), NoControlCharacters(), at_most(120)])
    department = SelectField("Specialization", coerce=choice_id,
                             validators=[InputRequired(message="Choose a specialization.")])
    experience_years = WholeNumberField("Years of experience", [
        InputRequired(message="Enter your years of experience."),
        NumberRange(min=0, max=70, message="Enter a number from 0 to 70.")])
    about = TextAreaField("About", [Optional(), at_most(2000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._doctor_id = getattr(kwargs.get("obj"), "id", None)  # the doctor edited, if any
        self.department.choices = [SelectChoice(d.id, d.name)
                                   for d in Department.select().order_by(Department.name)]

    def validate_full_name(self, field: StringField) -> None:
        """Patients and the desk pick a doctor by name: two with one name cannot be told apart."""
        if field.errors:  # already refused (blank, control characters): not for the database
            return
        same = Doctor.select().where(fn.LOWER(Doctor.full_name) == field.data.lower())
        if self._doctor_id:
            same = same.where(Doctor.id != self._doctor_id)
        if same.exists():
            raise ValidationError("Another doctor has this name. Add what tells them apart, "
                                  "such as a middle initial.")


class NewLoginForm(FlaskForm):
    """The login part of an account the admin creates. Nobody but its owner ever knows its
    password: the owner is invited by e-mail (and by a code shown once) to choose it."""

    username = StringField("Username", [InputRequired(message="Choose a username."),
                                        Length(min=3, max=40,
                                               message="Use from 3 to 40 characters."),
                                        USERNAME])
    email = EmailField("Email", [InputRequired(message="Enter an email address."),
                                 at_most(254), EMAIL])

    def validate_username(self, field: StringField) -> None:
        unused_username(field)

    def validate_email(self, field: EmailField) -> None:
        unused_email(field, "An account with this email already exists.")


class NewDoctorForm(DoctorProfileForm, NewLoginForm):
    """A doctor's profile and login, created together by an admin."""


class StaffForm(NewLoginForm):
    role = SelectField("Role", choices=[SelectChoice("receptionist", "Receptionist"),
                                        SelectChoice("admin", "Administrator")])


class AdminPatientForm(PatientProfileForm):
    """A patient registered by staff; the email is optional (a login can come later)."""

    email = EmailField("Email (optional)", filters=[_blank_as_none],
                       validators=[Optional(), at_most(254), EMAIL])

    def __init__(self, *args, current_user_id: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._user_id = current_user_id

    def validate_email(self, field: EmailField) -> None:
        unused_email(field, "An account with this email already exists.", self._user_id)


class WalkInForm(PersonForm):
    """The front desk's short form for a walk-in: the rest of the profile can wait."""


class DepartmentForm(FlaskForm):
    name = StringField("Name", filters=[_strip], validators=[
        DataRequired(message="Name the specialization."), NoControlCharacters(), at_most(80)])
    description = StringField("Description", [Optional(), at_most(500)])

    def __init__(self, *args, department_id: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._department_id = department_id

    def validate_name(self, field: StringField) -> None:
        if field.errors:  # already refused (blank, control characters): not for the database
            return
        same = Department.select().where(fn.LOWER(Department.name) == field.data.lower())
        if self._department_id:
            same = same.where(Department.id != self._department_id)
        if same.exists():
            raise ValidationError("That specialization already exists.")


PART_CHOICES = [SelectChoice("any", "Any time"), SelectChoice("morning", "Mornings"),
                SelectChoice("afternoon", "Afternoons")]


class WaitlistForm(FlaskForm):
    """Joining the waitlist: with which doctor (0: any doctor of the specialization), between
    which days, at what part of the day, and why (the booking's reason when a time is taken)."""

    doctor = SelectField("Doctor", coerce=choice_id)
    first_day = DateField("Earliest day", [
        InputRequired(message="Enter the first day you could come.")])
    last_day = DateField("Latest day", [
        InputRequired(message="Enter the last day you could come.")])
    part_of_day = SelectField("Times", choices=PART_CHOICES, default="any")
    reason = TextAreaField("Reason for the visit", filters=[_strip], validators=[
        DataRequired(message="Tell the doctor briefly why you are coming."), at_most(500)])

    def __init__(self, *args, department: Department, **kwargs):
        super().__init__(*args, **kwargs)
        from hms.scheduling import doctor_directory

        self.doctor.choices = [SelectChoice(0, f"Any doctor in {department.name}")] + [
            SelectChoice(d.id, d.full_name)
            for d in doctor_directory(department_id=department.id)]

    def validate_first_day(self, field: DateField) -> None:
        from hms.clock import clinic_today

        if field.data and field.data < clinic_today():
            raise ValidationError("The first day cannot be in the past.")

    def validate_last_day(self, field: DateField) -> None:
        from hms.clock import clinic_today
        from hms.waitlist import MAX_DAYS_AHEAD

        first = self.first_day.data
        if field.data and first and field.data < first:
            raise ValidationError("The last day cannot be before the first.")
        if field.data and field.data > clinic_today() + dt.timedelta(days=MAX_DAYS_AHEAD):
            raise ValidationError(f"Choose a day at most {MAX_DAYS_AHEAD} days ahead.")


class OverbookForm(FlaskForm):
    """An overbook allowance: how many appointments may be booked over a morning or afternoon."""

    day = DateField("Day", [InputRequired(message="Enter the day.")])
    part_of_day = SelectField("Session", choices=[SelectChoice("morning", "Morning"),
                                                  SelectChoice("afternoon", "Afternoon")])
    extra = WholeNumberField("Extra appointments", [
        InputRequired(message="Enter how many, from 0 to 10."),
        NumberRange(min=0, max=10, message="Enter a number from 0 to 10 (0 allows none).")])

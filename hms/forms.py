"""The forms of the accounts area, validated beside each field by WTForms."""

from __future__ import annotations

import datetime as dt
import re

from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import EqualTo, InputRequired, Length, Optional, Regexp, ValidationError

from hms.models import GENDERS, User

USERNAME = Regexp(r"^[A-Za-z0-9_.-]+$", message="Use letters, digits, dots, dashes or underscores.")
EMAIL = Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
               message="Enter an email address like name@example.org.")
PHONE = Regexp(r"^\+?[0-9 ()-]{6,20}$", message="Enter a phone number of 6 to 20 digits.")


def _past_birth_date(form: FlaskForm, field: DateField) -> None:
    today = dt.date.today()
    if field.data and field.data >= today:
        raise ValidationError("The date of birth must be in the past.")
    if field.data and field.data.year < today.year - 130:
        raise ValidationError("Please check the year of birth.")


class LoginForm(FlaskForm):
    username = StringField("Username", [InputRequired(message="Enter your username.")])
    password = PasswordField("Password", [InputRequired(message="Enter your password.")])


class RegisterForm(FlaskForm):
    full_name = StringField("Full name", [InputRequired(message="Enter your full name."),
                                          Length(max=120)])
    username = StringField("Username", [InputRequired(message="Choose a username."),
                                        Length(min=3, max=40), USERNAME])
    email = EmailField("Email", [InputRequired(message="Enter your email address."),
                                 Length(max=254), EMAIL])
    password = PasswordField("Password", [InputRequired(message="Choose a password."),
                                          Length(min=8, message="Use at least 8 characters.")])
    confirm = PasswordField("Repeat password", [EqualTo("password",
                                                        message="The passwords do not match.")])
    gender = SelectField("Gender", choices=[SelectChoice("", "Choose…")]
                         + [SelectChoice(g, g.title()) for g in GENDERS],
                         validators=[InputRequired(message="Choose a gender.")])
    dob = DateField("Date of birth", [InputRequired(message="Enter your date of birth."),
                                      _past_birth_date])
    phone = StringField("Phone", [InputRequired(message="Enter a phone number."), PHONE])
    address = TextAreaField("Address", [Optional(), Length(max=500)])

    def validate_username(self, field: StringField) -> None:
        if User.select().where(User.username == field.data.strip()).exists():
            raise ValidationError("That username is taken; please choose another.")

    def validate_email(self, field: EmailField) -> None:
        if User.select().where(User.email == normalise_email(field.data)).exists():
            raise ValidationError("An account with this email already exists. Log in instead.")


def normalise_email(value: str) -> str:
    """Emails are stored trimmed and lower-cased so that one person has one account."""
    return re.sub(r"\s+", "", value or "").lower()

"""One class per table of schema.sql, with query helpers named in clinic words."""

from __future__ import annotations

import datetime as dt
import re

from flask_login import UserMixin
from peewee import (
    SQL,
    AutoField,
    BlobField,
    BooleanField,
    CharField,
    Check,
    CompositeKey,
    DateField,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
    TimeField,
)
from playhouse.sqlite_ext import FTS5Model, RowIDField, SearchField

from hms.clock import utc_now
from hms.db import db, is_sqlite
from hms.web import ascii_int

ROLES = ("admin", "doctor", "patient", "receptionist")
GENDERS = ("female", "male", "other")
BLOOD_GROUPS = ("A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-")
VISIT_TYPES = ("first", "follow_up", "emergency", "routine")
# An appointment holds its slot in every status but these two.
FREEING_STATUSES = ("cancelled", "rescheduled")
LIVE_STATUSES = ("booked", "checked_in", "completed", "no_show")
# Still to happen: the patient is expected, or waiting to be seen.
WAITING_STATUSES = ("booked", "checked_in")
STATUSES = LIVE_STATUSES + FREEING_STATUSES


def _literals(values: tuple[str, ...]) -> str:
    """An SQL list of string literals: ('a', 'b')."""
    return f"({', '.join(repr(v) for v in values)})"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN {_literals(values)}"


LIVE = SQL(_in("status", LIVE_STATUSES))
# The live statuses as an SQL literal: SQLite uses the partial unique indexes below only for a
# query whose WHERE names them as literals, and Peewee's `in_` of a tuple binds parameters.
LIVE_LIST = SQL(_literals(LIVE_STATUSES))


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


class Department(BaseModel):
    """A specialization a patient books by: Cardiology, Paediatrics, ..."""

    id = AutoField()
    name = CharField(max_length=80, unique=True)
    description = TextField(default="")


class User(UserMixin, BaseModel):
    """A login. Walk-in patients registered at the desk have no email or password yet."""

    id = AutoField()
    username = CharField(max_length=40, unique=True)
    email = CharField(max_length=254, unique=True, null=True, constraints=[Check("email <> ''")])
    password_hash = CharField(max_length=255, null=True)
    role = CharField(max_length=20, constraints=[Check(_in("role", ROLES))])
    is_active = BooleanField(default=True)
    created_at = DateTimeField(default=utc_now)

    class Meta:
        table_name = "users"
        indexes = ((("role", "created_at"), False),)  # new patients in a period

    @classmethod
    def ids_matching(cls, q: str):
        """The ids of the logins whose username or e-mail contains q: through the trigram index
        (UserSearch) from three characters on; shorter text is compared row by row."""
        if len(q) < 3 or not is_sqlite():  # PostgreSQL: ILIKE through pg_trgm's GIN indexes
            return cls.select(cls.id).where(cls.username.contains(q) | cls.email.contains(q))
        return UserSearch.select(UserSearch.rowid).where(UserSearch.match(phrase(q)))

    # Set when the login is loaded from, or starts, a session (hms/sessions.py).
    session_token: str | None = None

    def get_id(self) -> str | None:
        """What Flask-Login keeps in the cookie: the session's token, never the user's id,
        so that ending the session ends the cookie."""
        return self.session_token

    @property
    def display_name(self) -> str:
        """The name to greet the user by: the profile's full name where there is one."""
        profile = self.profile
        return profile.full_name if profile else self.username

    @property
    def profile(self) -> Patient | Doctor | None:
        """The patient or doctor profile belonging to this login, if any."""
        if self.role == "patient":
            return Patient.get_or_none(Patient.user == self)
        if self.role == "doctor":
            return Doctor.get_or_none(Doctor.user == self)
        return None


class UserSession(BaseModel):
    """One login: the session cookie carries a random token whose SHA-256 is kept here, so
    ending the row (logout, a password change, an idle or overlong session) ends the cookie,
    wherever it was copied. Flash messages of a logged-in user wait here, not in the cookie."""

    id = AutoField()
    user = ForeignKeyField(User, on_delete="CASCADE", backref="+")
    token_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=utc_now)
    seen_at = DateTimeField(default=utc_now)
    ended_at = DateTimeField(null=True)
    flashes = TextField(null=True)  # JSON [[number, category, message], ...]: see sessions


TOKEN_PURPOSES = ("reset", "invite", "confirm")


class AccountToken(BaseModel):
    """A single-use link or code that lets someone set their password: a reset they asked
    for, an invitation to a new account, or the confirmation of a registration's address. The token is an HMAC of the row and its nonce
    under the secret key (hms/passwords.py): nothing here alone rebuilds it."""

    id = AutoField()
    user = ForeignKeyField(User, on_delete="CASCADE", backref="+")
    purpose = CharField(max_length=10, constraints=[Check(_in("purpose", TOKEN_PURPOSES))])
    nonce = CharField(max_length=32)
    created_at = DateTimeField(default=utc_now)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)
    password_hash = CharField(max_length=255, null=True)  # confirm: chosen at registration


class UserSearch(FTS5Model):
    """A trigram full-text index over usernames and e-mails (kept current by schema.sql's
    triggers): the admin's search finds a login without reading every user."""

    rowid = RowIDField()  # the user's id
    username = SearchField()
    email = SearchField()

    class Meta:
        database = db
        table_name = "user_search"
        options = {"content": "users", "content_rowid": "id", "tokenize": "trigram"}


class UserTally(BaseModel):
    """How many logins each role has, active and not, kept exact by triggers (schema.sql)."""

    role = CharField(max_length=20, constraints=[Check(_in("role", ROLES))])
    is_active = IntegerField(constraints=[Check("is_active IN (0, 1)")])
    users = IntegerField(default=0, constraints=[Check("users >= 0")])

    class Meta:
        primary_key = CompositeKey("role", "is_active")
        without_rowid = True

    @classmethod
    def active(cls, role: str) -> int:
        """How many active logins the role has."""
        return cls.get(cls.role == role, cls.is_active == 1).users


def phrase(q: str) -> str:
    """q as one FTS5 phrase: matched as written, quotes and operators included."""
    return '"' + q.replace('"', '""') + '"'


# Matches of a desk search that are sorted by name (Patient.search).
SEARCH_CANDIDATES = 200


class Patient(BaseModel):
    """A patient's profile; its id is the patient number on slips and at the desk."""

    id = AutoField()
    user = ForeignKeyField(User, unique=True, on_delete="RESTRICT", backref="patient_profile")
    full_name = CharField(max_length=120)
    gender = CharField(max_length=10, constraints=[Check(_in("gender", GENDERS))])
    dob = DateField()
    address = TextField(default="")
    phone = CharField(max_length=30, default="")
    height_cm = FloatField(null=True, constraints=[Check("height_cm BETWEEN 30 AND 260")])
    weight_kg = FloatField(null=True, constraints=[Check("weight_kg BETWEEN 1 AND 400")])
    blood_group = CharField(
        max_length=3, null=True, constraints=[Check(_in("blood_group", BLOOD_GROUPS))]
    )
    is_disabled = BooleanField(default=False)

    class Meta:
        indexes = ((("phone",), False),)

    @classmethod
    def search(cls, q: str, limit: int = 10):
        """Active patients whose name or phone contains q, or whose number is q, by name. Of a
        common name (thousands of "Grace"s in a large hospital) only the first
        SEARCH_CANDIDATES matches are sorted, so the search costs the same in any hospital;
        the caller asks for one more than it shows, and says to type more when it comes."""
        q = q.strip()
        match = cls.matching(q, SEARCH_CANDIDATES)
        number = ascii_int(q.lstrip("#"))
        if number is not None:
            match |= cls.id == number
        return (cls.select(cls).join(User).where(User.is_active == True, match)  # noqa: E712
                .order_by(cls.full_name).limit(limit))

    @classmethod
    def matching(cls, q: str, candidates: int | None = None):
        """The condition 'name or phone contains q' (at most `candidates` matches, when
        given): a phone number, however it is spaced, through the phone's digits
        (PhoneSearch); other text through the trigram index (PatientSearch on SQLite, pg_trgm
        on PostgreSQL) from three characters on; shorter text is compared row by row."""
        digits = PhoneSearch.digits_of(q)
        if len(digits) >= 3:
            found = PhoneSearch.select(PhoneSearch.patient_id).where(
                PhoneSearch.digits >= digits, PhoneSearch.digits < digits + ":")  # ':' follows '9'
        elif len(q) < 3:
            return cls.full_name.contains(q) | cls.phone.contains(q)
        elif not is_sqlite():  # PostgreSQL: ILIKE through pg_trgm's GIN indexes
            found = cls.select(cls.id).where(cls.full_name.contains(q) | cls.phone.contains(q))
        else:
            found = PatientSearch.select(PatientSearch.rowid).where(
                PatientSearch.match(phrase(q)))
        return cls.id.in_(found.limit(candidates) if candidates else found)

    def age_on(self, day: dt.date) -> int:
        """Age in whole years on a given day."""
        return day.year - self.dob.year - ((day.month, day.day) < (self.dob.month, self.dob.day))


class PatientSearch(FTS5Model):
    """A trigram full-text index over patients' names and phones (SQLite FTS5, kept current by
    the triggers in schema.sql): searching "contains" without reading every patient."""

    rowid = RowIDField()  # the patient's id
    full_name = SearchField()
    phone = SearchField()

    class Meta:
        database = db
        table_name = "patient_search"
        options = {"content": "patient", "content_rowid": "id", "tokenize": "trigram"}


class PhoneSearch(BaseModel):
    """Every ending of each patient's phone digits, three digits or more (the view
    phone_endings in schema.sql says which, and triggers keep this table equal to it): the
    patients whose phone contains some digits are one range of the key."""

    digits = TextField()
    patient_id = IntegerField()

    class Meta:
        table_name = "phone_search"
        primary_key = CompositeKey("digits", "patient_id")
        without_rowid = True

    @staticmethod
    def digits_of(q: str) -> str:
        """The digits of q when it is written as a phone number (digits, spaces, "+", "-",
        brackets); otherwise ''."""
        return re.sub(r"[ +()-]", "", q) if PHONE_TEXT.fullmatch(q) else ""


PHONE_TEXT = re.compile(r"[0-9 +()-]+")


class Doctor(BaseModel):
    """A doctor's profile; bookable only while their login is active."""

    id = AutoField()
    user = ForeignKeyField(User, unique=True, on_delete="RESTRICT", backref="doctor_profile")
    full_name = CharField(max_length=120)
    department = ForeignKeyField(Department, on_delete="RESTRICT", backref="doctors")
    experience_years = IntegerField(default=0,
                                    constraints=[Check("experience_years BETWEEN 0 AND 70")])
    about = TextField(default="")

    @classmethod
    def bookable(cls):
        """Doctors patients may find and book: those whose login is active."""
        return (
            cls.select(cls, Department)
            .join(User, on=(cls.user == User.id))
            .switch(cls)
            .join(Department)
            .where(User.is_active == True)  # noqa: E712
            .order_by(cls.full_name)
        )


class DoctorAvailability(BaseModel):
    """One slot of a doctor's diary: open for booking or not."""

    id = AutoField()
    doctor = ForeignKeyField(Doctor, index=False, on_delete="CASCADE", backref="availability")
    date = DateField()
    time_slot = TimeField()
    is_available = BooleanField(default=True)

    class Meta:
        indexes = ((("doctor", "date", "time_slot"), True),)


class WorkingHours(BaseModel):
    """A doctor's weekly plan (weekday 0 = Monday) from which new weeks' slots are opened."""

    id = AutoField()
    doctor = ForeignKeyField(Doctor, index=False, on_delete="CASCADE", backref="working_hours")
    weekday = IntegerField(constraints=[Check("weekday BETWEEN 0 AND 6")])
    start_time = TimeField()
    end_time = TimeField(constraints=[Check("end_time > start_time")])

    class Meta:
        indexes = ((("doctor", "weekday", "start_time"), True),)


class Appointment(BaseModel):
    """A patient's visit to a doctor at a wall-clock slot in the clinic's time zone."""

    id = AutoField()
    # Indexed with the date and time below: a doctor's diary and a patient's history by date.
    patient = ForeignKeyField(Patient, index=False, on_delete="RESTRICT", backref="appointments")
    doctor = ForeignKeyField(Doctor, index=False, on_delete="RESTRICT", backref="appointments")
    date = DateField()
    time = TimeField()
    status = CharField(
        max_length=12, default="booked", constraints=[Check(_in("status", STATUSES))]
    )
    reason = TextField(default="")
    created_at = DateTimeField(default=utc_now)
    booked_by = ForeignKeyField(User, null=True, index=False, on_delete="SET NULL", backref="+")
    cancelled_at = DateTimeField(null=True)
    cancelled_by = ForeignKeyField(User, null=True, index=False, on_delete="SET NULL", backref="+")
    cancel_reason = TextField(null=True)
    rescheduled_from = ForeignKeyField(
        "self", null=True, unique=True, on_delete="RESTRICT", backref="+"
    )
    # The visit as it went, in UTC: confirmed from the reminder, arrived, in with the doctor,
    # out again (hms/visits.py).
    confirmed_at = DateTimeField(null=True)
    checked_in_at = DateTimeField(null=True)
    started_at = DateTimeField(null=True)
    ended_at = DateTimeField(null=True)
    # Marked a no-show by the day's run, not a person; a no-show staff took back is left
    # alone by the run from then on.
    no_show_auto = BooleanField(default=False)
    no_show_undone_at = DateTimeField(null=True)
    late_cancel = BooleanField(default=False)  # cancelled with less than LATE_CANCEL_HOURS
    # Booked over a session's allowance (hms/overbooking.py): holds no slot of the doctor's.
    overbook_reason = TextField(null=True, constraints=[Check("overbook_reason <> ''")])
    overbook = BooleanField(default=False, constraints=[
        Check("NOT overbook OR overbook_reason IS NOT NULL")])

    class Meta:
        indexes = (
            (("date", "time"), False),
            (("doctor", "date", "time"), False),
            (("patient", "date", "time"), False),
            (("status", "date"), False),
        )

    @property
    def in_consultation(self) -> bool:
        """Checked in and gone in to the doctor, not yet out."""
        return self.status == "checked_in" and self.started_at is not None

    @classmethod
    def to_change(cls, appointment_id: int) -> Appointment:
        """The appointment read afresh inside a write transaction and held until it commits,
        so two changes of one appointment take turns: SQLite's write lock holds every row
        already; PostgreSQL locks this one (FOR UPDATE)."""
        query = cls.select().where(cls.id == appointment_id)
        return (query if is_sqlite() else query.for_update()).get()

    @classmethod
    def is_live(cls):
        """The condition 'holds its slot', written so the live-slot indexes can serve it."""
        return cls.status.in_(LIVE_LIST)

    @classmethod
    def starting_from(cls, now: dt.datetime):
        """The condition 'starts at or after this wall-clock time'."""
        return (cls.date > now.date()) | ((cls.date == now.date()) & (cls.time >= now.time()))

    @classmethod
    def upcoming_for_patient(cls, patient: Patient, now: dt.datetime):
        """A patient's appointments still to come, soonest first."""
        return (
            cls.select(cls, Doctor, Department)
            .join(Doctor)
            .join(Department)
            .where(cls.patient == patient, cls.starting_from(now),
                   cls.status.in_(WAITING_STATUSES))
            .order_by(cls.date, cls.time)
        )

    @classmethod
    def on_day(cls, day: dt.date, doctor: Doctor | None = None):
        """One day's appointments that hold a slot, in time order (one doctor's, or all)."""
        query = (
            cls.select(cls, Patient, Doctor)
            .join(Patient)
            .switch(cls)
            .join(Doctor)
            .where(cls.date == day, cls.is_live())
            .order_by(cls.time, Doctor.full_name)
        )
        return query.where(cls.doctor == doctor) if doctor else query


# Live appointments hold a slot: the database refuses a second one for the doctor (overbooked
# ones aside) or patient.
Appointment.add_index(
    Appointment.index(Appointment.doctor, Appointment.date, Appointment.time, unique=True,
                      where=SQL(f"{_in('status', LIVE_STATUSES)} AND NOT overbook"),
                      name="appointment_live_doctor_slot")
)
Appointment.add_index(Appointment.index(Appointment.date, where=SQL("overbook"),
                                        name="appointment_overbook_date"))
Appointment.add_index(
    Appointment.index(Appointment.patient, Appointment.date, Appointment.time, unique=True,
                      where=LIVE, name="appointment_live_patient_slot")
)


class AppointmentTally(BaseModel):
    """How many appointments are in each status, kept exact by triggers (schema.sql)."""

    status = CharField(max_length=12, primary_key=True,
                       constraints=[Check(_in("status", STATUSES))])
    appointments = IntegerField(default=0, constraints=[Check("appointments >= 0")])

    @classmethod
    def by_status(cls) -> dict[str, int]:
        """Every status and how many appointments are in it now."""
        return dict(cls.select(cls.status, cls.appointments).tuples())


class AppointmentDay(BaseModel):
    """One doctor's appointments on one day, counted by status, kept exact by triggers
    (schema.sql): what analytics and the monthly reports add up."""

    date = DateField()
    doctor = ForeignKeyField(Doctor, index=False, on_delete="CASCADE", backref="+")
    booked = IntegerField(default=0, constraints=[Check('"booked" >= 0')])
    checked_in = IntegerField(default=0, constraints=[Check('"checked_in" >= 0')])
    completed = IntegerField(default=0, constraints=[Check('"completed" >= 0')])
    no_show = IntegerField(default=0, constraints=[Check('"no_show" >= 0')])
    cancelled = IntegerField(default=0, constraints=[Check('"cancelled" >= 0')])
    rescheduled = IntegerField(default=0, constraints=[Check('"rescheduled" >= 0')])

    class Meta:
        primary_key = CompositeKey("date", "doctor")
        without_rowid = True
        indexes = ((("doctor", "date"), False),)

    @classmethod
    def live(cls):
        """The day's appointments that hold a slot: every status but the freeing ones."""
        return cls.booked + cls.checked_in + cls.completed + cls.no_show


class DoctorPatient(BaseModel):
    """One of a doctor's patients: their appointments together and the latest one's date, with
    the patient's name for the order of "my patients" (kept exact by triggers, schema.sql)."""

    doctor = ForeignKeyField(Doctor, index=False, on_delete="CASCADE", backref="+")
    patient = ForeignKeyField(Patient, on_delete="CASCADE", backref="+")
    full_name = CharField(max_length=120)
    visits = IntegerField(constraints=[Check("visits > 0")])
    last_date = DateField()

    class Meta:
        primary_key = CompositeKey("doctor", "patient")
        without_rowid = True
        indexes = ((("doctor", "full_name"), False),)


class Treatment(BaseModel):
    """A doctor's record of one visit; several may be written for one appointment."""

    id = AutoField()
    appointment = ForeignKeyField(Appointment, on_delete="RESTRICT", backref="treatments")
    author = ForeignKeyField(User, index=False, on_delete="RESTRICT", backref="+")
    diagnosis = TextField()
    prescription = TextField(default="")
    notes = TextField(default="")
    visit_type = CharField(
        max_length=12, default="first", constraints=[Check(_in("visit_type", VISIT_TYPES))]
    )
    tests_text = TextField(default="")
    precautions = TextField(default="")
    follow_up_date = DateField(null=True)
    # A JSON list of {"name", "dose", "frequency", "days"} objects.
    medicines_json = TextField(default="[]", constraints=[Check("json_valid(medicines_json)")])
    created_at = DateTimeField(default=utc_now)

    class Meta:
        # Treatments written in a period, and by whom.
        indexes = ((("created_at",), False), (("author", "created_at"), False))


class AuditLog(BaseModel):
    """Who read or changed which clinical record, and when."""

    id = AutoField()
    user = ForeignKeyField(User, on_delete="RESTRICT", backref="+")
    action = CharField(max_length=40)
    patient = ForeignKeyField(Patient, null=True, index=False, on_delete="RESTRICT",
                              backref="+")
    object_type = CharField(max_length=40)
    object_id = IntegerField(null=True)
    created_at = DateTimeField(default=utc_now)

    class Meta:
        indexes = ((("created_at",), False), (("patient", "created_at"), False))


# queued: handed to the queue; sending: claimed by a worker (a lease until due_at); failed:
# to be retried at due_at; unknown: the server got the data but its answer was lost (not
# resent unless an admin says so); expired: the time for it passed unsent.
SEND_STATUSES = ("queued", "sending", "sent", "failed", "unknown", "expired")


class SendRecord(BaseModel):
    """A notice that must go out once: queued, claimed, then sent; or failed (retried with
    back-off), unknown or expired, with its error (schema.sql explains the columns)."""

    id = AutoField()
    status = CharField(max_length=10, default="queued",
                       constraints=[Check(_in("status", SEND_STATUSES))])
    attempts = IntegerField(default=0, constraints=[Check("attempts >= 0")])
    last_error = TextField(null=True)
    claimed_at = DateTimeField(default=utc_now)
    sent_at = DateTimeField(null=True)
    due_at = DateTimeField()
    expires_at = DateTimeField()
    message_id = CharField(max_length=200)
    handed_over = BooleanField(default=False)

    class Meta:
        indexes = ((("status", "due_at"), False),)


class Reminder(SendRecord):
    """The reminder of one appointment."""

    appointment = ForeignKeyField(Appointment, unique=True, on_delete="RESTRICT",
                                  backref="reminders")


class ReportSend(SendRecord):
    """One doctor's monthly activity report for one month (YYYY-MM)."""

    doctor = ForeignKeyField(Doctor, index=False, on_delete="CASCADE", backref="+")
    period = CharField(max_length=7)

    class Meta:
        indexes = ((("doctor", "period"), True), (("status", "due_at"), False))


MAIL_KINDS = ("reset", "invite", "signup", "confirm")


class AccountMail(SendRecord):
    """The e-mail carrying one account token: a reset link, an invitation, or (kind 'signup')
    the note to an address's owner that someone tried to register with it, or (kind
    'confirm') the link that finishes a registration."""

    token = ForeignKeyField(AccountToken, unique=True, on_delete="CASCADE", backref="+")
    kind = CharField(max_length=10, constraints=[Check(_in("kind", MAIL_KINDS))])


class HistoryPdf(BaseModel):
    """The latest PDF of a patient's history and the digest of what it was made from."""

    patient = ForeignKeyField(Patient, primary_key=True, on_delete="CASCADE", backref="+")
    digest = CharField(max_length=64)
    pdf = BlobField()
    created_at = DateTimeField(default=utc_now)


EXPORT_STATUSES = ("queued", "running", "done", "failed", "expired")
EXPORT_KINDS = ("csv", "pdf")


class ExportJob(BaseModel):
    """A background export of a patient's history, downloadable by its owner until it expires."""

    id = AutoField()
    owner = ForeignKeyField(User, on_delete="CASCADE", backref="+")
    patient = ForeignKeyField(Patient, index=False, on_delete="CASCADE", backref="+")
    status = CharField(max_length=10, default="queued",
                       constraints=[Check(_in("status", EXPORT_STATUSES))])
    progress = IntegerField(default=0, constraints=[Check("progress BETWEEN 0 AND 100")])
    error = TextField(null=True)
    created_at = DateTimeField(default=utc_now)
    finished_at = DateTimeField(null=True)
    expires_at = DateTimeField(index=True)
    kind = CharField(max_length=3, default="csv", constraints=[Check(_in("kind", EXPORT_KINDS))])
    # When the sweep next looks at it: a queued job is handed to the queue again, a running one
    # whose worker died (its lease ran out) is run again.
    due_at = DateTimeField(null=True)
    attempts = IntegerField(default=0, constraints=[Check("attempts >= 0")])

    class Meta:
        indexes = ((("status", "due_at"), False),)


class ExportFile(BaseModel):
    """A finished export's file, saved with the job's "done" in one transaction."""

    job = ForeignKeyField(ExportJob, primary_key=True, on_delete="CASCADE", backref="+")
    data = BlobField()


class ProfilePhoto(BaseModel):
    """A patient's or doctor's photo: the JPEG HMS made from their upload (hms/photos.py), and
    its SHA-256, which versions its URL and is its ETag."""

    user = ForeignKeyField(User, primary_key=True, on_delete="CASCADE", backref="+")
    jpeg = BlobField()
    etag = CharField(max_length=64)
    updated_at = DateTimeField(default=utc_now)


PARTS_OF_DAY = ("any", "morning", "afternoon")
WAITLIST_STATUSES = ("waiting", "booked", "removed", "ended")


class WaitlistEntry(BaseModel):
    """A patient waiting for a time with a doctor, or with any doctor of a specialization
    (doctor NULL), between two days, in a part of the day (hms/waitlist.py)."""

    id = AutoField()
    patient = ForeignKeyField(Patient, on_delete="CASCADE", backref="+")
    department = ForeignKeyField(Department, index=False, on_delete="CASCADE", backref="+")
    doctor = ForeignKeyField(Doctor, null=True, index=False, on_delete="CASCADE", backref="+")
    first_day = DateField()
    last_day = DateField(constraints=[Check("last_day >= first_day")])
    part_of_day = CharField(max_length=9, default="any",
                            constraints=[Check(_in("part_of_day", PARTS_OF_DAY))])
    reason = TextField(constraints=[Check("reason <> ''")])
    status = CharField(max_length=8, default="waiting",
                       constraints=[Check(_in("status", WAITLIST_STATUSES))])
    created_at = DateTimeField(default=utc_now)
    created_by = ForeignKeyField(User, null=True, index=False, on_delete="SET NULL", backref="+")
    ended_at = DateTimeField(null=True)
    appointment = ForeignKeyField(Appointment, null=True, index=False, on_delete="RESTRICT",
                                  backref="+")

    class Meta:
        table_name = "waitlist_entry"
        constraints = [SQL("CHECK ((status = 'booked') = (appointment_id IS NOT NULL))")]
        indexes = ((("status", "department"), False),)


WaitlistEntry.add_index(WaitlistEntry.index(
    WaitlistEntry.patient, WaitlistEntry.doctor, unique=True, where=SQL("status = 'waiting'"),
    name="waitlist_entry_waiting_doctor"))
WaitlistEntry.add_index(WaitlistEntry.index(
    WaitlistEntry.patient, WaitlistEntry.department, unique=True,
    where=SQL("status = 'waiting' AND doctor_id IS NULL"),
    name="waitlist_entry_waiting_department"))

OFFER_STATUSES = ("open", "claimed", "declined", "passed", "withdrawn")


class SlotOffer(BaseModel):
    """A free time offered to a waiting patient, to claim before expires_at."""

    id = AutoField()
    entry = ForeignKeyField(WaitlistEntry, index=False, on_delete="CASCADE", backref="+")
    doctor = ForeignKeyField(Doctor, index=False, on_delete="CASCADE", backref="+")
    date = DateField()
    time = TimeField()
    status = CharField(max_length=9, default="open",
                       constraints=[Check(_in("status", OFFER_STATUSES))])
    created_at = DateTimeField(default=utc_now)
    expires_at = DateTimeField()
    answered_at = DateTimeField(null=True)
    appointment = ForeignKeyField(Appointment, null=True, index=False, on_delete="RESTRICT",
                                  backref="+")

    class Meta:
        table_name = "slot_offer"
        constraints = [SQL("CHECK ((status = 'claimed') = (appointment_id IS NOT NULL))")]
        indexes = ((("entry", "doctor", "date", "time"), True),)


SlotOffer.add_index(SlotOffer.index(SlotOffer.doctor, SlotOffer.date, SlotOffer.time,
                                    unique=True, where=SQL("status = 'open'"),
                                    name="slot_offer_open_slot"))
SlotOffer.add_index(SlotOffer.index(SlotOffer.entry, unique=True, where=SQL("status = 'open'"),
                                    name="slot_offer_open_entry"))
SlotOffer.add_index(SlotOffer.index(SlotOffer.expires_at, where=SQL("status = 'open'"),
                                    name="slot_offer_open_expires_at"))


class OfferMail(SendRecord):
    """The e-mail telling a patient of one offer."""

    offer = ForeignKeyField(SlotOffer, unique=True, on_delete="CASCADE", backref="+")

    class Meta:
        table_name = "offer_mail"


class Recall(BaseModel):
    """A follow-up a doctor asked for in a treatment; answered by a booking with the doctor
    after the visit it came from (hms/recalls.py)."""

    id = AutoField()
    treatment = ForeignKeyField(Treatment, on_delete="CASCADE", backref="+")
    patient = ForeignKeyField(Patient, index=False, on_delete="CASCADE", backref="+")
    doctor = ForeignKeyField(Doctor, index=False, on_delete="CASCADE", backref="+")
    visit_date = DateField()
    due_date = DateField(index=True, constraints=[Check("due_date >= visit_date")])
    created_at = DateTimeField(default=utc_now)
    closed_at = DateTimeField(null=True)
    closed_by = ForeignKeyField(User, null=True, index=False, on_delete="SET NULL", backref="+")
    # The first live booking with the doctor after the visit, which answers the recall (kept
    # by schema.sql's triggers on every change of the patient's appointments).
    booked_for = DateField(null=True)

    class Meta:
        indexes = ((("patient", "doctor", "due_date"), True), (("doctor", "due_date"), False))


Recall.add_index(Recall.index(
    Recall.due_date, where=SQL("booked_for IS NULL AND closed_at IS NULL"),
    name="recall_waiting_due_date"))


class RecallMail(SendRecord):
    """The e-mail asking a patient to book their follow-up."""

    recall = ForeignKeyField(Recall, unique=True, on_delete="CASCADE", backref="+")

    class Meta:
        table_name = "recall_mail"


SESSIONS = ("morning", "afternoon")


class OverbookAllowance(BaseModel):
    """How many appointments may be booked over a doctor's morning or afternoon."""

    doctor = ForeignKeyField(Doctor, index=False, on_delete="CASCADE", backref="+")
    date = DateField()
    part_of_day = CharField(max_length=9, constraints=[Check(_in("part_of_day", SESSIONS))])
    extra = IntegerField(constraints=[Check("extra BETWEEN 1 AND 10")])
    set_by = ForeignKeyField(User, null=True, index=False, on_delete="SET NULL", backref="+")
    set_at = DateTimeField(default=utc_now)

    class Meta:
        table_name = "overbook_allowance"
        primary_key = CompositeKey("doctor", "date", "part_of_day")
        without_rowid = True


# SQLite's FTS5 indexes; PostgreSQL searches the columns themselves (pg_trgm).
SQLITE_ONLY = (PatientSearch, UserSearch)

MODELS = [
    Department,
    User,
    Patient,
    PatientSearch,
    PhoneSearch,
    Doctor,
    DoctorAvailability,
    WorkingHours,
    Appointment,
    AppointmentTally,
    AppointmentDay,
    DoctorPatient,
    UserSearch,
    UserTally,
    UserSession,
    AccountToken,
    Treatment,
    AuditLog,
    Reminder,
    ReportSend,
    AccountMail,
    HistoryPdf,
    ExportJob,
    ExportFile,
    ProfilePhoto,
    WaitlistEntry,
    SlotOffer,
    OfferMail,
    Recall,
    RecallMail,
    OverbookAllowance,
]


def page_of(query, page_no: int, size: int) -> tuple[list, bool]:
    """One page of a query's rows, and whether another page follows."""
    rows = list(query.limit(size + 1).offset((page_no - 1) * size))
    return rows[:size], len(rows) > size

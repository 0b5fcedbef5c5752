"""Profile photos: a patient or doctor uploads a JPEG or PNG (an admin may too), HMS re-encodes
it as a small JPEG without metadata, keeps it in the database, and serves it only to those
allowed to see the person.

Pillow reads the upload, never the browser's word for it: the file's own bytes must be a JPEG
or PNG that decodes whole. What is stored is a new JPEG made from the pixels alone, so no EXIF
(GPS position, camera, time), comment or colour profile of the upload is kept or served.
"""

from __future__ import annotations

import hashlib
import io
import struct
from collections.abc import Callable
from functools import wraps

from flask import Blueprint, Response, abort, current_app, flash, g, request, url_for
from flask_login import current_user, login_required
from PIL import Image, ImageOps, UnidentifiedImageError
from werkzeug.exceptions import RequestEntityTooLarge

from hms import csrf
from hms.audit import audit
from hms.auth import doctor_of, patient_of, role_required
from hms.clock import utc_now
from hms.db import write_transaction
from hms.models import Appointment, Doctor, Patient, ProfilePhoto, User
from hms.web import confirm_first, render, see_other

bp = Blueprint("photos", __name__)

PHOTO_SIDE = 256  # the longest side of a stored photo, in pixels
JPEG_QUALITY = 82
# An upload's pixels at most (a 40-megapixel camera's photo). Pillow refuses twice as many when
# it opens a file (DecompressionBombError), before decoding anything: a small PNG can claim a
# picture that would fill the server's memory.
MAX_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# JPEG, and MPO: the JPEG of a camera that appends a second picture (many phones do), whose
# first picture is what a browser shows.
FORMATS = {"JPEG", "MPO", "PNG"}
# What a photo's form carries besides the file: the multipart envelope and the CSRF token.
FORM_OVERHEAD = 16 * 1024
# Photo URLs carry their version (?v=), so a browser may keep one a day; "private": never a
# shared cache, and Vary: Cookie so that after a logout the next login asks the server again.
CACHE_SECONDS = 86_400

NOT_A_PHOTO = "That file is not a JPEG or PNG photo that can be read. Choose another file."


class PhotoRefused(ValueError):
    """An upload that is not a usable photo, with the message shown beside the field."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message, self.status = message, status


def max_bytes() -> int:
    """The largest upload accepted (HMS_PHOTO_MAX_BYTES)."""
    return int(current_app.config["PHOTO_MAX_BYTES"])


def too_big() -> PhotoRefused:
    megabytes = f"{max_bytes() / 1_048_576:.3g}"
    return PhotoRefused(f"That file is larger than {megabytes} MB. Choose a smaller photo.", 413)


def reencode(data: bytes) -> bytes:
    """The photo HMS keeps of an upload: upright (EXIF orientation applied), RGB (transparency
    on white), at most PHOTO_SIDE pixels a side, a new JPEG of the pixels alone."""
    try:
        with Image.open(io.BytesIO(data)) as upload:
            if upload.format not in FORMATS:
                raise PhotoRefused("Choose a JPEG or PNG photo; other kinds of file are refused.")
            if upload.width * upload.height > MAX_PIXELS:
                raise PhotoRefused(_too_many_pixels())
            # A JPEG decodes straight at 1/2, 1/4 or 1/8 of its size: far less memory and time.
            upload.draft(None, (PHOTO_SIDE * 2, PHOTO_SIDE * 2))
            picture = ImageOps.exif_transpose(upload)  # decodes it all: broken data fails here
            if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
                picture = picture.convert("RGBA")
                picture = Image.alpha_composite(Image.new("RGBA", picture.size, "white"),
                                                picture)
            picture = picture.convert("RGB")
            picture.thumbnail((PHOTO_SIDE, PHOTO_SIDE), Image.Resampling.LANCZOS)
            clean = Image.new("RGB", picture.size)  # pixels only: no info, EXIF or profile
            clean.paste(picture)
    except Image.DecompressionBombError as bomb:
        raise PhotoRefused(_too_many_pixels()) from bomb
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
            struct.error) as broken:  # what Pillow raises for files it cannot read or decode
        if isinstance(broken, PhotoRefused):
            raise
        raise PhotoRefused(NOT_A_PHOTO) from broken
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def _too_many_pixels() -> str:
    return (f"That picture has more than {MAX_PIXELS // 1_000_000} million pixels. "
            "Choose a smaller photo.")


def save_photo(owner_id: int, jpeg: bytes, patient: Patient | None = None) -> None:
    """Keep a re-encoded photo as the person's photo (replacing theirs); a patient's change is
    audited in the same transaction."""
    etag = hashlib.sha256(jpeg).hexdigest()
    with write_transaction():
        (ProfilePhoto.insert(user=owner_id, jpeg=jpeg, etag=etag, updated_at=utc_now())
         .on_conflict(conflict_target=[ProfilePhoto.user],
                      preserve=[ProfilePhoto.jpeg, ProfilePhoto.etag, ProfilePhoto.updated_at])
         .execute())
        if patient is not None:
            audit(current_user, "update", patient, "photo", patient.id)


def remove_photo(owner_id: int, patient: Patient | None = None) -> bool:
    """Remove the person's photo; whether there was one."""
    with write_transaction():
        removed = ProfilePhoto.delete().where(ProfilePhoto.user == owner_id).execute()
        if removed and patient is not None:
            audit(current_user, "delete", patient, "photo", patient.id)
    return bool(removed)


def photo_upload(view: Callable) -> Callable:
    """For a view that receives a photo: a logged-in user's request may carry PHOTO_MAX_BYTES
    (whatever the app's MAX_CONTENT_LENGTH), set before anything reads the form; then the CSRF
    check, which Flask-WTF would otherwise make first, under the app's limit. A file over the
    limit is not read at all: the view says so beside the field (g.photo_refused). A visitor's
    upload is never read: the view sends them to log in."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return view(*args, **kwargs)
        request.max_content_length = max_bytes() + FORM_OVERHEAD
        try:
            request.files  # noqa: B018 - reads the form, under this request's limit
        except RequestEntityTooLarge:
            g.photo_refused = too_big()  # nothing is read or saved: no token to check
        else:
            csrf.protect()
        return view(*args, **kwargs)

    return csrf.exempt(wrapped)


def uploaded_photo() -> bytes:
    """The re-encoded photo of this request's upload, or PhotoRefused."""
    if refused := g.pop("photo_refused", None):
        raise refused
    upload = request.files.get("photo")
    if upload is None or not upload.filename:
        raise PhotoRefused("Choose a photo to upload.")
    data = upload.read(max_bytes() + 1)
    if len(data) > max_bytes():
        raise too_big()
    return reencode(data)


def may_see(viewer: User, owner_id: int) -> bool:
    """Whether a login may see a person's photo: their own; a doctor's, anyone logged in (the
    directory); a patient's, admins, the front desk (to know a walk-in again) and the doctors
    who have or had an appointment with them. Staff logins have no photo to show others."""
    if viewer.id == owner_id:
        return True
    role = User.select(User.role).where(User.id == owner_id).scalar()
    if role == "doctor":
        return True
    if role != "patient":
        return False
    if viewer.role in ("admin", "receptionist"):
        return True
    if viewer.role == "doctor":
        return (Appointment.select(Appointment.id).join(Doctor).switch(Appointment).join(Patient)
                .where(Doctor.user == viewer, Patient.user == owner_id).exists())
    return False


@bp.app_template_global()
def photo_url(owner_id: int) -> str | None:
    """The URL of a person's photo, versioned by its content, or None without one."""
    etag = ProfilePhoto.select(ProfilePhoto.etag).where(ProfilePhoto.user == owner_id).scalar()
    return url_for("photos.show", user_id=owner_id, v=etag[:16]) if etag else None


def _cached_privately(response: Response, etag: str) -> Response:
    response.set_etag(etag)
    response.cache_control.private = True
    response.cache_control.max_age = CACHE_SECONDS
    response.vary.add("Cookie")
    return response


@bp.get("/photos/<int:user_id>")
@login_required
def show(user_id: int):
    """A person's photo, to those allowed to see them (may_see, asked before the photo is
    read); for anyone else, as for someone without a photo, 404."""
    if not may_see(current_user, user_id):
        abort(404)
    etag = ProfilePhoto.select(ProfilePhoto.etag).where(ProfilePhoto.user == user_id).scalar()
    if etag is None:
        abort(404)
    if request.if_none_match.contains_weak(etag):
        return _cached_privately(Response(status=304, mimetype="image/jpeg"), etag)
    jpeg = ProfilePhoto.select(ProfilePhoto.jpeg).where(ProfilePhoto.user == user_id,
                                                        ProfilePhoto.etag == etag).scalar()
    if jpeg is None:  # replaced or removed a moment ago: the page that linked it is stale
        abort(404)
    return _cached_privately(Response(bytes(jpeg), mimetype="image/jpeg"), etag)


# --- the patient's and the doctor's own photo ---------------------------------------------------

def _own_profile(photo_error: str | None = None, status: int = 200):
    """The profile page of the logged-in patient or doctor, with a photo message."""
    from hms.forms import DoctorProfileForm, PatientProfileForm

    if current_user.role == "patient":
        form = PatientProfileForm(formdata=None, obj=patient_of(current_user))
        return render("profiles/patient.html", "profiles/patient.html", status=status,
                      form=form, photo_error=photo_error)
    me = doctor_of(current_user)
    form = DoctorProfileForm(formdata=None, obj=me, department=me.department_id)
    return render("profiles/doctor.html", "profiles/doctor.html", status=status, form=form,
                  photo_error=photo_error)


def _upload_own(back: str, patient: Patient | None):
    try:
        jpeg = uploaded_photo()
    except PhotoRefused as refusal:
        return _own_profile(refusal.message, refusal.status)
    save_photo(current_user.id, jpeg, patient)
    flash("Your photo is saved.", "success")
    return see_other(url_for(back))


def _remove_own(back: str, patient: Patient | None):
    if ask := confirm_first("Remove your photo?", "Yes, remove it", url_for(back)):
        return ask
    if remove_photo(current_user.id, patient):
        flash("Your photo is removed.", "success")
    return see_other(url_for(back))


@bp.post("/me/profile/photo")
@photo_upload
@role_required("patient")
def patient_upload():
    """A patient sets their photo; a refused file is named beside the field, nothing saved."""
    return _upload_own("profiles.patient", patient_of(current_user))


@bp.post("/me/profile/photo/delete")
@role_required("patient")
def patient_remove():
    """A patient removes their photo."""
    return _remove_own("profiles.patient", patient_of(current_user))


@bp.post("/doctor/profile/photo")
@photo_upload
@role_required("doctor")
def doctor_upload():
    """A doctor sets the photo patients see in the directory."""
    doctor_of(current_user)
    return _upload_own("profiles.doctor", None)


@bp.post("/doctor/profile/photo/delete")
@role_required("doctor")
def doctor_remove():
    """A doctor removes their photo."""
    return _remove_own("profiles.doctor", None)


# --- an admin sets or removes someone's photo ---------------------------------------------------

def _person(kind: str, number: int) -> Patient | Doctor:
    model = Patient if kind == "patients" else Doctor
    person = model.get_or_none(model.id == number)
    if person is None:
        abort(404)
    return person


def _edit_url(kind: str, person: Patient | Doctor) -> str:
    if kind == "patients":
        return url_for("admin.edit_patient", patient_id=person.id)
    return url_for("admin.edit_doctor", doctor_id=person.id)


def _admin_upload(kind: str, number: int):
    person = _person(kind, number)
    try:
        jpeg = uploaded_photo()
    except PhotoRefused as refusal:
        return render("profiles/photo.html", "profiles/photo.html", status=refusal.status,
                      person=person, kind=kind, back=_edit_url(kind, person),
                      photo_error=refusal.message)
    save_photo(person.user_id, jpeg, person if kind == "patients" else None)
    flash(f"The photo of {person.full_name} is saved.", "success")
    return see_other(_edit_url(kind, person))


def _admin_remove(kind: str, number: int):
    person = _person(kind, number)
    if ask := confirm_first(f"Remove the photo of {person.full_name}?", "Yes, remove it",
                            _edit_url(kind, person)):
        return ask
    if remove_photo(person.user_id, person if kind == "patients" else None):
        flash(f"The photo of {person.full_name} is removed.", "success")
    return see_other(_edit_url(kind, person))


@bp.post("/admin/patients/<int:number>/photo")
@photo_upload
@role_required("admin")
def admin_patient_upload(number: int):
    """An admin sets a patient's photo (audited)."""
    return _admin_upload("patients", number)


@bp.post("/admin/patients/<int:number>/photo/delete")
@role_required("admin")
def admin_patient_remove(number: int):
    """An admin removes a patient's photo (audited)."""
    return _admin_remove("patients", number)


@bp.post("/admin/doctors/<int:number>/photo")
@photo_upload
@role_required("admin")
def admin_doctor_upload(number: int):
    """An admin sets a doctor's photo."""
    return _admin_upload("doctors", number)


@bp.post("/admin/doctors/<int:number>/photo/delete")
@role_required("admin")
def admin_doctor_remove(number: int):
    """An admin removes a doctor's photo."""
    return _admin_remove("doctors", number)

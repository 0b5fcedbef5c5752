"""Profile photos: uploaded by a patient or doctor (or an admin), re-encoded without metadata,
resized, kept in the database, and served only to those allowed to see the person."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import struct
import zlib

import pytest
from PIL import ExifTags, Image

from hms.db import db, init_schema
from hms.models import Appointment, AuditLog, ProfilePhoto
from support import csrf_token

SECRET_PLACE = (51.0, 30.0, 26.0)  # where the test photos say they were taken


def jpeg_with_gps(size=(800, 400), orientation: int | None = None) -> bytes:
    """A camera's JPEG: EXIF with the camera, the GPS position and (optionally) the
    orientation, and a comment."""
    picture = Image.new("RGB", size, (200, 30, 30))
    picture.paste((30, 30, 200), (0, 0, size[0] // 2, size[1]))  # left half blue
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SecretCam"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = SECRET_PLACE
    out = io.BytesIO()
    picture.save(out, "JPEG", exif=exif, comment=b"taken at home")
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # it is there
    return data


def png(size=(300, 600), mode="RGBA") -> bytes:
    """A PNG whose top half is transparent."""
    picture = Image.new(mode, size, (0, 120, 0, 255))
    picture.paste((0, 0, 0, 0), (0, 0, size[0], size[1] // 2))
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (50, 50), "red").save(out, "GIF")
    return out.getvalue()


def noise_jpeg(side: int) -> bytes:
    """A JPEG that compresses badly: more than a byte a pixel."""
    import random

    rng = random.Random(7)
    picture = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=95)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge picture: a decompression bomb."""
    data = bytearray(png((2, 2)))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4:ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr:ihdr + 17]))
    data[ihdr + 17:ihdr + 21] = struct.pack(">I", crc)
    return bytes(data)


def upload(client, url: str, data: bytes, filename: str = "me.jpg", page: str | None = None,
           token: bool = True):
    """Post a file through the photo form, as a browser does (multipart, with the token)."""
    form = {"photo": (io.BytesIO(data), filename)}
    if token:
        form["csrf_token"] = csrf_token(client.get(page or "/me/profile").text)
    return client.post(url, data=form, content_type="multipart/form-data")


def stored(username: str, people) -> Image.Image | None:
    row = ProfilePhoto.get_or_none(ProfilePhoto.user == people.user(username).id)
    return Image.open(io.BytesIO(bytes(row.jpeg))) if row else None


def photo_src(html: str) -> str | None:
    match = re.search(r'<img class="photo" src="(/photos/[^"]+)"', html)
    return match.group(1).replace("&amp;", "&") if match else None


# --- upload, re-encoding, removal -------------------------------------------------------------

def test_patient_uploads_a_jpeg_stored_upright_small_and_without_metadata(client, auth, people):
    auth.login("pat.one")
    sent = jpeg_with_gps((800, 400), orientation=6)  # to be turned a quarter: 400 wide, 800 high
    response = upload(client, "/me/profile/photo", sent)
    assert response.status_code == 303 and response.headers["Location"] == "/me/profile"
    page = client.get("/me/profile").text
    assert "Your photo is saved." in page
    kept = stored("pat.one", people)
    assert kept.format == "JPEG" and kept.mode == "RGB"
    assert kept.size == (128, 256)  # upright, and within 256 x 256
    assert not kept.getexif() and "exif" not in kept.info and "comment" not in kept.info
    assert "icc_profile" not in kept.info
    raw = bytes(ProfilePhoto.get().jpeg)
    assert b"Exif" not in raw and b"SecretCam" not in raw and b"taken at home" not in raw
    # Upright: the picture's left half (blue) is now its top half.
    red, green, blue = kept.getpixel((64, 20))
    assert blue > 150 and red < 100
    row = ProfilePhoto.get()
    assert row.etag == hashlib.sha256(raw).hexdigest()
    assert AuditLog.get(AuditLog.object_type == "photo").action == "update"


def test_a_png_is_kept_as_a_jpeg_with_transparency_on_white(client, auth, people):
    auth.login("pat.one")
    assert upload(client, "/me/profile/photo", png((300, 600)), "me.png").status_code == 303
    kept = stored("pat.one", people)
    assert kept.format == "JPEG" and kept.size == (128, 256)
    assert min(kept.getpixel((64, 30))) > 240  # the transparent half is white, not black
    assert kept.getpixel((64, 220))[1] > 90


def test_a_small_photo_is_not_enlarged_and_a_new_one_replaces_it(client, auth, people):
    auth.login("pat.one")
    upload(client, "/me/profile/photo", png((40, 30), "RGB"), "small.png")
    assert stored("pat.one", people).size == (40, 30)
    first = ProfilePhoto.get().etag
    upload(client, "/me/profile/photo", jpeg_with_gps((600, 600)))
    assert stored("pat.one", people).size == (256, 256)
    assert ProfilePhoto.select().count() == 1 and ProfilePhoto.get().etag != first


@pytest.mark.parametrize("data, filename, message", [
    (gif(), "me.gif", "Choose a JPEG or PNG photo"),
    (b"just some text, not a picture\n" * 10, "notes.jpg", "not a JPEG or PNG photo"),
    (png()[:40] + b"\0" * 400, "renamed.jpg", "not a JPEG or PNG photo"),  # a broken PNG
    (jpeg_with_gps()[:600], "cut.jpg", "not a JPEG or PNG photo"),  # cut short
    (png_claiming(100_000, 100_000), "bomb.png", "more than 40 million pixels"),
    (b"", "empty.jpg", "not a JPEG or PNG photo"),
])
def test_what_is_not_a_readable_jpeg_or_png_is_refused_beside_the_field(client, auth, people,
                                                                       data, filename, message):
    auth.login("pat.one")
    response = upload(client, "/me/profile/photo", data, filename)
    assert response.status_code == 422
    assert re.search(r'<p class="error" id="photo-error"[^>]*>[^<]*' + message, response.text)
    assert 'aria-describedby="photo-error"' in response.text
    assert "<h1>My profile</h1>" in response.text  # the profile page, the rest as it was
    assert ProfilePhoto.select().count() == 0


def test_no_file_chosen_is_refused(client, auth):
    auth.login("dr.one")
    token = csrf_token(client.get("/doctor/profile").text)
    response = client.post("/doctor/profile/photo", data={"csrf_token": token},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "Choose a photo to upload." in response.text
    assert "This is what patients see in the doctor directory." in response.text


def test_more_pixels_than_the_limit_are_refused(client, auth, monkeypatch):
    from hms import photos

    monkeypatch.setattr(photos, "MAX_PIXELS", 10_000)
    auth.login("pat.one")
    response = upload(client, "/me/profile/photo", png((101, 100), "RGB"), "wide.png")
    assert response.status_code == 422 and "more than 0 million pixels" in response.text
    assert ProfilePhoto.select().count() == 0


def test_a_file_over_the_limit_is_refused_with_413_beside_the_field(app, client, auth):
    app.config["PHOTO_MAX_BYTES"] = 100_000
    auth.login("pat.one")
    big = noise_jpeg(600)
    assert len(big) > 100_000 + 16 * 1024  # over the limit even with the form around it
    response = upload(client, "/me/profile/photo", big)
    assert response.status_code == 413
    assert re.search(r'<p class="error" id="photo-error"[^>]*>That file is larger than '
                     r'0.0954 MB. Choose a smaller photo.</p>', response.text)
    assert 'aria-describedby="photo-error"' in response.text
    assert ProfilePhoto.select().count() == 0


def test_a_file_just_over_the_limit_inside_the_form_allowance_is_refused(app, client, auth):
    """The request may be a little larger than the photo (the form around it), not the file."""
    big = noise_jpeg(500)
    app.config["PHOTO_MAX_BYTES"] = len(big) - 1
    auth.login("pat.one")
    response = upload(client, "/me/profile/photo", big)
    assert response.status_code == 413 and "Choose a smaller photo." in response.text
    assert ProfilePhoto.select().count() == 0


def test_the_limit_is_said_in_megabytes(app, client, auth):
    auth.login("pat.one")
    assert "JPEG or PNG, up to 5 MB" in client.get("/me/profile").text  # the default
    app.config["PHOTO_MAX_BYTES"] = 256 * 1024
    assert "JPEG or PNG, up to 0.25 MB" in client.get("/me/profile").text
    # (Bodies over 500 KB would make Werkzeug's test client leave a temporary file open.)
    response = upload(client, "/me/profile/photo", b"x" * (300 * 1024))
    assert response.status_code == 413 and "That file is larger than 0.25 MB." in response.text


def test_a_photo_may_be_larger_than_the_apps_request_limit(app, client, auth, people):
    """The app's MAX_CONTENT_LENGTH (small: forms carry text) does not apply to a photo."""
    app.config["MAX_CONTENT_LENGTH"] = 256 * 1024
    photo = noise_jpeg(550)  # under 500 KB, which Werkzeug's test client would spool to a file
    assert len(photo) > 300 * 1024
    auth.login("pat.one")
    assert upload(client, "/me/profile/photo", photo).status_code == 303
    assert stored("pat.one", people).size == (256, 256)
    # ... while other forms keep the app's limit.
    page = client.get("/me/profile")
    response = client.post("/me/profile", data={"csrf_token": csrf_token(page.text),
                                                "address": "x" * 300_000})
    assert response.status_code == 413


def test_an_upload_without_the_csrf_token_is_refused_and_saves_nothing(client, auth):
    auth.login("pat.one")
    response = upload(client, "/me/profile/photo", jpeg_with_gps(), token=False)
    assert response.status_code == 400 and ProfilePhoto.select().count() == 0


def test_patient_removes_their_photo(client, auth, people):
    auth.login("pat.one")
    upload(client, "/me/profile/photo", jpeg_with_gps())
    src = photo_src(client.get("/me/profile").text)
    assert src and client.get(src).status_code == 200
    token = csrf_token(client.get("/me/profile").text)
    response = client.post("/me/profile/photo/delete", data={"csrf_token": token})
    assert response.status_code == 303
    page = client.get("/me/profile").text
    assert "Your photo is removed." in page and "No photo yet." in page
    assert photo_src(page) is None and "Remove photo" not in page
    assert client.get(src).status_code == 404
    assert ProfilePhoto.select().count() == 0
    assert [a.action for a in AuditLog.select().where(AuditLog.object_type == "photo")
            .order_by(AuditLog.id)] == ["update", "delete"]


def test_doctor_uploads_and_removes_their_photo(client, auth, people):
    auth.login("dr.one")
    response = upload(client, "/doctor/profile/photo", png(), "me.png", page="/doctor/profile")
    assert response.status_code == 303 and response.headers["Location"] == "/doctor/profile"
    page = client.get("/doctor/profile").text
    assert "Your photo is saved." in page and '<img class="photo"' in page
    assert 'alt="Your photo" width="128" height="128"' in page
    token = csrf_token(page)
    assert client.post("/doctor/profile/photo/delete",
                       data={"csrf_token": token}).status_code == 303
    assert stored("dr.one", people) is None


def test_admin_sets_and_removes_a_patients_and_a_doctors_photo(client, auth, people):
    auth.login("admin")
    patient, doctor = people.patient("pat.two"), people.doctor("dr.two")
    edit = f"/admin/patients/{patient.id}/edit"
    assert "Upload photo" in client.get(edit).text
    response = upload(client, f"/admin/patients/{patient.id}/photo", jpeg_with_gps(), page=edit)
    assert response.status_code == 303 and response.headers["Location"] == edit
    assert stored("pat.two", people).size == (256, 128)
    entry = AuditLog.get(AuditLog.object_type == "photo")
    assert (entry.user_id, entry.patient_id) == (people.user("admin").id, patient.id)
    assert 'alt="Photo of Pat Two"' in client.get(f"/admin/patients/{patient.id}").text

    refused = upload(client, f"/admin/doctors/{doctor.id}/photo", gif(), "x.gif",
                     page=f"/admin/doctors/{doctor.id}/edit")
    assert refused.status_code == 422 and "<h1>Photo of Dr Bo Two</h1>" in refused.text
    assert 'id="photo-error"' in refused.text
    assert upload(client, f"/admin/doctors/{doctor.id}/photo", png(), "x.png",
                  page=f"/admin/doctors/{doctor.id}/edit").status_code == 303
    assert stored("dr.two", people) is not None

    token = csrf_token(client.get(edit).text)
    assert client.post(f"/admin/patients/{patient.id}/photo/delete",
                       data={"csrf_token": token}).status_code == 303
    assert stored("pat.two", people) is None
    assert client.post("/admin/patients/999999/photo/delete",
                       data={"csrf_token": token}).status_code == 404


@pytest.mark.parametrize("username, url", [
    ("dr.one", "/me/profile/photo"), ("desk", "/me/profile/photo"),
    ("pat.one", "/doctor/profile/photo"), ("pat.one", "/admin/patients/1/photo"),
    ("dr.one", "/admin/doctors/1/photo"), ("desk", "/admin/patients/1/photo/delete"),
])
def test_photo_forms_are_for_their_roles_only(client, auth, username, url):
    auth.login(username)
    page = "/desk/" if username == "desk" else "/"
    token = csrf_token(client.get(page, follow_redirects=True).text)
    response = client.post(url, data={"csrf_token": token,
                                      "photo": (io.BytesIO(jpeg_with_gps()), "x.jpg")},
                           content_type="multipart/form-data")
    assert response.status_code == 403
    assert ProfilePhoto.select().count() == 0


# --- who may see a photo ----------------------------------------------------------------------

@pytest.fixture
def photos(client, auth, people, tomorrow):
    """Pat One and Dr One have photos; Pat One has an appointment with Dr One (not Dr Two)."""
    auth.login("pat.one")
    upload(client, "/me/profile/photo", jpeg_with_gps())
    auth.logout()
    auth.login("dr.one")
    upload(client, "/doctor/profile/photo", png(), "me.png", page="/doctor/profile")
    auth.logout()
    Appointment.create(patient=people.patient("pat.one"), doctor=people.doctor("dr.one"),
                       date=tomorrow, time=dt.time(9), reason="Check-up")
    return {"patient": f"/photos/{people.user('pat.one').id}",
            "doctor": f"/photos/{people.user('dr.one').id}"}


@pytest.mark.parametrize("username, whose, status", [
    ("pat.one", "patient", 200),   # their own
    ("dr.one", "patient", 200),    # has an appointment with them
    ("admin", "patient", 200),
    ("desk", "patient", 200),      # to know a walk-in again
    ("dr.two", "patient", 404),    # never had them as a patient
    ("pat.two", "patient", 404),   # another patient
    ("pat.two", "doctor", 200),    # the directory
    ("desk", "doctor", 200),
    ("dr.two", "doctor", 200),
])
def test_a_photo_is_served_only_to_those_allowed_to_see_the_person(client, auth, photos,
                                                                   username, whose, status):
    auth.login(username)
    response = client.get(photos[whose])
    assert response.status_code == status, (username, whose)
    if status == 200:
        assert response.mimetype == "image/jpeg"
        assert Image.open(io.BytesIO(response.data)).format == "JPEG"
        cache = response.cache_control
        assert cache.private and cache.max_age == 86_400 and not cache.public
        assert "public" not in response.headers["Cache-Control"]
        assert "Cookie" in response.vary and response.headers["ETag"]
    else:
        assert b"JFIF" not in response.data and response.mimetype == "text/html"


def test_a_visitor_is_sent_to_log_in_for_a_photo(client, photos):
    response = client.get(photos["patient"])
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_staff_login_or_someone_without_a_photo_is_404(client, auth, people, photos):
    ProfilePhoto.create(user=people.user("desk").id, jpeg=b"\xff\xd8", etag="e" * 64)
    auth.login("pat.one")
    assert client.get(f"/photos/{people.user('desk').id}").status_code == 404
    assert client.get(f"/photos/{people.user('pat.two').id}").status_code == 404
    assert client.get(f"/photos/{people.user('dr.two').id}").status_code == 404
    assert client.get("/photos/99999999").status_code == 404


def test_an_unchanged_photo_is_answered_304(client, auth, photos):
    auth.login("pat.one")
    first = client.get(photos["patient"])
    etag = first.headers["ETag"]
    again = client.get(photos["patient"], headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag and again.cache_control.private
    assert "no-store" not in again.headers["Cache-Control"]
    other = client.get(photos["patient"], headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.data == first.data


def test_the_304_is_only_for_those_allowed(client, auth, photos):
    auth.login("pat.one")
    etag = client.get(photos["patient"]).headers["ETag"]
    auth.logout()
    auth.login("pat.two")
    assert client.get(photos["patient"], headers={"If-None-Match": etag}).status_code == 404


# --- where photos are shown -------------------------------------------------------------------

def test_photos_are_shown_where_the_person_is_named(client, auth, people, photos):
    patient, doctor = people.patient("pat.one"), people.doctor("dr.one")
    auth.login("pat.one")
    own = client.get("/me/profile").text
    assert photo_src(own).startswith(photos["patient"] + "?v=")
    assert 'alt="Your photo" width="128" height="128"' in own
    directory_page = client.get(f"/doctors/{doctor.id}").text
    assert photo_src(directory_page).startswith(photos["doctor"] + "?v=")
    assert 'alt="Photo of Dr Ada One" width="96" height="96"' in directory_page
    assert photo_src(client.get(f"/doctors/{people.doctor('dr.two').id}").text) is None
    auth.logout()

    auth.login("dr.one")
    history = client.get(f"/patients/{patient.id}").text
    assert photo_src(history).startswith(photos["patient"] + "?v=")
    assert 'alt="Photo of Pat One"' in history
    auth.logout()

    auth.login("desk")
    desk = client.get(f"/desk/?patient={patient.id}").text
    assert photo_src(desk).startswith(photos["patient"] + "?v=")
    assert 'alt="Photo of Pat One" width="48" height="48"' in desk
    fragment = client.get(f"/desk/?patient={patient.id}", headers={"HX-Request": "true"}).text
    assert photo_src(fragment) and "<html" not in fragment
    assert photo_src(client.get(f"/desk/?patient={people.patient('pat.two').id}").text) is None
    for html in (own, directory_page, history, desk):
        assert "data:image" not in html and "style=" not in html


def test_a_photos_url_changes_with_the_photo(client, auth, photos):
    auth.login("pat.one")
    before = photo_src(client.get("/me/profile").text)
    upload(client, "/me/profile/photo", png())
    after = photo_src(client.get("/me/profile").text)
    assert before != after and before.split("?")[0] == after.split("?")[0]


# --- the schema -------------------------------------------------------------------------------

def test_an_older_database_loses_profile_photo_url_and_gains_profile_photo(app, people):
    """A database of an earlier version (patient.profile_photo_url, no profile_photo) is
    upgraded by init, on either engine, keeping every patient."""
    with db.connection_context():
        db.execute_sql('DROP TABLE "profile_photo"')
        db.execute_sql('ALTER TABLE "patient" ADD COLUMN "profile_photo_url" VARCHAR(500)')
        db.execute_sql("UPDATE patient SET profile_photo_url = 'http://old.example/p.png'")
        assert "profile_photo_url" in {c.name for c in db.get_columns("patient")}
    with app.app_context():
        init_schema()
        init_schema()  # again: nothing to do
    with db.connection_context():
        assert "profile_photo_url" not in {c.name for c in db.get_columns("patient")}
        assert "profile_photo" in db.get_tables()
        rows = db.execute_sql("SELECT full_name FROM patient ORDER BY full_name").fetchall()
        assert [r[0] for r in rows] == ["Pat One", "Pat Two"]
    # Searching still follows the patients (SQLite rewrote the table under its triggers).
    from hms.models import Patient

    assert [p.full_name for p in Patient.search("Pat O")] == ["Pat One"]


def test_a_visitors_upload_is_sent_to_log_in_and_saves_nothing(client):
    token = csrf_token(client.get("/login").text)
    response = client.post("/me/profile/photo", content_type="multipart/form-data", data={
        "csrf_token": token, "photo": (io.BytesIO(jpeg_with_gps()), "x.jpg")})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert ProfilePhoto.select().count() == 0

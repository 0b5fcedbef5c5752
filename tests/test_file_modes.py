"""The files HMS writes hold patients' records: a 0700 instance folder, 0600 files in it."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest

from hms.db import db, init_schema
from hms.mail import send
from hms.notices import reminder_message
from hms.models import Appointment, ExportJob
from support import csrf_token, make_app

pytestmark = pytest.mark.sqlite_only


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_app_makes_a_private_instance_folder_and_database(tmp_path, redis_url):
    instance = tmp_path / "instance"
    app = make_app(tmp_path, redis_url, DATABASE="hms.sqlite3", SECRET_KEY=None)
    assert mode(instance) == 0o700
    assert mode(instance / "secret_key") == 0o600
    with app.app_context():
        init_schema()
        with db.connection_context():
            db.execute_sql("INSERT INTO department (name, description) VALUES ('Wards', '')")
            files = {p.name: mode(p) for p in instance.iterdir()}
    db.close()
    assert {"hms.sqlite3", "hms.sqlite3-wal", "hms.sqlite3-shm"} <= set(files)
    assert all(m == 0o600 for m in files.values()), files


def test_an_older_open_instance_folder_is_made_private(tmp_path, redis_url):
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    os.chmod(instance, 0o755)
    make_app(tmp_path, redis_url)
    db.close()
    assert mode(instance) == 0o700


def test_a_database_named_by_url_is_made_private(tmp_path, redis_url):
    make_app(tmp_path, redis_url, DATABASE=f"sqlite:///{tmp_path}/by-url.sqlite3")
    db.close()
    assert mode(tmp_path / "by-url.sqlite3") == 0o600


def test_outbox_mail_is_private(app, people):
    app.config["SMTP_HOST"] = ""
    with app.app_context():
        send(reminder_message(Appointment(id=1, patient=people.patient("pat.one"),
                                          doctor=people.doctor("dr.one"),
                                          date=dt.date(2027, 6, 16), time=dt.time(9),
                                          reason="Cough"), "pat1@test.example"))
    outbox = Path(app.instance_path) / "outbox"
    [eml] = outbox.glob("*.eml")
    assert mode(outbox) == 0o700 and mode(eml) == 0o600
    assert b"pat1@test.example" in eml.read_bytes()


def test_after_an_export_nothing_hms_wrote_is_readable_by_others(client, auth, app,
                                                                worker_app):
    auth.login("pat.one")
    token = csrf_token(client.get("/me/history").text)
    response = client.post("/exports", data={"csrf_token": token})
    assert response.status_code == 303 and ExportJob.get().status == "done"
    database = Path(db.obj.database)
    written = [database, *database.parent.glob(database.name + "-*"),
               *Path(app.instance_path).rglob("*")]
    assert any(p.name.endswith("-wal") for p in written)
    for path in written:
        expected = 0o700 if path.is_dir() else 0o600
        assert mode(path) == expected, path

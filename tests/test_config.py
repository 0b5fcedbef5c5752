"""Configuration: defaults, then HMS_* environment variables, then the dict given to the factory."""

from __future__ import annotations

import os
import stat

import pytest

from hms import create_app
from hms.config import from_environment


def test_environment_variables_are_read_and_typed():
    found = from_environment({"HMS_SLOT_MINUTES": "15", "HMS_SMTP_STARTTLS": "yes",
                              "HMS_TIMEZONE": "Asia/Kolkata", "HMS_UNKNOWN": "x", "PATH": "/"})
    assert found == {"SLOT_MINUTES": 15, "SMTP_STARTTLS": True, "TIMEZONE": "Asia/Kolkata"}


def test_factory_dict_wins_over_environment(tmp_path, monkeypatch, redis_url):
    monkeypatch.setenv("HMS_SLOT_MINUTES", "15")
    monkeypatch.setenv("HMS_CLINIC_NAME", "Env Clinic")
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SLOT_MINUTES": 20,
                      "DATABASE": str(tmp_path / "x.sqlite3")})
    assert app.config["SLOT_MINUTES"] == 20 and app.config["CLINIC_NAME"] == "Env Clinic"


def test_secret_key_is_generated_once_into_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("HMS_SECRET_KEY", raising=False)
    first = create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE": str(tmp_path / "x.db")})
    second = create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE": str(tmp_path / "x.db")})
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) == 64
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600


def test_postgresql_needs_the_secret_key_from_the_environment(tmp_path, monkeypatch):
    """Several hosts share one PostgreSQL; a key each made for itself would split sessions."""
    monkeypatch.delenv("HMS_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="HMS_SECRET_KEY"):
        create_app({"INSTANCE_PATH": str(tmp_path),
                    "DATABASE": "postgresql://hms@127.0.0.1:1/hms"})
    assert not (tmp_path / "secret_key").exists()
    monkeypatch.setenv("HMS_SECRET_KEY", "from-the-environment")
    app = create_app({"INSTANCE_PATH": str(tmp_path),
                      "DATABASE": "postgresql://hms@127.0.0.1:1/hms"})
    assert app.config["SECRET_KEY"] == "from-the-environment"

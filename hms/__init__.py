"""HMS: a hospital and clinic management web application."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from werkzeug.middleware.proxy_fix import ProxyFix

from hms import config as hms_config
from hms.web import BoundedInt

ROOT = Path(__file__).resolve().parent.parent
csrf = CSRFProtect()
htmx = Htmx()


def create_app(config: dict | None = None) -> Flask:
    """Build the app: defaults, then HMS_* environment variables, then the given dict."""
    config = dict(config or {})
    instance_path = config.pop("INSTANCE_PATH", None) or os.environ.get("HMS_INSTANCE_PATH")
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=instance_path or str(ROOT / "instance"),
    )
    hms_config.private_folder(app.instance_path)
    # Ids in URLs are SQLite integers: a longer number is simply not found (404), not a 500.
    app.url_map.converters["int"] = BoundedInt
    app.config.from_mapping(hms_config.DEFAULTS)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    app.config.update(hms_config.from_environment())
    app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        if str(app.config["DATABASE"]).startswith("postgres"):
            # PostgreSQL is the road to several hosts: each would make its own key, and a
            # session signed by one would be refused by the others.
            raise RuntimeError("Set HMS_SECRET_KEY (the same on every host) to use PostgreSQL.")
        app.config["SECRET_KEY"] = hms_config.load_secret_key(app.instance_path)
    if app.config["HTTPS"]:
        app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True,
                          PREFERRED_URL_SCHEME="https")
    if proxies := app.config["PROXIES"]:
        # The client's address, scheme and host as the proxies saw them (Werkzeug's ProxyFix).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies,
                                x_port=proxies, x_prefix=proxies)

    from hms import (
        admin,
        appointments,
        audit,
        auth,
        availability,
        cache,
        db,
        desk,
        doctors,
        exports,
        followups,
        home,
        patients,
        photos,
        profiles,
        replies,
        reports,
        scheduling,
        sessions,
        throttle,
        treatments,
        visits,
        waiting,
        waitlist,
        web,
    )

    web.init_compression(app)
    db.init_app(app)
    audit.init_app(app)
    cache.init_app(app)
    import tasks

    tasks.connect(app.config["REDIS_URL"])
    csrf.init_app(app)
    htmx.init_app(app)
    auth.login_manager.init_app(app)
    sessions.init_app(app)
    throttle.init_app(app)
    app.jinja_env.globals["nav_links"] = auth.nav_links
    # For macros too (they are imported without the request's context): who is looking.
    app.jinja_env.globals["current_user"] = current_user
    web.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(availability.bp)
    app.register_blueprint(doctors.bp)
    app.register_blueprint(appointments.bp)
    app.register_blueprint(desk.bp)
    app.register_blueprint(treatments.bp)
    app.register_blueprint(patients.bp)
    app.register_blueprint(profiles.bp)
    app.register_blueprint(photos.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(exports.bp)
    app.register_blueprint(waiting.bp)
    app.register_blueprint(followups.bp)
    app.register_blueprint(replies.bp)
    app.jinja_env.globals["medicines"] = visits.medicines
    app.jinja_env.globals["slot_key"] = scheduling.slot_key
    app.jinja_env.globals["actions_for"] = visits.actions_for
    app.jinja_env.globals["waited"] = visits.waited
    app.jinja_env.globals["part_words"] = waitlist.PARTS

    from hms.cli import register_commands

    register_commands(app)
    return app

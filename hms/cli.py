"""The `hms` command: Flask's CLI plus init-db, create-user, seed-demo, open-slots,
copy-database, sweep, backup and restore."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext
from peewee import IntegrityError

from hms.db import db, init_schema


def register_commands(app: Flask) -> None:
    """Attach the HMS commands to the app's CLI."""
    app.cli.add_command(init_db_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(open_slots_command)
    app.cli.add_command(copy_database_command)
    app.cli.add_command(sweep_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create the tables and indexes of schema.sql (safe to run again)."""
    init_schema()
    click.echo("Database ready.")


@click.command("create-user")
@click.option("--role", type=click.Choice(["admin", "receptionist", "doctor"]), required=True)
@click.option("--username", required=True)
@click.option("--email", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted for when not given; the password policy applies.")
@click.option("--full-name", help="Doctors: the name patients see.")
@click.option("--department", help="Doctors: their specialization, created if new.")
@with_appcontext
def create_user_command(role, username, email, password, full_name, department) -> None:
    """Create an admin, receptionist or doctor login from the command line."""
    from hms.accounts import create_staff
    from hms.passwords import problem

    if why := problem(password, username):
        raise click.BadParameter(why, param_hint="--password")
    if role == "doctor" and not (full_name and department):
        raise click.UsageError("A doctor needs --full-name and --department.")
    try:
        with db.connection_context():
            user = create_staff(role, username, email, password, full_name, department)
    except IntegrityError:
        raise click.ClickException(
            f"The username {username!r} or that email is already taken.") from None
    click.echo(f"Created {role} {user.username!r} (user id {user.id}).")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Fill an empty database with a demo hospital; does nothing if it is already there."""
    from hms.demo import DEMO_PASSWORD, seed_demo

    with db.connection_context():
        created = seed_demo()
    click.echo("Demo data created." if created
               else "The database already has accounts; demo data not added.")
    click.echo(f"Demo logins (password {DEMO_PASSWORD!r} for all): admin, dr.grey (doctor), "
               "dr.house (doctor), anna (patient), ben (patient), desk (receptionist)")


@click.command("open-slots")
@with_appcontext
def open_slots_command() -> None:
    """Open every active doctor's weekly-plan slots up to the booking horizon (the worker
    does this every hour)."""
    from hms.scheduling import open_slots_from_plans

    with db.connection_context():
        click.echo(f"{open_slots_from_plans()} slots opened.")


@click.command("copy-database")
@click.argument("source")
@click.argument("target")
@with_appcontext
def copy_database_command(source: str, target: str) -> None:
    """Copy a hospital from SOURCE (a SQLite path or URL) into the empty PostgreSQL database
    TARGET (postgresql://...), then compare every table's row count. Stop the web server and
    the worker first: rows written during the copy would not be in it."""
    from flask import current_app

    from hms.copying import CopyError, copy_database

    try:
        copy_database(source, target, current_app.instance_path, say=click.echo)
    except CopyError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Copied; every table's row count matches. Now set HMS_DATABASE={target}")


@click.command("sweep")
@with_appcontext
def sweep_command() -> None:
    """Hand every due reminder, report and export to the queue once (the worker does this
    every minute)."""
    import tasks

    with db.connection_context():
        counts = tasks.sweep()
    click.echo(", ".join(f"{n} {kind}" for kind, n in counts.items()) + ".")


@click.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Write a consistent copy of the live database to PATH, while HMS runs."""
    from hms.backups import BackupError, backup

    try:
        with db.connection_context():
            backup(path)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Backed up to {path}.")


@click.command("restore")
@click.argument("path", type=click.Path(path_type=Path))
@click.confirmation_option(prompt="This replaces everything in the database. Go on?")
@with_appcontext
def restore_command(path: Path) -> None:
    """Replace the database's contents with the backup at PATH. Stop the web server and the
    worker first."""
    from hms.backups import BackupError, restore

    try:
        with db.connection_context():
            restore(path)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Restored from {path}. Start HMS again.")


def _create_app(*_args, **_kwargs) -> Flask:
    from hms import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True)
def main() -> None:
    """HMS hospital management: run `hms run` for the web server, `hms --help` for more."""

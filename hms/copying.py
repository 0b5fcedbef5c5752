"""Move a hospital from one database to another (SQLite to PostgreSQL, the road when a hospital
outgrows one machine): `hms copy-database SOURCE TARGET`.

The target gets its engine's schema, then every table's rows, read from one snapshot of the
source in key order and written in batches, ids kept. The derived tables (tallies, rollups,
the phone index) are copied as rows with the target's triggers held off, so the copy costs a
write per row, not a trigger per row. SQLite's FTS5 indexes are not copied: PostgreSQL
searches the columns themselves. Then the sequences move past the copied ids, and every
table's row count is compared; any difference fails the copy.
"""

from __future__ import annotations

from collections.abc import Callable

from peewee import Database, PostgresqlDatabase

from hms.db import db, gather_statistics, init_schema, open_database
from hms.models import MODELS, SQLITE_ONLY

BATCH = 1000


class CopyError(Exception):
    """The copy cannot go ahead, or did not copy every row."""


def copy_database(source_url: str, target_url: str, instance_path: str,
                  say: Callable[[str], None] = print) -> dict[str, int]:
    """Copy every table from source to target and verify the counts; returns them by table."""
    source = open_database(source_url, instance_path)
    target = open_database(target_url, instance_path)
    if not isinstance(target, PostgresqlDatabase):
        raise CopyError("The target must be PostgreSQL (a postgresql:// URL); a new SQLite "
                        "database is made with `hms init-db`.")
    models = [m for m in MODELS if m not in SQLITE_ONLY]
    with source.connection_context():
        missing = [m._meta.table_name for m in models
                   if m._meta.table_name not in source.get_tables()]
    if missing:
        raise CopyError(f"The source lacks {', '.join(missing)}: run `hms init-db` on it first.")
    previous = db.obj
    try:
        db.initialize(target)
        init_schema()
        with target.connection_context():
            busy = [m._meta.table_name for m in models if _is_base(m)
                    and target.execute_sql(f'SELECT 1 FROM "{m._meta.table_name}" LIMIT 1')
                    .fetchone()]
            if busy:
                raise CopyError("The target already holds a hospital (rows in "
                                f"{', '.join(busy)}): copy into an empty database.")
        with source.connection_context(), source.atomic(), target.connection_context():
            with target.atomic():
                _hold_triggers(target, models, hold=True)
                for model in models:
                    _copy_table(model, source, target)
                _hold_triggers(target, models, hold=False)
                _move_sequences(target, models)
            counts = {}
            for model in models:
                table = model._meta.table_name
                here, there = (d.execute_sql(f'SELECT count(*) FROM "{table}"').fetchone()[0]
                               for d in (source, target))
                if here != there:
                    raise CopyError(f"{table}: {here} rows in the source, {there} copied.")
                counts[table] = there
                say(f"{table}: {there} rows")
            # The schema's statistics were taken of empty tables: without fresh ones the
            # planner picks poor plans until autovacuum gets round to them (measured: a
            # history page at 63 ms instead of 13 in the first minutes).
            gather_statistics()
    finally:
        db.initialize(previous)
    return counts


def _is_base(model) -> bool:
    """A table of record, not one that triggers derive (those start with their seed rows)."""
    return model._meta.table_name not in ("appointment_tally", "user_tally", "appointment_day",
                                          "doctor_patient", "phone_search")


def _copy_table(model, source: Database, target: Database) -> None:
    """Every row of one table, in key order, converted by the model's fields."""
    table = model._meta.table_name
    fields = list(model._meta.sorted_fields)
    if not _is_base(model):  # the target's seed rows give way to the source's counts
        target.execute_sql(f'DELETE FROM "{table}"')
    order = model._meta.get_primary_keys()
    # A key to a row of the same table (a rescheduled appointment's original) may point at a
    # row copied later: written empty first, then set once every row is there.
    later = [i for i, f in enumerate(fields)
             if getattr(f, "rel_model", None) is model and f is not model._meta.primary_key]
    links: list[tuple] = []
    with source.bind_ctx([model]):
        rows = model.select(*fields).order_by(*order).tuples().iterator()
        batch: list[tuple] = []
        for row in rows:
            if later:
                links.extend((row[0], row[i], fields[i].column_name) for i in later
                             if row[i] is not None)
                row = tuple(None if i in later else v for i, v in enumerate(row))
            batch.append(row)
            if len(batch) == BATCH:
                _write(model, fields, batch, target)
                batch = []
        if batch:
            _write(model, fields, batch, target)
    for row_id, linked, column in links:
        target.execute_sql(f'UPDATE "{table}" SET "{column}" = %s WHERE "id" = %s',
                           (linked, row_id))


def _write(model, fields: list, batch: list[tuple], target: Database) -> None:
    with target.bind_ctx([model]):
        model.insert_many(batch, fields=fields).execute()


def _hold_triggers(target: Database, models: list, hold: bool) -> None:
    """Hold off (or restore) the target's own triggers while rows are copied as they are."""
    state = "DISABLE" if hold else "ENABLE"
    for model in models:
        target.execute_sql(f'ALTER TABLE "{model._meta.table_name}" {state} TRIGGER USER')


def _move_sequences(target: Database, models: list) -> None:
    """Each id sequence past the highest copied id, so the next row gets a new one."""
    for model in models:
        table, key = model._meta.table_name, model._meta.primary_key
        if getattr(key, "field_type", None) == "AUTO":
            target.execute_sql(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{key.column_name}'), "
                f'coalesce((SELECT max("{key.column_name}") FROM "{table}"), 0) + 1, false)')

"""The app for a WSGI server, configured from the HMS_* environment: `gunicorn -c
python:hms.gunicorn_conf hms.wsgi:app` (what scripts/run.sh runs)."""

from hms import create_app

app = create_app()

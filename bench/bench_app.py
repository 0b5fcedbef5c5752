"""The app as bench/load.py serves it with gunicorn: HMS from the HMS_* environment, plus a
bare route (a view that returns a word) to compare every screen with."""

from hms.wsgi import app


@app.get("/bench-bare")
def bare_route():
    return "ok"

"""Load-test HMS under its production server: `python bench/load.py PATH [--clients 1,8,32]`.

PATH is a hospital made by bench/generate.py. The benchmark copies it (bookings and
cancellations change the copy, never PATH), starts a private Redis and gunicorn as
scripts/run.sh does (HMS_WORKERS x HMS_THREADS, default 2 x 4; access log off), logs in as
each screen's user through the real form, and drives every screen with wrk (Debian's `wrk`,
`bash scripts/setup.sh --bench` installs it) at each number of clients, beside a bare route
(`/bench-bare`, a view that returns a word) served by the same server in the same run. Then
booking POSTs (each a different free slot) and status changes (the desk cancelling a
different future appointment each time) at the same client counts.

It prints one markdown table: p50 and p99 latency, requests per second, and the throughput as
a share of the bare route's at the same number of clients. With `--beside SMALLER` it prints
the growth table instead: both hospitals served at once, every cell at one client on each, in
the order smaller, larger, larger, smaller, and the ratio of their p50s. With `--postgres` the
hospital is copied (`hms copy-database`) into a private PostgreSQL cluster (tests/postgres.py)
and served from there. Everything binds to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.cookiejar
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
from screens import PASSWORD, screens  # noqa: E402 - bench/ is not a package

from support import csrf_token  # noqa: E402

HX = {"HX-Request": "true"}
LUA = Path(__file__).resolve().parent / "posts.lua"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Loopback only: never through a proxy named in the environment.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with DIRECT.open(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer in {seconds} s")


class Login:
    """One user's session on the server: its cookie header and a CSRF token for its forms."""

    def __init__(self, base: str, username: str) -> None:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                             urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(f"{base}/login").read().decode()
        form = urllib.parse.urlencode({"csrf_token": csrf_token(page), "username": username,
                                       "password": PASSWORD}).encode()
        opener.open(f"{base}/login", data=form)
        page = opener.open(f"{base}/").read().decode()
        self.csrf = csrf_token(page)
        self.cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
        if "session=" not in self.cookie:
            raise SystemExit(f"could not log in as {username}")


def wrk_threads(clients: int) -> int:
    return min(clients, 2)


def wrk(url: str, clients: int, seconds: int, headers: dict, env: dict | None = None,
        script: Path | None = None) -> dict:
    """Run wrk; its p50, p99 (ms), requests per second and error responses."""
    command = ["wrk", f"-t{wrk_threads(clients)}", f"-c{clients}", f"-d{seconds}s", "--latency",
               "--timeout", "30s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", str(script)]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True,
                         env={**os.environ, **(env or {})}).stdout

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"p50": ms("50%"), "p99": ms("99%"),
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),
            "errors": int(errors[1]) if errors else 0,
            "requests": int(re.search(r"(\d+) requests in", out)[1])}


def booking_posts(database: Path, logins: dict, today: dt.date) -> list[str]:
    """One POST per free future slot, spread over the bench patients (no patient twice at one
    time), each line 'path<TAB>cookie<TAB>body' for posts.lua."""
    import sqlite3

    con = sqlite3.connect(database)
    free = con.execute(
        "SELECT a.doctor_id, a.date, a.time_slot FROM doctor_availability a "
        "WHERE a.date > ? AND a.is_available AND NOT EXISTS (SELECT 1 FROM appointment p "
        "WHERE p.doctor_id = a.doctor_id AND p.date = a.date AND p.time = a.time_slot "
        "AND p.status IN ('booked', 'checked_in', 'completed', 'no_show')) "
        "ORDER BY a.date, a.time_slot, a.doctor_id LIMIT 20000", (today.isoformat(),)).fetchall()
    patients = [name for name in logins if name.startswith("patient.")]
    held = {(f"patient.{p:06d}", day, at) for p, day, at in con.execute(
        "SELECT patient_id, date, time FROM appointment WHERE date > ? AND status IN "
        "('booked', 'checked_in', 'completed', 'no_show')", (today.isoformat(),))}
    con.close()
    lines = []
    for doctor, day, at in free:
        for name in patients:  # the first patient free at that time
            if (name, day, at) not in held:
                held.add((name, day, at))
                body = urllib.parse.urlencode({"csrf_token": logins[name].csrf, "reason": "Bench",
                                               "slot": f"{day}T{at[:5]}"})
                lines.append(f"/appointments/book/{doctor}\t{logins[name].cookie}\t{body}")
                break
    return lines


def cancel_posts(database: Path, desk: Login, today: dt.date) -> list[str]:
    """One POST per booked future appointment: the desk cancels it, with a reason."""
    import sqlite3

    con = sqlite3.connect(database)
    ids = [i for (i,) in con.execute(
        "SELECT id FROM appointment WHERE status = 'booked' AND date > ? ORDER BY date DESC, "
        "time, doctor_id LIMIT 20000", (today.isoformat(),))]
    con.close()
    body = urllib.parse.urlencode({"csrf_token": desk.csrf, "action": "cancel",
                                   "reason": "Bench"})
    return [f"/appointments/{i}/status\t{desk.cookie}\t{body}" for i in ids]


class Server:
    """A copy of a hospital (bookings and cancellations change the copy, never the original)
    served as scripts/run.sh serves it, with a private Redis; stopped by stop()."""

    def __init__(self, path: Path, postgres_url: str | None = None) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="hms-load-"))
        # The SQLite file the posts' slots are read from; served unless PostgreSQL is.
        self.database = self.work / "hospital.sqlite3"
        shutil.copy(path, self.database)
        web, redis_port = free_port(), free_port()
        self.base = f"http://127.0.0.1:{web}"
        env = {**os.environ, "HMS_DATABASE": postgres_url or str(self.database),
               "HMS_INSTANCE_PATH": str(self.work),
               "HMS_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0", "HMS_SECRET_KEY": "bench",
               "HMS_BIND": f"127.0.0.1:{web}", "HMS_ACCESS_LOG": "",
               "PYTHONPATH": f"{ROOT / 'bench'}:{ROOT}"}
        self.processes = [subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--loglevel", "warning"], cwd=self.work)]
        try:
            self.processes.append(subprocess.Popen(
                [str(Path(sys.executable).parent / "gunicorn"), "-c", "python:hms.gunicorn_conf",
                 "bench_app:app"], env=env, cwd=ROOT))
            wait_for(f"{self.base}/bench-bare")
        except BaseException:
            self.stop()
            raise
        self.logins: dict[str, Login] = {}
        self.posts_used: dict[str, int] = {}

    def login(self, username: str) -> Login:
        if username not in self.logins:
            self.logins[username] = Login(self.base, username)
        return self.logins[username]

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        shutil.rmtree(self.work, ignore_errors=True)


def screen_cells(today: dt.date) -> list[tuple[str, str, str, dict]]:
    """Every screen of the issue's table, then the 300-visit history's downloads."""
    return screens(today.isoformat()) + [
        ("300-visit history, PDF", "dr.0001", "/patients/1/history.pdf", {}),
        ("300-visit history, CSV", "dr.0001", "/patients/1/history.csv", {}),
    ]


POSTERS = [f"patient.{n:06d}" for n in range(2, 42)] + ["desk1"]


def post_cells(server: Server, today: dt.date) -> list[tuple[str, list[str]]]:
    """(name, lines for posts.lua) of the booking POSTs and the desk's status changes."""
    for name in POSTERS:
        server.login(name)
    return [("booking (POST)", booking_posts(server.database, server.logins, today)),
            ("status change: desk cancels (POST)",
             cancel_posts(server.database, server.logins["desk1"], today))]


def wrk_screen(server: Server, login: str, url: str, headers: dict, clients: int,
               seconds: int) -> dict:
    headers = {**headers, "Cookie": server.login(login).cookie, "Accept-Encoding": "gzip"}
    DIRECT.open(urllib.request.Request(server.base + url, headers=headers)).read()  # warm
    return wrk(server.base + url, clients, seconds, headers)


def wrk_posts(server: Server, name: str, lines: list[str], clients: int, seconds: int) -> dict:
    """POST lines not yet used on this server, each once."""
    posts = server.work / "posts.tsv"
    offset = server.posts_used.get(name, 0)
    posts.write_text("\n".join(lines[offset:]) + "\n")
    result = wrk(server.base + "/", clients, seconds, {},
                 {"HMS_POSTS": str(posts), "HMS_WRK_THREADS": str(wrk_threads(clients))}, LUA)
    # The lines the run may have used: each wrk thread takes every n-th line, and the threads
    # need not send as many; up to a request per connection was in flight.
    server.posts_used[name] = offset + result["requests"] * wrk_threads(clients) + clients
    return result


def clinic_day(server: Server) -> dt.date:
    sys.path.insert(0, str(ROOT))
    from hms import create_app
    from hms.clock import clinic_today

    with create_app({"DATABASE": str(server.database), "SECRET_KEY": "bench"}).app_context():
        return clinic_today()  # in the clinic's zone, as the server sees it


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--seconds", type=int, default=8, help="per screen and client count")
    parser.add_argument("--only", help="a regular expression: the screens to run")
    parser.add_argument("--no-posts", action="store_true")
    parser.add_argument("--beside", type=Path, metavar="SMALLER",
                        help="the growth table instead: each screen at one client on PATH and "
                             "on the SMALLER hospital, served side by side, in turns")
    parser.add_argument("--postgres", action="store_true",
                        help="serve a copy of PATH from a private PostgreSQL cluster")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: bash scripts/setup.sh --bench")
    servers, cluster = [], None
    try:
        url = None
        if args.postgres:
            cluster, url = copy_into_postgres(args.path)
        servers.append(Server(args.path, url))
        if args.beside:
            servers.insert(0, Server(args.beside))
            growth(args, *servers)
        else:
            run(args, [int(c) for c in args.clients.split(",")], servers[0])
    finally:
        for server in servers:
            server.stop()
        if cluster:
            cluster.stop()


def copy_into_postgres(path: Path):
    """A private PostgreSQL cluster (tests/postgres.py) holding a copy of the hospital, made
    by `hms copy-database`; the cluster and the database's URL."""
    from postgres import Cluster

    from hms import create_app
    from hms.copying import copy_database

    cluster = Cluster()
    try:
        url = cluster.create("hospital")
        started = time.monotonic()
        app = create_app({"DATABASE": str(path), "SECRET_KEY": "bench"})
        with app.app_context():
            copy_database(str(path), url, app.instance_path, say=lambda line: None)
        print(f"copied into PostgreSQL in {time.monotonic() - started:.0f} s", file=sys.stderr)
    except BaseException:
        cluster.stop()
        raise
    return cluster, url


def run(args, clients: list[int], server: Server) -> None:
    today = clinic_day(server)
    engine = "PostgreSQL" if args.postgres else "SQLite"
    workers = os.environ.get("HMS_WORKERS", "2 (default)")
    threads = os.environ.get("HMS_THREADS", "4 (default)")
    print(f"{engine}; gunicorn {workers} workers x {threads} threads; {args.seconds} s per cell; "
          f"wrk on the same machine\n")
    print("| screen | clients | p50 ms | p99 ms | req/s | req/s ÷ bare | errors |")
    print("| --- | --: | --: | --: | --: | --: | --: |")
    bare = {}
    for c in clients:
        result = wrk(f"{server.base}/bench-bare", c, args.seconds, {})
        bare[c] = result["rps"]
        print(f"| bare route | {c} | {result['p50']:.2f} | {result['p99']:.2f} | "
              f"{result['rps']:.0f} | 100% | {result['errors']} |", flush=True)

    def show(name: str, c: int, result: dict) -> None:
        print(f"| {name} | {c} | {result['p50']:.1f} | {result['p99']:.1f} | "
              f"{result['rps']:.1f} | {100 * result['rps'] / bare[c]:.2f}% | "
              f"{result['errors']} |", flush=True)

    for name, login, url, headers in screen_cells(today):
        if not args.only or re.search(args.only, name):
            for c in clients:
                show(name, c, wrk_screen(server, login, url, headers, c, args.seconds))
    if not args.no_posts:
        for name, lines in post_cells(server, today):
            for c in clients:
                show(name, c, wrk_posts(server, name, lines, c, args.seconds))


def growth(args, smaller: Server, larger: Server) -> None:
    """p50 at one client of every cell on both hospitals. Each is measured twice, in the order
    smaller, larger, larger, smaller, so that the machine's drift during a cell (it is shared,
    and its speed changes) falls on both alike."""
    today = clinic_day(larger)
    print(f"{args.seconds} s per measurement, each twice on each hospital, in turns; "
          f"wrk at one client on the same machine\n")
    print("| screen | p50 ms, smaller | p50 ms, larger | growth | errors |")
    print("| --- | --: | --: | --: | --: |")
    measures = [("bare route", lambda s: wrk(f"{s.base}/bench-bare", 1, args.seconds, {}))]
    for name, login, url, headers in screen_cells(today):
        if not args.only or re.search(args.only, name):
            measures.append((name, lambda s, a=(login, url, headers): wrk_screen(
                s, *a, 1, args.seconds)))
    if not args.no_posts:
        lines = {s: dict(post_cells(s, today)) for s in (smaller, larger)}
        for name in lines[larger]:
            measures.append((name, lambda s, n=name: wrk_posts(s, n, lines[s][n], 1,
                                                               args.seconds)))
    for name, measure in measures:
        runs = {s: [] for s in (smaller, larger)}
        for server in (smaller, larger, larger, smaller):
            runs[server].append(measure(server))
        p50 = {s: statistics.mean(r["p50"] for r in runs[s]) for s in runs}
        errors = sum(r["errors"] for rs in runs.values() for r in rs)
        print(f"| {name} | {p50[smaller]:.2f} | {p50[larger]:.2f} | "
              f"{p50[larger] / p50[smaller]:.2f}x | {errors} |", flush=True)


if __name__ == "__main__":
    main()

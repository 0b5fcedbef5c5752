"""A private PostgreSQL cluster for the tests: Debian's postgresql binaries, `initdb` in a
temporary folder, a free loopback port, stopped at the end. Nothing of the machine's own
PostgreSQL (Debian's `main` cluster) is used or touched."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from support import free_port, without_faketime

VERSIONS = Path("/usr/lib/postgresql")


def binaries() -> Path:
    """The newest installed PostgreSQL's bin folder."""
    found = sorted((v for v in VERSIONS.glob("*/bin") if (v / "initdb").exists()),
                   key=lambda p: int(p.parent.name))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run scripts/test.sh, which installs it")
    return found[-1]


class Cluster:
    """initdb, then postgres on 127.0.0.1:<free port>, its socket in its own folder. Durability
    is off (fsync, synchronous_commit): a test cluster is thrown away."""

    def __init__(self) -> None:
        self.bin = binaries()
        self.root = Path(tempfile.mkdtemp(prefix="hms-pg-"))
        self.data, self.socket = self.root / "data", self.root / "socket"
        self.socket.mkdir()
        # PostgreSQL refuses to run as root; as root, it runs as Debian's postgres user.
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(self.root, self.user)
            shutil.chown(self.socket, self.user)
        self.port = free_port()
        self._run("initdb", "-D", str(self.data), "-U", "hms", "--auth=trust",
                  "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "start",
                  "-o", f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.socket} "
                        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                        "-c max_connections=200")

    def _run(self, program: str, *args: str) -> None:
        subprocess.run([str(self.bin / program), *args], check=True, user=self.user,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.root,
                       env=without_faketime())

    def url(self, database: str) -> str:
        return f"postgresql://hms@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        """Run a statement that cannot run in a transaction (CREATE/DROP DATABASE)."""
        with psycopg.connect(self.url("postgres"), autocommit=True) as con:
            con.execute(sql)

    def create(self, name: str, template: str | None = None) -> str:
        """A new database (a copy of template, if given); its URL."""
        # FILE_COPY: copying the template's files is twice as fast as WAL_LOG for a small one.
        self.admin(f'CREATE DATABASE "{name}"'
                   + (f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""))
        return self.url(name)

    def drop(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

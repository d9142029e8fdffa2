"""A private PostgreSQL server for the tests, from Debian's postgresql package.

    with PostgresServer() as server:
        url = server.create_database("gradebook")   # postgresql+psycopg2://postgres@127.0.0.1:PORT/gradebook

The server lives in a temporary folder (data, unix socket, log), listens on a free port on
127.0.0.1 only, trusts every local connection, and is stopped (``pg_ctl stop -m immediate``)
and deleted on exit. initdb refuses to run as root, so as root the server runs as the
``postgres`` OS user (created by the Debian package), which then owns the folder.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg2
from psycopg2 import sql

SETUP_HINT = "`bash scripts/setup.sh --dev` installs Debian's postgresql (the tests start a real server for the gradebook)."


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server can be started here; the message says why and what to install."""


def find_bindir() -> Path:
    """The bin folder of the newest PostgreSQL in /usr/lib/postgresql/<version>/bin."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    found = [d for d in found if (d / "pg_ctl").is_file() and (d / "postgres").is_file()]
    if not found:
        raise PostgresUnavailable(f"PostgreSQL's server programs (initdb, pg_ctl) are not in /usr/lib/postgresql/*/bin. {SETUP_HINT}")
    return max(found, key=lambda d: [int(n) for n in re.findall(r"\d+", d.parent.name)])


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """A PostgreSQL server of its own in a temporary folder; use as a context manager."""

    user = "postgres"  # the database superuser that initdb creates

    def __init__(self):
        self.bindir = find_bindir()
        self.port: int | None = None
        self.folder: Path | None = None

    # -- running programs as the server's OS user -----------------------------------------------

    def _os_user(self) -> str | None:
        """The OS user to run the server as when we are root (initdb refuses root), else None."""
        if os.geteuid() != 0:
            return None
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable(f"running as root and there is no `postgres` OS user to run the server as. {SETUP_HINT}") from None
        return "postgres"

    def _run(self, *command: str) -> subprocess.CompletedProcess:
        program = [str(self.bindir / command[0]), *command[1:]]
        if self._os_user():
            program = ["runuser", "-u", self._os_user(), "--", *program]
        return subprocess.run(program, cwd=self.folder, capture_output=True, text=True, timeout=120)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> "PostgresServer":
        self.folder = Path(tempfile.mkdtemp(prefix="pytest-postgres-"))
        if self._os_user():
            shutil.chown(self.folder, self._os_user(), self._os_user())
        data = self.folder / "data"
        done = self._run("initdb", "-D", str(data), "-U", self.user, "--auth=trust", "--encoding=UTF8", "--no-sync")
        if done.returncode:
            raise PostgresUnavailable(f"initdb failed:\n{done.stdout}{done.stderr}")
        for attempt in range(3):  # another process may take the free port before the server does
            self.port = free_port()
            options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off -c full_page_writes=off"
            done = self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(data), "-l", str(self.folder / "server.log"), "-o", options)
            if done.returncode == 0:
                return self
        log = (self.folder / "server.log").read_text(errors="replace")[-3000:] if (self.folder / "server.log").exists() else ""
        raise PostgresUnavailable(f"pg_ctl start failed:\n{done.stdout}{done.stderr}\nserver log:\n{log}")

    def stop(self) -> None:
        if self.folder is None:
            return
        if (self.folder / "data" / "postmaster.pid").exists():
            self._run("pg_ctl", "stop", "-m", "immediate", "-w", "-D", str(self.folder / "data"))
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None

    def __enter__(self) -> "PostgresServer":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- databases -------------------------------------------------------------------------------

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of a database on this server."""
        return f"postgresql+psycopg2://{self.user}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres"):
        """A psycopg2 connection (autocommit) to a database on this server."""
        connection = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, dbname=database)
        connection.autocommit = True
        return connection

    def create_database(self, name: str) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        connection = self.connect()  # not `with connection`: that would open a transaction
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        finally:
            connection.close()
        return self.url(name)

"""A throwaway PostgreSQL cluster on a Unix socket in a temporary folder.

For the tests and the history benchmark: Debian's `postgresql` package gives the server
programs (`/usr/lib/postgresql/N/bin`), never a running service of the system's. The
cluster listens on no TCP port, trusts its one user, and does not sync to disk (it lives
for one test run). PostgreSQL refuses to run as root, so under root (CI's container) its
programs run as `nobody`, with the folder handed to that user.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

USER = "sandgate"


def server_programs() -> Path | None:
    """The newest installed PostgreSQL's program folder, or None when there is none."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found else None


class Cluster:
    """`start()` it, `create_database()` per test, `stop()` at the end."""

    def __init__(self) -> None:
        programs = server_programs()
        if programs is None:
            raise FileNotFoundError("no PostgreSQL server programs in /usr/lib/postgresql")
        self.programs = programs
        # Short and in /tmp: a socket's path must fit in 107 bytes, and under root the
        # server's user must be able to reach it (a root-only TMPDIR would not do).
        base = "/tmp" if os.path.isdir("/tmp") else None
        self.folder = Path(tempfile.mkdtemp(prefix="sg-pg-", dir=base))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self._as: list[str] = []
        if os.geteuid() == 0:
            self._as = ["runuser", "-u", "nobody", "--"]
            shutil.chown(self.folder, "nobody")
        self._made = 0

    def _run(self, program: str, *args: str) -> None:
        command = [*self._as, str(self.programs / program), *args]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.folder)
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{program} failed: {done.stderr.strip()} {log[-2000:]}")

    def start(self, **settings: str) -> Cluster:
        """initdb and start; `settings` are server settings (`shared_buffers="1GB"`)."""
        self._run(
            "initdb", "-D", str(self.data), "-U", USER, "--auth=trust", "-E", "UTF8",
            "--locale=C.UTF-8", "--no-sync", "--no-instructions",
        )  # fmt: skip
        options = (
            f"-k {self.folder} -c listen_addresses='' -c fsync=off -c synchronous_commit=off"
            " -c full_page_writes=off -c max_connections=200"
        ) + "".join(f" -c {name}={value}" for name, value in settings.items())
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        return self

    def url(self, database: str = "postgres") -> str:
        """The URL a user would configure, here over the cluster's socket folder."""
        return f"postgresql://{USER}@/{database}?host={self.folder}"

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; its URL."""
        import psycopg

        self._made += 1
        name = f"{prefix}{self._made}"
        with psycopg.connect(host=str(self.folder), user=USER, dbname="postgres") as conn:
            conn.autocommit = True
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop the database of `url`, ending its connections (a server gone, to a client)."""
        import psycopg

        name = url.split("://", 1)[1].split("/", 1)[1].split("?", 1)[0]
        with psycopg.connect(host=str(self.folder), user=USER, dbname="postgres") as conn:
            conn.autocommit = True
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self.data.exists():
            with contextlib.suppress(RuntimeError):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

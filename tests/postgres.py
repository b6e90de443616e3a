"""A real PostgreSQL server for the tests: Debian's ``postgresql`` package (``tests/setup_system.sh`` installs
it), started in a temporary directory with ``initdb`` and ``pg_ctl`` on a free loopback port, stopped at the
end. PostgreSQL refuses to run as root, so as root (CI) it runs as the ``postgres`` user the package creates
(else ``nobody``), in a directory that user owns. Each test gets a role and a schema of its own."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

__all__ = ["PostgresServer", "find_binary"]


def find_binary(name: str) -> str | None:
    """``initdb`` / ``pg_ctl`` on PATH, else in Debian's /usr/lib/postgresql/<version>/bin (newest first)."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]), reverse=True)
    return str(versions[0]) if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self) -> None:
        initdb, self.pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
        if not (initdb and self.pg_ctl):
            raise FileNotFoundError("PostgreSQL is not installed: run tests/setup_system.sh (apt-get install postgresql)")
        self.root = Path(tempfile.mkdtemp(prefix="playground-pg-"))
        self.runner: list[str] = []
        if os.geteuid() == 0:
            user = "postgres" if _user_exists("postgres") else "nobody"
            entry = pwd.getpwnam(user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
            self.runner = ["runuser", "-u", user, "--"]
        self.data = self.root / "data"
        self.port = _free_port()
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        try:
            self._run(initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C",
                      "--no-sync")
            self._run(self.pg_ctl, "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w",
                      "-t", "60", "start")
            self.admin("CREATE DATABASE tests")
        except BaseException:
            self.stop()
            raise

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self.runner, *args], capture_output=True, text=True, cwd=self.root)
        if done.returncode:
            log = self.root / "server.log"
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stderr or done.stdout}"
                               + (log.read_text()[-2000:] if log.exists() else ""))

    def url(self, role: str = "postgres") -> str:
        return f"postgresql+pg8000://{role}@127.0.0.1:{self.port}/tests"

    def admin(self, sql: str, database: str = "postgres") -> list:
        """Run statements as the superuser, outside any transaction."""
        import pg8000.native

        conn = pg8000.native.Connection("postgres", host="127.0.0.1", port=self.port, database=database)
        try:
            return conn.run(sql)
        finally:
            conn.close()

    def create_role(self) -> str:
        """A new login role with a schema of its own (first on its search path): an empty database for one
        test, made in milliseconds where CREATE DATABASE takes seconds."""
        role = f"t_{uuid.uuid4().hex[:12]}"
        self.admin(f"CREATE ROLE {role} LOGIN; CREATE SCHEMA AUTHORIZATION {role}", database="tests")
        return role

    def drop_role(self, role: str) -> None:
        self.admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'")
        self.admin(f"DROP SCHEMA IF EXISTS {role} CASCADE; DROP ROLE IF EXISTS {role}", database="tests")

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False

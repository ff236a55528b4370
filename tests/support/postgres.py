"""A real PostgreSQL server for the test session: initdb in a temp dir, started on
127.0.0.1 with a free port, stopped at the end. Each test gets its own database."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass


class PostgresUnavailable(Exception):
    pass


def _bin_dir() -> str:
    override = os.environ.get("IR_TEST_POSTGRES_BIN")  # lets a test pretend the server is missing
    if override is not None:
        if os.path.exists(os.path.join(override, "initdb")):
            return override
        raise PostgresUnavailable(f"no initdb in IR_TEST_POSTGRES_BIN={override}")
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return os.path.dirname(candidates[0])
    found = shutil.which("initdb")
    if found:
        return os.path.dirname(os.path.realpath(found))
    raise PostgresUnavailable("no PostgreSQL server binaries (initdb) on this machine; `make test` installs Debian's postgresql as root")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    bin_dir: str
    data_dir: str
    port: int
    run_as: list[str]
    options: str = ""  # the postgres -o options it was started with (kept for start_again)

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([*self.run_as, *args], capture_output=True, text=True, check=check, timeout=120)

    def create_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        self._run(f"{self.bin_dir}/pg_ctl", "-D", self.data_dir, "-m", "immediate", "stop", check=False)
        shutil.rmtree(os.path.dirname(self.data_dir), ignore_errors=True)

    def stop_only(self, mode: str = "immediate") -> None:
        """Stop the server but keep its data (a crash, with mode "immediate"); see start_again."""
        self._run(f"{self.bin_dir}/pg_ctl", "-D", self.data_dir, "-m", mode, "-w", "stop")

    def start_again(self) -> None:
        """Start a server stopped by stop_only, on the same port with the same data."""
        self._run(f"{self.bin_dir}/pg_ctl", "-D", self.data_dir, "-o", self.options, "-w",
                  "-l", os.path.join(os.path.dirname(self.data_dir), "log"), "start")

    def restart(self) -> None:
        # -l: the restarted server must not inherit our captured stdout (run() would wait for it).
        self._run(f"{self.bin_dir}/pg_ctl", "-D", self.data_dir, "-m", "fast", "-w",
                  "-l", os.path.join(os.path.dirname(self.data_dir), "log"), "restart")


def start_postgres() -> PostgresServer:
    bin_dir = _bin_dir()
    root = tempfile.mkdtemp(prefix="ir-pg-", dir="/tmp")
    data_dir = os.path.join(root, "data")
    run_as: list[str] = []
    if os.geteuid() == 0:
        # The server refuses to run as root: run it as the packaged postgres user.
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable("running as root and there is no 'postgres' user to run the server as") from None
        os.chown(root, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
    server = PostgresServer(bin_dir, data_dir, port, run_as, options)
    init = server._run(f"{bin_dir}/initdb", "-D", data_dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", check=False)
    if init.returncode != 0:
        raise PostgresUnavailable(f"initdb failed: {init.stderr.strip().splitlines()[-1:]}")
    start = server._run(f"{bin_dir}/pg_ctl", "-D", data_dir, "-o", options, "-l", os.path.join(root, "log"), "-w", "start",
                        check=False)
    if start.returncode != 0:
        log = open(os.path.join(root, "log")).read()[-500:] if os.path.exists(os.path.join(root, "log")) else ""
        raise PostgresUnavailable(f"the server did not start: {start.stderr.strip()} {log}")
    return server

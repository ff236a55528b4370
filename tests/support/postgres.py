"""A real PostgreSQL server for the test session: initdb in a temp dir, started on
127.0.0.1 with a free port, stopped at the end. Each test gets its own database.

The server is `postgres` itself, a direct child of the test process (never `pg_ctl start`,
which daemonises): tests/support/lifetime.py then guarantees it dies with that process."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import lifetime


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


# How postgres is asked to stop (pg_ctl's -m modes are these signals).
STOP_SIGNALS = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}
READY_LIMIT_S = 60.0


@dataclass
class PostgresServer:
    bin_dir: str
    data_dir: str
    port: int
    as_user: dict = field(default_factory=dict)  # Popen's user/group when the tests run as root
    proc: subprocess.Popen | None = None

    @property
    def root(self) -> str:
        return os.path.dirname(self.data_dir)

    @property
    def log_path(self) -> str:
        return os.path.join(self.root, "log")

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return lifetime.run(list(args), capture_output=True, text=True, check=check, timeout=120, cwd=self.root,
                            **self.as_user)

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

    def _start(self) -> None:
        """Start postgres as our child and wait until it accepts connections."""
        with open(self.log_path, "a") as log:
            self.proc = lifetime.popen(
                [f"{self.bin_dir}/postgres", "-D", self.data_dir, "-p", str(self.port), "-k", self.root,
                 "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=100"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=self.root, **self.as_user)
        deadline = time.monotonic() + READY_LIMIT_S
        lock_file = Path(self.data_dir) / "postmaster.pid"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise PostgresUnavailable(f"the server did not start (exit status {self.proc.returncode}): "
                                          f"{Path(self.log_path).read_text(errors='replace')[-500:]}")
            # The lock file's first line is the server's pid, its eighth the state pg_ctl -w waits for.
            try:
                lines = lock_file.read_text().splitlines()
            except (FileNotFoundError, PermissionError):
                lines = []
            if len(lines) >= 8 and lines[0].strip() == str(self.proc.pid) and lines[7].strip() == "ready":
                return
            time.sleep(0.05)
        self._signal_and_wait("immediate")
        raise PostgresUnavailable(f"the server was not ready within {READY_LIMIT_S:.0f} s: "
                                  f"{Path(self.log_path).read_text(errors='replace')[-500:]}")

    def _signal_and_wait(self, mode: str) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(STOP_SIGNALS[mode])
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    def stop(self) -> None:
        self._signal_and_wait("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def stop_only(self, mode: str = "immediate") -> None:
        """Stop the server but keep its data (a crash, with mode "immediate"); see start_again."""
        self._signal_and_wait(mode)

    def start_again(self) -> None:
        """Start a server stopped by stop_only, on the same port with the same data."""
        self._start()

    def restart(self) -> None:
        self._signal_and_wait("fast")  # fast shutdown: the server closes every connection
        self._start()


def start_postgres() -> PostgresServer:
    bin_dir = _bin_dir()
    root = lifetime.owned_temp_dir("ir-pg-")
    as_user: dict = {}
    if os.geteuid() == 0:
        # The server refuses to run as root: run it as the packaged postgres user. Popen's
        # user= (not runuser) keeps it our direct child, with its death signal still set.
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root, ignore_errors=True)
            raise PostgresUnavailable("running as root and there is no 'postgres' user to run the server as") from None
        os.chown(root, user.pw_uid, user.pw_gid)
        as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    server = PostgresServer(bin_dir, str(root / "data"), free_port(), as_user)
    init = server._run(f"{bin_dir}/initdb", "-D", server.data_dir, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                       check=False)
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise PostgresUnavailable(f"initdb failed: {init.stderr.strip().splitlines()[-1:]}")
    # A free port can be taken by someone else (another xdist worker) before postgres binds it.
    for attempt in range(3):
        try:
            server._start()
            return server
        except PostgresUnavailable:
            if attempt == 2 or "could not bind" not in Path(server.log_path).read_text(errors="replace"):
                shutil.rmtree(root, ignore_errors=True)
                raise
            server.port = free_port()
    raise AssertionError("unreachable")

"""A test run killed midway (SIGKILL, a CI timeout) leaves no server behind.

A real pytest run starts PostgreSQL and Prometheus through the session's own fixtures
(tests/conftest.py), an Alertmanager and a CLI `serve` through the same helpers, and then
waits; this test SIGKILLs that run and asserts every process it had started (servers,
PostgreSQL's own children, xdist workers) is gone within a bounded wait, and every port
it listened on is free again."""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.support import lifetime

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
GONE_WITHIN_S = 20.0

HOLDER = textwrap.dedent('''
    import json, os, subprocess, sys, threading
    from pathlib import Path

    from tests.support import lifetime
    from tests.support.postgres import free_port
    from tests.support.prometheus import Alertmanager

    def test_hold_servers_until_killed(postgres_server, prometheus):
        import psycopg

        manager = Alertmanager("http://127.0.0.1:9/alerts", "token", cluster=False)
        port = free_port()
        serve = lifetime.popen([str(Path(sys.executable).with_name("incident-response")), "--db",
                                "sqlite:///" + os.environ["HOLDER_DB"], "serve", "--port", str(port)],
                               stdout=subprocess.PIPE, env=dict(os.environ, IR_WEBHOOK_TOKEN="token"), text=True)
        assert "Listening on" in serve.stdout.readline()
        # An open connection: PostgreSQL then has a backend process of its own for it.
        connection = psycopg.connect(postgres_server.admin_url)
        started = {"postgres": [postgres_server.proc.pid, postgres_server.port],
                   "prometheus": [prometheus.proc.pid, prometheus.port],
                   "alertmanager": [manager.proc.pid, manager.port], "serve": [serve.pid, port]}
        Path(os.environ["HOLDER_REPORT"]).write_text(json.dumps(started))
        with open(os.environ["HOLDER_FIFO"], "w") as ready:
            ready.write("!")
        threading.Event().wait()  # until the run is killed
''')


def _start_time(pid: int) -> str | None:
    """The process's start time (tells a pid apart from a later reuse), or None once it
    is gone. A zombie counts as gone: it runs nothing and holds no port."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else fields[19]


def _descendants(pid: int) -> dict[int, str]:
    found: dict[int, str] = {}
    pending = [pid]
    while pending:
        parent = pending.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                started = _start_time(child)
                if started is not None and child not in found:
                    found[child] = started
                    pending.append(child)
    return found


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:200]
    except OSError:
        return "?"


def _listeners(ports: set[int]) -> dict[str, str]:
    """The sockets listening on any of these loopback ports (from /proc/net/tcp), by inode:
    a port freed by a killed server may be taken at once by another test's server, whose
    socket is a new one."""
    found = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if state == "0A" and int(local.split(":")[1], 16) in ports:  # 0A: LISTEN
            found[inode] = line.strip()
    return found


def _wait_for_report(report: Path, fifo_fd: int, run: subprocess.Popen, limit_s: float) -> dict:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fifo_fd], [], [], 0.2)
        if ready:
            os.read(fifo_fd, 1)
            return json.loads(report.read_text())
        if run.poll() is not None:
            output = run.stdout.read()
            if "skipped" in output and "PostgreSQL unavailable" in output and not IN_CI:
                pytest.skip("PostgreSQL unavailable, so no server to leave behind")
            pytest.fail(f"the killed run's test never started its servers:\n{output[-3000:]}")
    pytest.fail(f"the run to kill did not start its servers within {limit_s:.0f} s")


@pytest.mark.parametrize("workers", [None, "1"], ids=["pytest", "pytest-xdist"])
def test_a_killed_test_run_leaves_no_server_behind(tmp_path, workers):
    (tmp_path / "test_holder.py").write_text(HOLDER)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    report = tmp_path / "started.json"
    # The holder says it is ready through a FIFO: the run's output is captured by pytest
    # (and by xdist, in a worker), and reading a FIFO is an event to await, not a sleep.
    fifo = tmp_path / "ready.fifo"
    os.mkfifo(fifo)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "HOLDER_"))}
    env.update(PYTHONPATH=str(ROOT), HOLDER_REPORT=str(report), HOLDER_FIFO=str(fifo), HOLDER_DB=str(tmp_path / "serve.db"))
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest",
            "-c", str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path), str(tmp_path / "test_holder.py")]
    if workers:
        argv += ["-n", workers]
    fifo_fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)  # read-write: no EOF before the holder writes
    try:
        # Started like every other test child: if *this* test is killed, the run dies too.
        run = lifetime.popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            started = _wait_for_report(report, fifo_fd, run, 120)
        except BaseException:
            run.kill()
            raise
    finally:
        os.close(fifo_fd)
    doomed = _descendants(run.pid)
    servers = {name: pid for name, (pid, _) in started.items()}
    assert set(servers.values()) <= set(doomed), (servers, doomed)
    # PostgreSQL's own children (checkpointer, the connection's backend, ...) are counted too.
    assert len([pid for pid in doomed if pid not in servers.values()]) >= 2, doomed

    ports = {port for _, port in started.values()}
    listening = _listeners(ports)  # the servers' own sockets: one at least on each port
    assert {int(line.split()[1].split(":")[1], 16) for line in listening.values()} == ports, (started, listening)

    run.send_signal(signal.SIGKILL)
    run.wait(10)
    deadline = time.monotonic() + GONE_WITHIN_S
    survivors = dict(doomed)
    while survivors and time.monotonic() < deadline:
        survivors = {pid: at for pid, at in survivors.items() if _start_time(pid) == at}
        if survivors:
            time.sleep(0.1)
    assert not survivors, {pid: _command(pid) for pid in survivors}
    still = {inode: line for inode, line in _listeners(ports).items() if inode in listening}
    assert still == {}, started

"""What the load and fault tests share, in the writer processes and in the test itself.

In a writer process:
- `install_commit_log` records every committed write: `Database.write` is wrapped so that,
  right after the commit returned, the timeline events the transaction appended (their
  seq, incident, kind, actor, summary) are written to the process's JSON-lines log with
  `time.time()`. That is the writer's acknowledgement: what it was told is stored.
- `JsonLog` is that log (one line per record, flushed at once, safe across threads).

In the test:
- `read_logs` / `committed_events` / `seen_series` gather what every writer logged.
- `check_store` compares the database with the acknowledgements (nothing lost, nothing
  twice, no event nobody acknowledged), runs `incident-response audit verify` as a user
  would and, on SQLite, `PRAGMA integrity_check`.
- `visibility_lags` measures, for every acknowledged event and every other process, how
  long after the commit that process first saw a timeline position at or past it.
"""
from __future__ import annotations

import bisect
import json
import os
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Iterable

from tests.support import lifetime

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).with_name("incident-response"))
# Words that must never reach a user: SQLite's lock error, or a Python traceback.
FORBIDDEN = ("database is locked", "locked", "Traceback", "internal error", "Unexpected error")


class JsonLog:
    def __init__(self, path: Path) -> None:
        self._file = open(path, "a", buffering=1, encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, **record) -> None:
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()


def install_commit_log(log: JsonLog, current_op: Callable[[], str] = lambda: "") -> None:
    """Log every committed transaction that appended timeline events (see module doc)."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from store import database
    from store.models import TimelineEvent

    @event.listens_for(Session, "before_flush")
    def _collect(session, _context, _instances) -> None:
        bucket = session.info.get("ir_events")
        if bucket is not None:
            bucket.extend(o for o in session.new if isinstance(o, TimelineEvent))

    # declare and tick append their events sealed, through SQLAlchemy Core (no ORM flush):
    # the rows append_sealed returns are collected the same way.
    from store import operations

    sealed = operations.append_sealed

    def append_sealed(session, entries, state, **how):
        rows = sealed(session, entries, state, **how)
        bucket = session.info.get("ir_events")
        if bucket is not None:
            bucket.extend(SimpleNamespace(**row) for row in rows)
        return rows

    operations.append_sealed = append_sealed

    original = database.Database.write

    @contextmanager
    def write(self, **kinds):
        events: list = []
        with original(self, **kinds) as session:
            session.info["ir_events"] = events
            yield session
        # Only here, after the commit returned, is the write acknowledged.
        if events:
            log.write(kind="commit", t=time.time(), op=current_op(),
                      events=[[e.seq, e.incident_id, e.kind, e.actor, e.summary] for e in events])

    database.Database.write = write


def wait_for_go(go_file: Path, limit_s: float = 120.0) -> float:
    """Block until the test says go; returns the common start time written in the file."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            text = go_file.read_text().strip()
            if text:
                return float(text)
        except FileNotFoundError:
            pass
        time.sleep(0.01)
    raise SystemExit("no go from the test")


# -- in the test -----------------------------------------------------------------------

def read_logs(log_dir: Path) -> dict[str, list[dict]]:
    logs = {}
    for path in sorted(log_dir.glob("*.jsonl")):
        records = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                try:
                    records.append(json.loads(line))
                except ValueError:  # a line cut short by SIGKILL: never acknowledged
                    pass
        logs[path.stem] = records
    return logs


@dataclass(frozen=True)
class Acknowledged:
    writer: str
    t: float
    seq: int
    incident_id: str | None
    kind: str
    actor: str
    summary: str


def committed_events(logs: dict[str, list[dict]]) -> list[Acknowledged]:
    return [Acknowledged(writer, record["t"], *event)
            for writer, records in logs.items() for record in records if record["kind"] == "commit"
            for event in record["events"]]


def seen_series(records: Iterable[dict]) -> tuple[list[float], list[int]]:
    """(times, seqs), both ascending: when this process first saw each higher position."""
    times, seqs = [], []
    for record in records:
        if record["kind"] == "seen" and (not seqs or record["seq"] > seqs[-1]):
            times.append(record["t"])
            seqs.append(record["seq"])
    return times, seqs


@dataclass
class Lags:
    values: list[float] = field(default_factory=list)
    never_seen: list[tuple[str, int, str]] = field(default_factory=list)  # (observer, seq, writer)

    def percentile(self, pct: float) -> float:
        ordered = sorted(self.values)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, max(0, int(round(pct / 100 * len(ordered) + 0.5)) - 1))]

    def describe(self) -> str:
        return (f"{len(self.values)} (event, other process) pairs: p50 {self.percentile(50) * 1000:.0f} ms, "
                f"p95 {self.percentile(95) * 1000:.0f} ms, p99 {self.percentile(99) * 1000:.0f} ms, "
                f"max {max(self.values, default=0) * 1000:.0f} ms, never seen {len(self.never_seen)}")


def visibility_lags(acknowledged: list[Acknowledged], logs: dict[str, list[dict]],
                    observers: Iterable[str], until: float | None = None) -> Lags:
    """For each acknowledged event and each observer other than its writer: first time the
    observer saw a position >= the event's seq, minus the commit time (0 if it saw the
    position before the writer had logged its acknowledgement). Events committed after
    `until` (the end of the writing window: a write begun just before it may land seconds
    later, when the others have stopped looking) are left out."""
    lags = Lags()
    series = {name: seen_series(logs[name]) for name in observers}
    for event in acknowledged:
        if until is not None and event.t > until:
            continue
        for name, (times, seqs) in series.items():
            if name == event.writer:
                continue
            at = bisect.bisect_left(seqs, event.seq)
            if at == len(seqs):
                lags.never_seen.append((name, event.seq, event.writer))
                continue
            lags.values.append(max(0.0, times[at] - event.t))
    return lags


def run_cli(url: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """The real `incident-response` program, as a user runs it."""
    return subprocess.run([CLI, "--db", url, *args], capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ))


def database_events(url: str) -> dict[int, tuple]:
    from sqlalchemy import text

    from store.database import open_database

    db = open_database(url, migrate=False)
    try:
        with db.read() as session:
            rows = session.execute(text(
                "SELECT seq, incident_id, kind, actor, summary FROM timeline_event ORDER BY seq")).all()
    finally:
        db.dispose()
    return {row[0]: tuple(row[1:]) for row in rows}


def integrity_ok(url: str) -> str:
    """PRAGMA integrity_check on a SQLite store ('ok' when intact); 'ok' on PostgreSQL."""
    if not url.startswith("sqlite"):
        return "ok"
    import sqlite3

    conn = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=60)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def check_store(url: str, acknowledged: list[Acknowledged], *, baseline_seq: int = 0,
                unlogged_ok: Callable[[int, tuple], bool] = lambda seq, row: False) -> dict[int, tuple]:
    """Everything acknowledged is in the store exactly as acknowledged; no seq was handed
    out twice; no event appeared that nobody acknowledged (except those `unlogged_ok`
    accepts, e.g. from real CLI subprocesses checked separately); the audit chain verifies
    through the CLI; SQLite's integrity check passes. Returns the database's events."""
    by_seq: dict[int, Acknowledged] = {}
    for event in acknowledged:
        assert event.seq not in by_seq, f"seq {event.seq} acknowledged twice: {by_seq[event.seq]} and {event}"
        by_seq[event.seq] = event
    stored = database_events(url)
    for seq, event in by_seq.items():
        row = stored.get(seq)
        assert row is not None, f"acknowledged event lost: {event}"
        assert row == (event.incident_id, event.kind, event.actor, event.summary), (row, event)
    unexplained = [(seq, row) for seq, row in stored.items()
                   if seq > baseline_seq and seq not in by_seq and not unlogged_ok(seq, row)]
    assert not unexplained, f"events nobody acknowledged: {unexplained[:5]} ({len(unexplained)})"
    assert integrity_ok(url) == "ok"
    audit = run_cli(url, "audit", "verify")
    assert audit.returncode == 0 and audit.stdout.startswith("audit ok"), (audit.stdout, audit.stderr)
    return stored


def forbidden_in(text: str) -> list[str]:
    return [line for line in text.splitlines() if any(word in line for word in FORBIDDEN)]


# -- starting writers --------------------------------------------------------------------

@dataclass
class Writers:
    """Writer processes started together (see tests/load/writer.py), each bounded."""

    procs: dict[str, subprocess.Popen]
    log_dir: Path
    go_file: Path

    def go(self, seconds: float) -> float:
        start = time.time() + 0.2
        self.go_file.write_text(f"{start}")
        return start

    def wait(self, limit_s: float) -> dict[str, int]:
        """Exit statuses; anything still running at the limit is killed (and fails the test)."""
        deadline = time.monotonic() + limit_s
        statuses = {}
        for name, proc in self.procs.items():
            try:
                statuses[name] = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
                statuses[name] = "killed at the time limit"
        return statuses

    def kill_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)

    def stderr(self, name: str) -> str:
        return (self.log_dir / f"{name}.stderr").read_text(errors="replace")


def start_writers(url: str, log_dir: Path, kinds: Iterable[tuple[str, str]], seconds: float, *,
                  drain: float = 2.0, ready_limit_s: float = 120.0, **extra) -> Writers:
    """Start one writer per (mode, name), wait until each is ready (imports done, app up).

    `log_dir` must not be inside the SQLite file's folder: command centers watch that
    folder, and the writers' logs would wake them all the time (a cost no real user has)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    go_file = log_dir / "go"
    procs = {}
    for index, (mode, name) in enumerate(kinds):
        spec = {"mode": mode, "name": name, "url": url, "go_file": str(go_file), "seconds": seconds,
                "drain": drain, "log_dir": str(log_dir), "seed": index, **extra}
        spec_path = log_dir / f"{name}.spec.json"
        spec_path.write_text(json.dumps(spec))
        procs[name] = lifetime.popen([sys.executable, "-m", "tests.load.writer", str(spec_path)], cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=open(log_dir / f"{name}.stderr", "w"),
                                     text=True)
    writers = Writers(procs, log_dir, go_file)
    deadline = time.monotonic() + ready_limit_s
    try:
        for name, proc in procs.items():
            line = _readline(proc, deadline)
            assert line == "ready", f"{name} did not start: {line!r} {writers.stderr(name)[-2000:]}"
    except BaseException:
        writers.kill_all()
        raise
    return writers


def _readline(proc: subprocess.Popen, deadline: float) -> str:
    import selectors

    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
        return "<no answer in time>"
    return proc.stdout.readline().strip()

"""Store benchmarks, each next to raw sqlite3 doing the same work in the same run.

    .venv/bin/python bench/run.py [--quick] [--keep]

Everything happens in a fresh temporary directory. The figures are printed as a
table and written to bench/results/latest.json, and each goal below the table says
"met" or "missed" for this run's figure. Nothing here fails on a time: it only
reports. See bench/README.md for what each row means and where each goal comes from.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import sqlalchemy

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT))

from bench.goals import Goal, print_goals  # noqa: E402
from playbooks import load_policy
from playbooks.statuses import OPEN_STATUSES
from store.audit import verify_chain
from store.database import BUSY_TIMEOUT_S, open_database
from store.operations import IncidentStore
from store.queries import list_incidents

RESULTS = BENCH_DIR / "results" / "latest.json"

FULL = {"declares": 200, "ticks": 200, "list_open_runs": 50, "list_limit_runs": 100, "cli_runs": 5,
        "fixture_incidents": 100_000, "warmup": 3}
QUICK = {"declares": 30, "ticks": 30, "list_open_runs": 10, "list_limit_runs": 20, "cli_runs": 5,
         "fixture_incidents": 100_000, "warmup": 2}

ACTOR = "bench"

# Row key -> (the store's figure compared, its goal); bench/README.md says where each comes from.
GOALS = {
    "declare": ("p95_ms", Goal("declare, p95", "ms", at_most=50)),
    "tick": ("p95_ms", Goal("tick/untick, p95", "ms", at_most=25)),
    "list_open": ("p95_ms", Goal("list open over 100k, p95", "ms", at_most=100)),
    "list_all_limit50": ("p95_ms", Goal("list newest 50 of 100k, p95", "ms", at_most=100)),
    "cli_list": ("median_ms", Goal("`ir list` process over 100k, median", "ms", at_most=1000)),
}
# Row key -> the goal for its median store/sqlite3 ratio (issue 15: the store's writes cost at
# most three times the same rows written by hand).
RATIO_GOALS = {
    "declare": Goal("declare through the store vs raw sqlite3, median", "x", at_most=3.0),
    "tick": Goal("tick through the store vs raw sqlite3, median", "x", at_most=3.0),
}
GENESIS_HASH = "0" * 64

# The list query, written by hand: the same columns, WHERE, ORDER BY and LIMIT that
# store.queries.list_incidents sends.
LIST_COLUMNS = ("id, severity, type, environment, status, title, declared_at, acknowledged_at, "
                "response_due_at, next_update_due_at")
LIST_ORDER = "ORDER BY severity, declared_at DESC, id DESC"
RAW_LIST_OPEN = (f"SELECT {LIST_COLUMNS} FROM incident WHERE status IN ({', '.join('?' * len(OPEN_STATUSES))}) "
                 f"{LIST_ORDER}")
RAW_LIST_ALL_LIMIT = f"SELECT {LIST_COLUMNS} FROM incident {LIST_ORDER} LIMIT ?"


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def sql_ts(moment: datetime | None) -> str | None:
    """A datetime as SQLAlchemy's SQLite DateTime type stores it."""
    return None if moment is None else moment.isoformat(sep=" ", timespec="microseconds")


# -- measuring -----------------------------------------------------------------------

@dataclass
class Samples:
    ms: list[float] = field(default_factory=list)

    def time(self, fn: Callable[[], Any]) -> Any:
        start = time.perf_counter_ns()
        result = fn()
        self.ms.append((time.perf_counter_ns() - start) / 1e6)
        return result

    def summary(self) -> dict[str, Any]:
        return {"n": len(self.ms), "median_ms": statistics.median(self.ms), "p95_ms": percentile(self.ms, 95),
                "min_ms": min(self.ms), "max_ms": max(self.ms), "samples_ms": [round(v, 4) for v in self.ms]}


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (with 5 samples, p95 is the slowest one)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil
    return ordered[int(rank) - 1]


@dataclass
class Row:
    key: str
    label: str
    store: Samples
    raw: Samples
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        store, raw = self.store.summary(), self.raw.summary()
        return {"key": self.key, "label": self.label, "note": self.note, "store": store, "sqlite3": raw,
                "ratio_median": store["median_ms"] / raw["median_ms"],
                "ratio_p95": store["p95_ms"] / raw["p95_ms"]}


def raw_connect(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection with the store's pragmas; transactions by hand."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_S)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def create_schema(path: Path) -> None:
    """The real schema, made by the store's own migrations, so table shapes match."""
    open_database(f"sqlite:///{path}").dispose()


# -- the hand-written writes -----------------------------------------------------------

def canonical_json(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def chain_hash(prev: str, seq: int, incident_id: str, at: datetime, kind: str, summary: str, data: str) -> str:
    fields = [prev, str(seq), incident_id, at.isoformat(timespec="microseconds"), ACTOR, kind, summary, data]
    return hashlib.sha256("".join(f"{len(f)}:{f}" for f in fields).encode("utf-8")).hexdigest()


def raw_append_event(conn: sqlite3.Connection, incident_id: str, at: datetime, kind: str, summary: str,
                     data: dict[str, Any]) -> None:
    seq, prev = conn.execute("SELECT last_seq, last_hash FROM chain_head WHERE id = 1").fetchone()
    seq += 1
    payload = canonical_json(data)
    digest = chain_hash(prev, seq, incident_id, at, kind, summary, payload)
    conn.execute(
        "INSERT INTO timeline_event (seq, incident_id, at, actor, kind, summary, data, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, incident_id, sql_ts(at), ACTOR, kind, summary, payload, prev, digest))
    conn.execute("UPDATE chain_head SET last_seq = ?, last_hash = ? WHERE id = 1", (seq, digest))


class RawDeclare:
    """What IncidentStore.declare writes, by hand: id from the day's sequence, the
    incident row, its 15 checklist steps, the 'declared' event and the chain head."""

    def __init__(self, policy) -> None:
        level = policy.level("critical")
        workflow = policy.workflow("outage")
        t0 = utc_now()
        self.level = level
        self.response_delta = policy.response_deadline(level, t0) - t0
        self.update_delta = policy.next_update_due(level, t0) - t0
        self.steps = [(i, phase.name, text) for i, phase in enumerate(workflow.phases) for text in phase.steps]

    def __call__(self, conn: sqlite3.Connection, title: str) -> str:
        now = utc_now()
        conn.execute("BEGIN IMMEDIATE")
        try:
            day = now.strftime("%Y%m%d")
            row = conn.execute("SELECT last FROM incident_sequence WHERE day = ?", (day,)).fetchone()
            number = (row[0] if row else 0) + 1
            incident_id = f"INC-{now:%Y}-{now:%m%d}-{number:03d}"
            conn.execute("INSERT INTO incident_sequence (day, last) VALUES (?, ?) "
                         "ON CONFLICT (day) DO UPDATE SET last = excluded.last", (day, number))
            response_due = now + self.response_delta
            conn.execute(
                "INSERT INTO incident (id, title, severity, type, environment, service, status, version, "
                "declared_by, is_drill, started_at, detected_at, declared_at, response_due_at, next_update_due_at) "
                "VALUES (?, ?, ?, ?, ?, NULL, 'investigating', 1, ?, 0, NULL, ?, ?, ?, ?)",
                (incident_id, title, self.level.id, "outage", "production", ACTOR, sql_ts(now), sql_ts(now),
                 sql_ts(response_due), sql_ts(now + self.update_delta)))
            conn.executemany(
                "INSERT INTO checklist_step (incident_id, number, phase_index, phase, text) VALUES (?, ?, ?, ?, ?)",
                [(incident_id, n, pi, phase, text) for n, (pi, phase, text) in enumerate(self.steps, 1)])
            raw_append_event(
                conn, incident_id, now, "declared",
                f"Declared {self.level.id} ({self.level.name}) outage in production: {title}",
                {"severity": self.level.id, "type": "outage", "environment": "production", "title": title,
                 "service": None, "response_due_at": response_due.isoformat(timespec="seconds") + "Z",
                 "escalation": self.level.escalation, "escalation_targets": list(self.level.escalation_targets),
                 "drill": False})
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return incident_id


def raw_tick(conn: sqlite3.Connection, incident_id: str, number: int, done: bool) -> None:
    """What IncidentStore.tick writes for one step, by hand."""
    now = utc_now()
    conn.execute("BEGIN IMMEDIATE")
    try:
        (status,) = conn.execute("SELECT status FROM incident WHERE id = ?", (incident_id,)).fetchone()
        if status == "closed":
            raise RuntimeError("closed")
        step_id, phase, text, done_at = conn.execute(
            "SELECT id, phase, text, done_at FROM checklist_step WHERE incident_id = ? AND number = ?",
            (incident_id, number)).fetchone()
        if (done_at is not None) != done:
            conn.execute("UPDATE checklist_step SET done_at = ?, done_by = ? WHERE id = ?",
                         (sql_ts(now), ACTOR, step_id) if done else (None, None, step_id))
            conn.execute("UPDATE incident SET version = version + 1 WHERE id = ?", (incident_id,))
            verb = "Done" if done else "Reopened"
            raw_append_event(conn, incident_id, now, "step_done" if done else "step_undone",
                             f"{verb}: {number}. {text}", {"step": number, "phase": phase, "text": text})
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


# -- 1 and 2: declare and tick -------------------------------------------------------------

def bench_writes(tmp: Path, params: dict[str, int]) -> list[Row]:
    policy = load_policy()
    store_path, raw_path = tmp / "writes-store.db", tmp / "writes-sqlite3.db"
    db = open_database(f"sqlite:///{store_path}")
    store = IncidentStore(db, policy, clock=utc_now)
    create_schema(raw_path)
    conn = raw_connect(raw_path)
    raw_declare = RawDeclare(policy)

    declare_store, declare_raw = Samples(), Samples()
    warmup = params["warmup"]
    # Interleaved, one of each per round, so drift on the machine hits both alike.
    for i in range(warmup + params["declares"]):
        title = f"Checkout API returning 5xx ({i})"
        if i < warmup:
            store.declare("critical", "outage", "production", actor=ACTOR, title=title)
            raw_declare(conn, title)
            continue
        declare_store.time(lambda: store.declare("critical", "outage", "production", actor=ACTOR, title=title))
        declare_raw.time(lambda: raw_declare(conn, title))

    store_incident = store.declare("critical", "outage", "production", actor=ACTOR, title="tick target")
    raw_incident = raw_declare(conn, "tick target")
    tick_store, tick_raw = Samples(), Samples()
    for i in range(warmup + params["ticks"]):
        done = i % 2 == 0  # tick, untick, tick, ...
        if i < warmup:
            store.tick(store_incident.id, ["1"], actor=ACTOR, done=done)
            raw_tick(conn, raw_incident, 1, done)
            continue
        changed = tick_store.time(lambda: store.tick(store_incident.id, ["1"], actor=ACTOR, done=done))
        assert len(changed) == 1
        tick_raw.time(lambda: raw_tick(conn, raw_incident, 1, done))

    # Untimed check that the hand-written baseline did the same work: same row counts,
    # and its hash chain verifies with the store's own auditor.
    counts = "SELECT (SELECT count(*) FROM incident), (SELECT count(*) FROM checklist_step), " \
             "(SELECT count(*) FROM timeline_event)"
    raw_counts = conn.execute(counts).fetchone()
    conn.close()
    store_conn = sqlite3.connect(store_path)
    store_counts = store_conn.execute(counts).fetchone()
    store_conn.close()
    if raw_counts != store_counts:
        raise SystemExit(f"baseline mismatch: store wrote {store_counts}, sqlite3 wrote {raw_counts}")
    db.dispose()
    raw_db = open_database(f"sqlite:///{raw_path}")
    with raw_db.read() as session:
        audit = verify_chain(session)
    raw_db.dispose()
    if not audit.ok:
        raise SystemExit(f"the sqlite3 baseline's chain does not verify: {audit.problem}")

    return [
        Row("declare", "declare (1 incident, 15 steps, 1 event)", declare_store, declare_raw,
            "IncidentStore.declare vs one BEGIN IMMEDIATE transaction by hand"),
        Row("tick", "tick/untick one step", tick_store, tick_raw,
            "IncidentStore.tick vs one BEGIN IMMEDIATE transaction by hand"),
    ]


# -- 3: list over 100k incidents ---------------------------------------------------------------

SEVERITIES = (("SEV-1", 0.04), ("SEV-2", 0.16), ("SEV-3", 0.45), ("SEV-4", 0.35))
TYPES = (("outage", 0.35), ("performance", 0.30), ("integration", 0.15), ("data", 0.12), ("security", 0.08))
ENVIRONMENTS = (("production", 0.70), ("staging", 0.25), ("development", 0.05))
RESPONSE_MINUTES = {"SEV-1": 15, "SEV-2": 60, "SEV-3": 240, "SEV-4": 1440}
UPDATE_MINUTES = {"SEV-1": 30, "SEV-2": 60, "SEV-3": 240, "SEV-4": 1440}
SERVICES = ("checkout", "payments", "search", "auth", "catalog", "notifications", "billing", "api-gateway",
            "inventory", "reporting")
TITLES = {
    "outage": ("{svc} returning 5xx", "{svc} unreachable", "{svc} down in one region"),
    "performance": ("{svc} p99 latency over SLO", "{svc} slow for EU customers", "{svc} queue backlog growing"),
    "integration": ("{svc} webhook deliveries failing", "{svc} partner API timeouts", "{svc} sync job failing"),
    "data": ("{svc} duplicate records", "{svc} replication lag", "{svc} stale cache served"),
    "security": ("{svc} suspicious logins", "{svc} leaked token rotated", "{svc} WAF blocking spike"),
}
OPEN_SHARE = 0.02


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def fixture_rows(count: int, now: datetime, seed: int = 727) -> list[tuple]:
    """`count` incidents over the last three years; ~2% still open, the rest resolved or closed."""
    rng = random.Random(seed)
    span = timedelta(days=3 * 365).total_seconds()
    declared = sorted(now - timedelta(seconds=rng.uniform(0, span)) for _ in range(count))
    rows, day, number = [], None, 0
    for at in declared:
        key = at.strftime("%Y%m%d")
        number = number + 1 if key == day else 1
        day = key
        severity, kind, env = _pick(rng, SEVERITIES), _pick(rng, TYPES), _pick(rng, ENVIRONMENTS)
        svc = rng.choice(SERVICES)
        title = rng.choice(TITLES[kind]).format(svc=svc)
        detected = at - timedelta(seconds=rng.uniform(0, 600))
        started = detected - timedelta(seconds=rng.uniform(0, 1800)) if rng.random() < 0.7 else None
        response_due = detected + timedelta(minutes=RESPONSE_MINUTES[severity])
        roll = rng.random()
        status = rng.choice(OPEN_STATUSES) if roll < OPEN_SHARE else ("resolved" if roll < 0.10 else "closed")
        acknowledged = at + timedelta(seconds=rng.uniform(30, 1800)) if (status != "investigating" or rng.random() < 0.5) else None
        mitigated = resolved = closed = next_update = None
        if status == "monitoring" or status in ("resolved", "closed"):
            mitigated = (acknowledged or at) + timedelta(seconds=rng.uniform(300, 4 * 3600))
        if status in ("resolved", "closed"):
            resolved = mitigated + timedelta(seconds=rng.uniform(300, 6 * 3600))
        if status == "closed":
            closed = resolved + timedelta(days=rng.uniform(1, 10))
        if status in OPEN_STATUSES:
            next_update = at + timedelta(minutes=UPDATE_MINUTES[severity])
        rows.append((
            f"INC-{at:%Y}-{at:%m%d}-{number:03d}", title, severity, kind, env, svc, status, rng.randint(3, 40),
            rng.choice(("alice", "bob", "carol", "dan", "erin", "oncall-bot")), 1 if rng.random() < 0.03 else 0,
            sql_ts(started), sql_ts(detected), sql_ts(at), sql_ts(acknowledged), sql_ts(mitigated),
            sql_ts(resolved), sql_ts(closed), sql_ts(response_due), sql_ts(next_update),
        ))
    return rows


def load_fixture(path: Path, count: int) -> dict[str, Any]:
    create_schema(path)
    start = time.perf_counter()
    rows = fixture_rows(count, utc_now())
    generated = time.perf_counter()
    conn = raw_connect(path)
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO incident (id, title, severity, type, environment, service, status, version, declared_by, "
        "is_drill, started_at, detected_at, declared_at, acknowledged_at, mitigated_at, resolved_at, closed_at, "
        "response_due_at, next_update_due_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows)
    last_per_day: dict[str, int] = {}
    for row in rows:
        _, year, mmdd, number = row[0].split("-")
        last_per_day[year + mmdd] = int(number)
    conn.executemany("INSERT INTO incident_sequence (day, last) VALUES (?, ?)", last_per_day.items())
    # What the store keeps with every write (store/models.py keep_durations), by hand.
    conn.execute(
        "UPDATE incident SET detection_s = ROUND((julianday(detected_at) - julianday(started_at)) * 86400.0, 3), "
        "response_s = ROUND((julianday(acknowledged_at) - julianday(detected_at)) * 86400.0, 3), "
        "resolution_s = ROUND((julianday(resolved_at) - julianday(detected_at)) * 86400.0, 3)")
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    open_count = conn.execute(f"SELECT count(*) FROM incident WHERE status IN ({', '.join('?' * len(OPEN_STATUSES))})",
                              OPEN_STATUSES).fetchone()[0]
    conn.close()
    loaded = time.perf_counter()
    return {"incidents": count, "open": open_count, "generate_s": generated - start, "insert_s": loaded - generated,
            "file_mb": path.stat().st_size / 1e6}


def raw_select(conn: sqlite3.Connection, sql: str, params: tuple) -> list:
    conn.execute("BEGIN")
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.execute("COMMIT")


# The CLI row's baseline: a fresh interpreter that connects with the same pragmas, runs
# the same query and prints one line per row.
CLI_BASELINE = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
conn.execute("PRAGMA busy_timeout = 60000")
conn.execute("PRAGMA journal_mode = WAL")
conn.execute("PRAGMA synchronous = FULL")
conn.execute("PRAGMA foreign_keys = ON")
rows = conn.execute(sys.argv[2], sys.argv[3:]).fetchall()
out = [f"{'ID':<18} {'SEV':<5} {'TYPE':<11} {'ENV':<11} {'STATUS':<13} TITLE"]
for r in rows:
    out.append(f"{r[0]:<18} {r[1]:<5} {r[2]:<11} {r[3]:<11} {r[4]:<13} {r[5]}")
print("\\n".join(out))
"""


def _ir_executable() -> str:
    candidate = Path(sys.executable).parent / "ir"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("ir")
    if not found:
        raise SystemExit("the `ir` command was not found next to this Python; run with .venv/bin/python")
    return found


def bench_list(tmp: Path, params: dict[str, int]) -> tuple[list[Row], dict[str, Any]]:
    path = tmp / "list-100k.db"
    fixture = load_fixture(path, params["fixture_incidents"])
    db = open_database(f"sqlite:///{path}")
    conn = raw_connect(path)

    def store_open():
        with db.read() as session:
            return list_incidents(session, status="open")

    def store_limit():
        with db.read() as session:
            return list_incidents(session, status="all", limit=50)

    def raw_open():
        return raw_select(conn, RAW_LIST_OPEN, OPEN_STATUSES)

    def raw_limit():
        return raw_select(conn, RAW_LIST_ALL_LIMIT, (50,))

    # Untimed: both sides return the same rows in the same order.
    for store_fn, raw_fn in ((store_open, raw_open), (store_limit, raw_limit)):
        store_ids, raw_ids = [r.id for r in store_fn()], [r[0] for r in raw_fn()]
        if store_ids != raw_ids:
            raise SystemExit(f"baseline mismatch: list_incidents returned {len(store_ids)} rows, sqlite3 {len(raw_ids)}")

    rows = []
    for key, label, store_fn, raw_fn, runs in (
        ("list_open", f"list_incidents(status=open) [{fixture['open']} rows]", store_open, raw_open,
         params["list_open_runs"]),
        ("list_all_limit50", "list_incidents(status=all, limit=50)", store_limit, raw_limit,
         params["list_limit_runs"]),
    ):
        store_s, raw_s = Samples(), Samples()
        for i in range(1 + runs):  # one warm-up round
            if i == 0:
                store_fn(), raw_fn()
                continue
            store_s.time(store_fn)
            raw_s.time(raw_fn)
        rows.append(Row(key, label, store_s, raw_s, "one read transaction, fetch all rows, in-process"))
    conn.close()
    db.dispose()

    # The CLI, a whole process each time, against a python -c doing the same query.
    env = {k: v for k, v in os.environ.items() if k != "IR_DATABASE_URL"}
    xdg = tmp / "xdg"
    env.update(XDG_CONFIG_HOME=str(xdg / "config"), XDG_DATA_HOME=str(xdg / "data"),
               XDG_STATE_HOME=str(xdg / "state"), USER=ACTOR)
    store_cmd = [_ir_executable(), "--db", f"sqlite:///{path}", "list"]
    raw_cmd = [sys.executable, "-c", CLI_BASELINE, str(path), RAW_LIST_OPEN, *OPEN_STATUSES]

    def run(cmd: list[str]) -> str:
        done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{cmd[0]} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    store_lines, raw_lines = run(store_cmd).count("\n"), run(raw_cmd).count("\n")  # warm-up, and a check
    if store_lines != raw_lines:
        raise SystemExit(f"baseline mismatch: `ir list` printed {store_lines} lines, the python -c {raw_lines}")
    cli_store, cli_raw = Samples(), Samples()
    for _ in range(params["cli_runs"]):
        cli_store.time(lambda: run(store_cmd))
        cli_raw.time(lambda: run(raw_cmd))
    rows.append(Row("cli_list", f"`ir --db ... list` process [{fixture['open']} rows]", cli_store, cli_raw,
                    "whole process wall time vs `python -c` with raw sqlite3 (start-up in both)"))
    return rows, fixture


# -- report ---------------------------------------------------------------------------------

def filesystem_of(path: Path) -> str:
    """The mount's filesystem type (tmpfs would hide the cost of fsync)."""
    best, fs = "", "?"
    try:
        real = os.path.realpath(path)
        with open("/proc/mounts") as mounts:
            for line in mounts:
                parts = line.split()
                mount, kind = parts[1], parts[2]
                if (real == mount or real.startswith(mount.rstrip("/") + "/")) and len(mount) > len(best):
                    best, fs = mount, kind
    except OSError:
        pass
    return fs


def machine_info(tmp: Path) -> dict[str, Any]:
    return {"cpu_count": os.cpu_count(), "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "sqlalchemy": sqlalchemy.__version__, "platform": platform.platform(),
            "tmp_dir_fs": filesystem_of(tmp)}


def table(rows: list[Row]) -> str:
    head = ("benchmark", "n", "store med", "store p95", "sqlite3 med", "sqlite3 p95", "ratio med", "ratio p95")
    body = []
    for row in rows:
        j = row.as_json()
        s, r = j["store"], j["sqlite3"]
        body.append((row.label, str(s["n"]), f"{s['median_ms']:.2f}", f"{s['p95_ms']:.2f}", f"{r['median_ms']:.2f}",
                     f"{r['p95_ms']:.2f}", f"{j['ratio_median']:.1f}x", f"{j['ratio_p95']:.1f}x"))
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]
    fmt = lambda line: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths)))
    rule = "-" * len(fmt(head))
    return "\n".join([fmt(head), rule, *map(fmt, body)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (under a minute)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory and print where it is")
    args = parser.parse_args(argv)
    params = QUICK if args.quick else FULL
    began = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="ir-bench-"))
    try:
        info = machine_info(tmp)
        print(f"machine: {info['cpu_count']} cpus, Python {info['python']}, SQLite {info['sqlite']}, "
              f"SQLAlchemy {info['sqlalchemy']}, temp dir on {info['tmp_dir_fs']} ({info['platform']})")
        print(f"mode: {'quick' if args.quick else 'full'}; times in ms; ratio = store / sqlite3", flush=True)
        rows = bench_writes(tmp, params)
        list_rows, fixture = bench_list(tmp, params)
        rows += list_rows
        elapsed = time.perf_counter() - began
        print(f"fixture: {fixture['incidents']} incidents ({fixture['open']} open) generated in "
              f"{fixture['generate_s']:.1f}s, inserted in {fixture['insert_s']:.1f}s, {fixture['file_mb']:.0f} MB")
        print()
        print(table(rows))
        print()
        verdicts = []
        for row in rows:
            figure, goal = GOALS[row.key]
            verdicts.append(goal.check(row.store.summary()[figure]))
            if row.key in RATIO_GOALS:
                verdicts.append(RATIO_GOALS[row.key].check(row.as_json()["ratio_median"]))
        print_goals(verdicts)
        print(f"total {elapsed:.0f}s; results in {RESULTS.relative_to(ROOT)}")
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps({
            "when": utc_now().isoformat(timespec="seconds") + "Z", "mode": "quick" if args.quick else "full",
            "machine": info, "params": params, "fixture": fixture, "elapsed_s": elapsed,
            "results": [row.as_json() for row in rows], "goals": [v.as_json() for v in verdicts],
        }, indent=2) + "\n")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

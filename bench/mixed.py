"""Mixed-operation throughput (`make bench`): declare, tick and note in a fixed mix, per
second, with 8 writer processes on one store next to a single writer, in the same run, on
SQLite and on PostgreSQL. Nothing fails on a time: each goal is printed with "met" or
"missed" for this run's figures (bench/README.md says where the goals come from).

Each writer is a long-lived process with its own IncidentStore (as the command center or
`watch` holds one) repeating the mix: of every 10 operations, 1 declare, 4 ticks (a step
of one of its own incidents, ticked or unticked, so each records an event) and 5 notes.
All writers of a row start together and run for the same time; throughput is completed
operations (each one committed transaction with one timeline event) per second over that
time, summed over the writers. Every row gets a fresh database; afterwards the run checks
the event count equals the operations reported and that the audit chain verifies.

On SQLite writes to one store are serialised whole (its write lock), so 8 writers share one
writer's worth of commits. On PostgreSQL the mix's operations are per-incident writes
(store/write_locks.py): each locks its own incident and holds the chain head only for its
append and commit, so issue 16 asks 8 writers at 1.5x one writer's throughput or more.
PostgreSQL also gets a row with as many writers as the machine has cores. Every row prints
the machine's busy share over its window and the writers' own CPU per operation: 8 writers
on fewer cores can be held by the CPU rather than by a lock, and these say which.
Each PostgreSQL row also samples
pg_stat_activity while the writers run and prints what their server backends were doing:
waiting on a lock (and on which statement most), or waiting for their client, so a run
says whether the writers were held by a lock or by the CPU.
The PostgreSQL rows need a server: one is started with the test suite's helper
(tests/support/postgres.py); without the binaries they are skipped with the reason.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.goals import Goal, Verdict, condition, print_goals  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "mixed.json"
MIX = ("declare", "tick", "note", "tick", "note", "tick", "note", "tick", "note", "note")
WRITERS = (1, 8)
# PostgreSQL also runs as many writers as the machine has cores: the parallelism the store
# allows, apart from what 8 processes (and their 8 server backends) cost on fewer cores.
PER_CORE = os.cpu_count() or 1
# Per backend, for the 8-writer row (bench/README.md says where each comes from).
SHARE_OF_ONE_WRITER = Goal("8 writers' ops/s vs 1 writer's", "x", at_least=0.5)
P99_UNDER_CONTENTION = Goal("8 writers' operation latency, p99", "ms", at_most=1000)
# PostgreSQL only (issue 16, acceptance 7): each writer works on its own incidents, so
# nothing but the machine should keep them from committing side by side.
PARALLEL_ON_POSTGRES = Goal("8 writers' ops/s vs 1 writer's, incidents in parallel", "x", at_least=1.5)
LOCK_WAITS = """SELECT wait_event_type, state, query FROM pg_stat_activity
                WHERE datname = current_database() AND backend_type = 'client backend'
                AND pid <> pg_backend_pid()"""


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, int(round(pct / 100 * len(ordered) + 0.5)) - 1))]


# -- one writer process ---------------------------------------------------------------------

def worker(url: str, go_file: str, seconds: float, name: str) -> int:
    from playbooks import load_policy
    from store.database import open_database
    from store.operations import IncidentStore

    store = IncidentStore(open_database(url), load_policy())
    own = [store.declare("high", "outage", "production", actor=name, title=f"{name} warm-up").id]
    store.add_note(own[0], "warm-up", actor=name)  # connections open, code paths warm
    print("ready", flush=True)
    while not os.path.exists(go_file) or not Path(go_file).read_text().strip():
        time.sleep(0.001)
    start = float(Path(go_file).read_text())
    while time.time() < start:
        time.sleep(0.0005)
    end = start + seconds
    cpu_at_start = time.process_time()
    latencies: dict[str, list[float]] = {"declare": [], "tick": [], "note": []}
    done = {name: 0 for name in latencies}
    n = 0
    ticked: dict[tuple[str, int], bool] = {}
    while True:
        op = MIX[n % len(MIX)]
        began = time.perf_counter()
        if op == "declare":
            own.append(store.declare("high", "outage", "production", actor=name, title=f"{name} {n}").id)
        elif op == "tick":
            key = (own[-1 - (n // 10) % len(own)], 1 + (n // 3) % 15)
            ticked[key] = not ticked.get(key, False)
            changed = store.tick(key[0], [str(key[1])], actor=name, done=ticked[key])
            assert changed, key
        else:
            store.add_note(own[-1], f"{name} note {n}", actor=name)
        finished = time.perf_counter()
        if time.time() > end:
            break  # finished after the window closed: not counted (its event is, below)
        latencies[op].append((finished - began) * 1000)
        done[op] += 1
        n += 1
    cpu_s = time.process_time() - cpu_at_start
    store.db.dispose()
    print(json.dumps({"done": done, "latencies": latencies, "cpu_s": cpu_s}), flush=True)
    return 0


# -- one row: N writers on a fresh database -----------------------------------------------------

def machine_busy_s() -> tuple[float, float] | None:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat (Linux), or None."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(x) for x in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    per_s = os.sysconf("SC_CLK_TCK")
    return (sum(ticks) - ticks[3] - ticks[4]) / per_s, sum(ticks) / per_s  # idle and iowait are not busy


class BackendSampler:
    """What the writers' PostgreSQL backends do, sampled every 10 ms on a connection of its
    own: 'lock' (waiting on a row or transaction lock), 'client' (idle in a transaction,
    waiting for its writer process), 'busy' (working). The statement most often waited on
    a lock is kept, to name what serialises the writers."""

    def __init__(self, url: str) -> None:
        import threading

        from sqlalchemy import create_engine

        from store.database import normalise_url

        self.engine = create_engine(normalise_url(url))
        self.counts = {"lock": 0, "client": 0, "busy": 0}
        self.locked_on: dict[str, int] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            while not self.done.wait(0.01):
                for wait_type, state, query in conn.execute(text(LOCK_WAITS)):
                    if wait_type == "Lock":
                        self.counts["lock"] += 1
                        statement = " ".join((query or "").split())[:80]
                        self.locked_on[statement] = self.locked_on.get(statement, 0) + 1
                    elif state == "idle in transaction":
                        self.counts["client"] += 1
                    elif state == "active":
                        self.counts["busy"] += 1
                conn.commit()  # pg_stat_activity is a snapshot per transaction

    def __enter__(self) -> "BackendSampler":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join(10)
        self.engine.dispose()

    def summary(self) -> dict:
        total = sum(self.counts.values())
        share = {name: (count / total if total else 0.0) for name, count in self.counts.items()}
        most = max(self.locked_on, key=self.locked_on.get) if self.locked_on else None
        return {"samples": total, "share": share, "most_waited_statement": most}


def run_row(url: str, writers: int, seconds: float, tmp: Path) -> dict:
    from contextlib import nullcontext

    from store.database import open_database

    open_database(url).dispose()  # schema in place before the writers start
    sampler = BackendSampler(url) if url.startswith("postgresql") else None
    go_file = tmp / f"go-{writers}-{time.monotonic_ns()}"
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", url, str(go_file), str(seconds), f"w{i}"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(writers)]
    try:
        for proc in procs:
            line = proc.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"a writer did not start: {line!r} {proc.stderr.read()[-2000:]}")
        start = time.time() + 0.3
        go_file.write_text(str(start))
        reports = []
        with sampler if sampler is not None else nullcontext():
            # The machine's CPU over the window: all of it busy means the row was held by the
            # CPU (writers, servers and this process together), not by a lock.
            time.sleep(max(0.0, start - time.time()))
            busy_before = machine_busy_s()
            time.sleep(seconds)
            busy_after = machine_busy_s()
            for proc in procs:
                out, err = proc.communicate(timeout=seconds + 120)
                if proc.returncode != 0:
                    raise RuntimeError(f"a writer failed: {err[-2000:]}")
                reports.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    done = {op: sum(r["done"][op] for r in reports) for op in ("declare", "tick", "note")}
    latencies = [v for r in reports for values in r["latencies"].values() for v in values]
    total = sum(done.values())
    events, audit_ok = _check(url)
    machine = None
    if busy_before and busy_after and busy_after[1] > busy_before[1]:
        machine = (busy_after[0] - busy_before[0]) / (busy_after[1] - busy_before[1])
    # Each writer's warm-up wrote 2 events, and its last operation (past the window) 1 more.
    expected_events = total + 3 * writers
    return {"writers": writers, "seconds": seconds, "operations": total, "by_operation": done,
            "ops_per_s": total / seconds, "per_writer_ops_per_s": total / seconds / writers,
            "latency_ms": {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99)},
            "events": events, "events_expected": expected_events, "audit_ok": audit_ok,
            # Each writer's own CPU in the window, per completed operation; the machine's busy share.
            "writer_cpu_ms_per_op": sum(r["cpu_s"] for r in reports) * 1000 / total if total else None,
            "machine_busy": machine,
            **({"backends": sampler.summary()} if sampler is not None else {})}


def _check(url: str) -> tuple[int, bool]:
    from sqlalchemy import func, select

    from store.audit import verify_chain
    from store.database import open_database
    from store.models import TimelineEvent

    db = open_database(url)
    try:
        with db.read() as session:
            return session.execute(select(func.count()).select_from(TimelineEvent)).scalar(), verify_chain(session).ok
    finally:
        db.dispose()


# -- the run ------------------------------------------------------------------------------------

def table(rows: list[dict]) -> str:
    head = ("backend", "writers", "ops", "ops/s", "per writer", "p50 ms", "p99 ms", "vs 1 writer", "audit")
    body = []
    single = {}
    for row in rows:
        if row.get("skipped"):
            body.append((row["backend"], "-", "-", "-", "-", "-", "-", "-", f"skipped: {row['skipped']}"))
            continue
        if row["writers"] == 1:
            single[row["backend"]] = row["ops_per_s"]
        base = single.get(row["backend"])
        body.append((row["backend"], str(row["writers"]), str(row["operations"]), f"{row['ops_per_s']:.1f}",
                     f"{row['per_writer_ops_per_s']:.1f}", f"{row['latency_ms']['p50']:.2f}",
                     f"{row['latency_ms']['p99']:.2f}", f"{row['ops_per_s'] / base:.2f}x" if base else "-",
                     "ok" if row["audit_ok"] and row["events"] == row["events_expected"] else "MISMATCH"))
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]
    fmt = lambda line: "  ".join(c.ljust(w) if i in (0, 8) else c.rjust(w)
                                 for i, (c, w) in enumerate(zip(line, widths)))
    waits = []
    for row in rows:
        if row.get("machine_busy") is not None:
            waits.append(f"{row['backend']} {row['writers']} writer(s): machine CPU {row['machine_busy']:.0%} busy, "
                         f"writers' own CPU {row['writer_cpu_ms_per_op']:.2f} ms per operation")
        backends = row.get("backends")
        if backends and backends["samples"]:
            share = backends["share"]
            most = f"; most waited on: {backends['most_waited_statement']}" if backends["most_waited_statement"] else ""
            waits.append(f"{row['backend']} {row['writers']} writer(s), server backends: {share['lock']:.0%} waiting "
                         f"on a lock, {share['client']:.0%} waiting for their writer, {share['busy']:.0%} working{most}")
    return "\n".join([fmt(head), "-" * len(fmt(head)), *map(fmt, body), *([""] + waits if waits else [])])


def goal_verdicts(rows: list[dict]) -> list[Verdict]:
    """Each backend's goals from its rows of this run; a skipped backend misses them (not measured)."""
    verdicts = []
    for backend in ("sqlite", "postgres"):
        mine = [row for row in rows if row["backend"] == backend]
        skipped = next((row["skipped"] for row in mine if row.get("skipped")), None)
        by_writers = {row["writers"]: row for row in mine if not row.get("skipped")}
        one, eight = by_writers.get(1), by_writers.get(8)
        why = f"skipped: {skipped}" if skipped else "not run"
        share = eight["ops_per_s"] / one["ops_per_s"] if one and eight and one["ops_per_s"] else None
        p99 = eight["latency_ms"]["p99"] if eight else None
        goals = ((SHARE_OF_ONE_WRITER, share), (P99_UNDER_CONTENTION, p99))
        if backend == "postgres":
            goals += ((PARALLEL_ON_POSTGRES, share),)
        for goal, figure in goals:
            verdicts.append(replace(goal, name=f"{backend}: {goal.name}").check(figure, why_missing=why))
        audited = [row["audit_ok"] and row["events"] == row["events_expected"] for row in by_writers.values()]
        verdicts.append(condition(f"{backend}: audit", "every reported event stored once and the chain verifies",
                                  all(audited) if audited else None,
                                  f"{sum(audited)} of {len(audited)} rows ok" if audited else f"nothing ({why})"))
    return verdicts


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        return worker(argv[1], argv[2], float(argv[3]), argv[4])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 s per row instead of 10")
    parser.add_argument("--seconds", type=float, help="seconds per row (overrides --quick)")
    args = parser.parse_args(argv)
    seconds = args.seconds or (2.0 if args.quick else 10.0)
    import sqlalchemy

    from bench.run import filesystem_of

    tmp = Path(tempfile.mkdtemp(prefix="ir-mixed-"))
    began = time.perf_counter()
    rows: list[dict] = []
    server = None
    try:
        print(f"machine: {os.cpu_count()} cpus, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
              f"SQLAlchemy {sqlalchemy.__version__}, temp dir on {filesystem_of(tmp)} ({platform.platform()})")
        print(f"mix per 10 operations: 1 declare, 4 tick, 5 note; {seconds:g} s per row; fresh database per row",
              flush=True)
        for writers in WRITERS:
            rows.append({"backend": "sqlite", **run_row(f"sqlite:///{tmp / f'mixed-{writers}.db'}", writers, seconds,
                                                         tmp)})
        from tests.support.postgres import PostgresUnavailable, start_postgres

        try:
            server = start_postgres()
        except PostgresUnavailable as exc:
            rows.append({"backend": "postgres", "skipped": str(exc)})
        if server is not None:
            for writers in sorted({*WRITERS, PER_CORE}):
                url = server.url(server.create_database())
                rows.append({"backend": "postgres", **run_row(url, writers, seconds, tmp)})
        print()
        print(table(rows))
        print()
        verdicts = goal_verdicts(rows)
        print_goals(verdicts)
        elapsed = time.perf_counter() - began
        print(f"total {elapsed:.0f}s; results in {RESULTS.relative_to(ROOT)}")
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps({"mode": "quick" if args.quick else "full", "seconds_per_row": seconds,
                                       "mix": MIX, "cpu_count": os.cpu_count(), "rows": rows,
                                       "goals": [v.as_json() for v in verdicts], "elapsed_s": elapsed},
                                      indent=2) + "\n")
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

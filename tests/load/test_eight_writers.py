"""Eight writers on one store for a minute (issue 7, acceptance 1): five engineers at the
shell and three in the command center, on one SQLite file and again on PostgreSQL.

Writers (tests/load/writer.py): 5 command-line writers (`tui.cli.main` in-process, a
command every 0.25-0.75 s: declare, tick, untick, note, ack, status, assign, show; every
twentieth command is the real `incident-response` program instead, a note or a
declaration) and 3 headless command centers (the real app at 80x24 under Pilot, live
updates on: j/enter into a war room, 4-10 actions there (space ticks, n + text + enter,
a), esc, now and then d + title + ctrl+s; keys at a fast typist's pace, a key every
100 ms, and 0.3-0.8 s between actions). Together about 300 acknowledged events a minute
(eight people making a change a minute each would make 8). Each writer logs every write it was acknowledged
(after the commit returned) with the events' seq, and when it first saw each higher
timeline position.

Afterwards, all bounded (hard time limit on every process, killed at the end):
- nothing lost: every acknowledged event is in the store as acknowledged; every real-CLI
  note and declaration that exited 0 is there once;
- nothing twice: no seq acknowledged by two writes, no note stored twice, no event in
  the store that nobody acknowledged;
- `incident-response audit verify` passes, and SQLite's `PRAGMA integrity_check`;
- no "database is locked", traceback or internal error reached a user (stderr of every
  command, every process, every command-center notification); a command either
  succeeded or was refused in one sentence (exit 2: an incident already acknowledged, a
  status move someone else already made, a role someone else holds; a step already
  ticked is "No change", exit 0);
- each process saw the others' changes within 1 s: for every acknowledged event and
  every other process, the time from its commit to that process first seeing a timeline
  position at or past it (events committed after the window closed are left out: the
  others stop looking 3 s later). Asserted: none never seen; over all (event, process)
  pairs the 99th percentile <= 1 s; for each process on its own the 95th percentile
  <= 1 s. Printed, not asserted: each process's 99th percentile and maximum, and the
  command centers' together (their only way to see is their live-update path:
  watchfiles on SQLite, LISTEN/NOTIFY on PostgreSQL). Why not more: a command center
  that is pushing a screen (the war room, the note prompt, the declare form) holds its
  event loop for about 0.3 s on an idle 2-CPU machine and 1-2.5 s when the CPUs are
  saturated (other test processes), and a change that arrives meanwhile is shown when it
  is done; measured on such a machine the command centers' 99th percentile was 0.7-1.6 s
  and their maximum up to 3.4 s, while the command line's stayed under 0.2 s. The
  command-line writers "see" by reading the chain position every 100 ms on their own
  connection (reads never wait for writers).

IR_LOAD_SECONDS shortens the minute for local runs (the acceptance is 60 s).
"""
from __future__ import annotations

import os
import re
from collections import Counter

import pytest

from tests.load.harness import (
    check_store, committed_events, database_events, forbidden_in, read_logs, start_writers, visibility_lags,
)

pytestmark = pytest.mark.slow

SECONDS = float(os.environ.get("IR_LOAD_SECONDS", "60"))
DRAIN_S = 3.0  # after the window the writers go on looking this long
SUBPROCESS_EVERY = 20  # of a shell writer's commands, a note or declaration this often runs as a real process
WRITERS = [("cli", f"cli{n}") for n in range(1, 6)] + [("tui", f"tui{n}") for n in range(1, 4)]
LAG_BOUND_S = 1.0



def test_eight_writers_for_a_minute_lose_nothing_and_see_each_other_within_a_second(db_url, tmp_path_factory,
                                                                                    policy):
    from store.database import open_database
    from store.operations import IncidentStore

    seed = IncidentStore(open_database(db_url), policy)
    for n in range(3):
        seed.declare("high", "outage", "production", actor="seed", title=f"seed {n}")
    seed.db.dispose()
    baseline_seq = max(database_events(db_url))

    writers = start_writers(db_url, tmp_path_factory.mktemp("writers"), WRITERS, SECONDS, drain=DRAIN_S,
                            subprocess_every=SUBPROCESS_EVERY)
    try:
        start = writers.go(SECONDS)
        statuses = writers.wait(SECONDS + DRAIN_S + 90)
    finally:
        writers.kill_all()
    logs = read_logs(writers.log_dir)
    stderr = {name: writers.stderr(name) for name in writers.procs}
    assert statuses == {name: 0 for name in writers.procs}, (statuses, {n: e[-3000:] for n, e in stderr.items() if e})
    for name in writers.procs:
        assert any(r["kind"] == "done" for r in logs[name]), f"{name} did not finish its run"
        assert not forbidden_in(stderr[name]), (name, stderr[name][-3000:])

    # What users were told.
    calls = [r for records in logs.values() for r in records if r["kind"] in ("call", "subprocess")]
    refusals = Counter()
    for call in calls:
        assert not forbidden_in(call["err"]), call
        assert call["status"] in (0, 2), call
        if call["status"] == 2:
            message = call["err"].strip()
            assert "\n" not in message and message.startswith("incident-response: "), call
            refusals[_refusal_kind(message)] += 1
    notices = [r for records in logs.values() for r in records if r["kind"] == "notice"]
    for notice in notices:
        assert notice["severity"] != "error" and not forbidden_in(notice["message"]), notice

    # Nothing lost, nothing twice.
    acknowledged = committed_events(logs)
    subprocess_acks = _real_cli_acknowledgements(calls)
    stored = check_store(db_url, acknowledged, baseline_seq=baseline_seq,
                         unlogged_ok=lambda seq, row: row[2].endswith("-sub"))
    by_sub = Counter(row for seq, row in stored.items() if seq > baseline_seq and row[2].endswith("-sub"))
    for expected in subprocess_acks:
        assert _matches(expected, stored) == 1, f"real CLI write acknowledged but not stored once: {expected}"
    assert sum(by_sub.values()) == len(subprocess_acks), (by_sub, subprocess_acks)
    notes = Counter(row[3] for row in stored.values() if row[1] == "note")
    assert [text for text, count in notes.items() if count > 1] == []

    # Each saw the others within a second.
    end = start + SECONDS
    lags = visibility_lags(acknowledged, logs, writers.procs, until=end)
    tui_lags = visibility_lags(acknowledged, logs, [n for m, n in WRITERS if m == "tui"], until=end)
    cli_lags = visibility_lags(acknowledged, logs, [n for m, n in WRITERS if m == "cli"], until=end)
    by_writer = Counter(e.writer for e in acknowledged)
    backend = "sqlite" if db_url.startswith("sqlite") else "postgres"
    print(f"\n[{backend}] {SECONDS:.0f} s, 8 writers: {len(acknowledged)} acknowledged events "
          f"({dict(sorted(by_writer.items()))}), {len(subprocess_acks)} by the real CLI, "
          f"{len(calls)} commands, refusals {dict(refusals)}, {len(notices)} notices")
    print(f"[{backend}] seen by others: {lags.describe()}")
    print(f"[{backend}]   by command centers (live updates): {tui_lags.describe()}")
    print(f"[{backend}]   by shell writers (100 ms reads):   {cli_lags.describe()}")
    per_process = {name: visibility_lags(acknowledged, logs, [name], until=end) for name in writers.procs}
    for name, own in per_process.items():
        print(f"[{backend}]     {name}: {own.describe()}")
    assert len(acknowledged) > 100 * SECONDS / 60, "the writers barely wrote: not a load test"
    assert all(by_writer[name] > 0 for name in writers.procs), by_writer
    assert lags.never_seen == [], lags.never_seen[:10]
    assert lags.percentile(99) <= LAG_BOUND_S, lags.describe()
    slow = {name: own.describe() for name, own in per_process.items() if own.percentile(95) > LAG_BOUND_S}
    assert not slow, slow


def _refusal_kind(message: str) -> str:
    text = message.removeprefix("incident-response: ")
    return re.sub(r"INC-\S+|\d+", "#", text)[:60]


def _real_cli_acknowledgements(calls: list[dict]) -> list[tuple[str, str, str]]:
    """(kind, actor, what) for each real-CLI note or declaration that exited 0."""
    acks = []
    for call in calls:
        if call["kind"] != "subprocess" or call["status"] != 0:
            continue
        actor = call["argv"][call["argv"].index("--as") + 1]
        if call["op"] == "note":
            acks.append(("note", actor, call["argv"][-1]))
        else:
            acks.append(("declared", actor, call["out"].strip()))
    return acks


def _matches(expected: tuple[str, str, str], stored: dict[int, tuple]) -> int:
    kind, actor, what = expected
    if kind == "note":
        return sum(1 for row in stored.values() if row[1:] == ("note", actor, what))
    return sum(1 for row in stored.values() if row[0] == what and row[1] == "declared" and row[2] == actor)

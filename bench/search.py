"""Search benchmark (`make bench`, issue 14): "this happened before" over 100,000 stored
incidents — `store.search.search_incidents` (what `incident-response search` and the command
center run: words made safe, ranked per incident, best snippet) and `similar_incidents` (the
war room's `h`), each next to a raw FTS5 query on a plain sqlite3 connection in the same run
(the index's own ranked MATCH, LIMIT 20, no per-incident grouping), against the frame budget.

    .venv/bin/python bench/search.py [--quick] [--keep]

The fixture is bench/run.py's (three years of incidents, bulk-loaded with executemany), plus
one status update and one root cause analysis per incident drawn from a vocabulary of causes,
so a query matches from a few hundred to several thousand incidents. The index is filled by
schema 8's triggers as the rows go in. Nothing fails on a time: each goal says "met" or
"missed" for this run's median (bench/README.md).
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.goals import Goal, condition, print_goals  # noqa: E402
from bench.run import Row, Samples, load_fixture, machine_info, raw_connect, table, utc_now  # noqa: E402
from store.database import open_database  # noqa: E402
from store.search import search_incidents, similar_incidents  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "search.json"
FULL = {"fixture_incidents": 100_000, "warmup": 3, "runs": 30}
# Quick mode is the test suite's smoke run: the same queries over a few thousand incidents
# (the acceptance figure is the full run's, over 100,000).
QUICK = {"fixture_incidents": 5_000, "warmup": 1, "runs": 8}
# One frame at 60 Hz: a search typed in the command center answers before the next paint.
FRAME_MS = 16
QUERIES = {
    "rare": "certificate expired",        # ~1% of incidents, in their root cause
    "common": "replication lag",          # a title and causes: thousands of matches
    "words": "connection pool exhausted",  # three words, all in one text
}
CAUSES = (
    "certificate expired on the load balancer", "connection pool exhausted under retry storm",
    "bad deploy rolled back", "disk full on the primary", "DNS resolver timeouts", "memory leak in the worker",
    "replication lag after failover", "feature flag misconfigured", "rate limit too low for the batch job",
    "cache stampede after eviction", "expired OAuth client secret", "kernel upgrade changed sysctl defaults",
    "schema migration locked the table", "noisy neighbour saturated the host", "cron job overlapped itself",
) + tuple(f"vendor outage at provider {n}" for n in range(60)) + tuple(f"config drift in cluster {n}" for n in range(25))
UPDATES = ("Investigating elevated errors", "Mitigation deployed, monitoring", "Rolled back the release",
           "Failover completed, watching replication", "Customers may see slow pages", "Scaled out the workers")


def add_text(path: Path, seed: int = 1414) -> dict[str, int]:
    """One status update and one root cause analysis per incident (the triggers index them)."""
    rng = random.Random(seed)
    conn = raw_connect(path)
    ids = [row[0] for row in conn.execute("SELECT id, declared_at, status, severity FROM incident")]
    rows = conn.execute("SELECT id, declared_at, status, severity FROM incident").fetchall()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO status_update (incident_id, posted_at, posted_by, status, severity, message) "
        "VALUES (?, ?, 'bench', ?, ?, ?)",
        [(i, at, status, severity, rng.choice(UPDATES)) for i, at, status, severity in rows])
    conn.executemany(
        "INSERT INTO root_cause_analysis (incident_id, root_cause, root_cause_details, contributing_factors, "
        "updated_at, updated_by) VALUES (?, ?, ?, '[]', ?, 'bench')",
        [(i, rng.choice(CAUSES), json.dumps([rng.choice(CAUSES)]), at) for i, at, _, _ in rows])
    conn.execute("COMMIT")
    indexed = conn.execute("SELECT count(*) FROM incident_text").fetchone()[0]
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return {"incidents": len(ids), "indexed_texts": indexed}


def raw_fts(conn, query: str) -> list:
    """The index alone: its ranked MATCH of the same quoted words, 20 rows."""
    words = " ".join(f'"{w}"' for w in query.split())
    conn.execute("BEGIN")
    try:
        return conn.execute("SELECT incident_id, kind FROM incident_text WHERE incident_text MATCH ? "
                            "ORDER BY rank LIMIT 20", (words,)).fetchall()
    finally:
        conn.execute("COMMIT")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 incidents, fewer repetitions")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    params = QUICK if args.quick else FULL
    tmp = Path(tempfile.mkdtemp(prefix="ir-bench-search-"))
    began = time.perf_counter()
    try:
        info = machine_info(tmp)
        print(f"machine: {info['cpu_count']} cpus, Python {info['python']}, SQLite {info['sqlite']}, "
              f"SQLAlchemy {info['sqlalchemy']}, temp dir on {info['tmp_dir_fs']}")
        print(f"mode: {'quick' if args.quick else 'full'}; times in ms; ratio = store / raw FTS5 query", flush=True)
        path = tmp / f"search-{params['fixture_incidents'] // 1000}k.db"
        fixture = load_fixture(path, params["fixture_incidents"])
        fixture.update(add_text(path))
        db = open_database(f"sqlite:///{path}")
        conn = raw_connect(path)
        rows, matches = [], {}
        with db.read() as session:
            for key, query in QUERIES.items():
                found = search_incidents(session, query, limit=20)
                matches[key] = {"query": query, "method": found.method, "shown": len(found.hits),
                                "raw_rows": len(raw_fts(conn, query))}
                store_s, raw_s = Samples(), Samples()
                for i in range(params["warmup"] + params["runs"]):
                    if i < params["warmup"]:
                        search_incidents(session, query, limit=20), raw_fts(conn, query)
                        continue
                    raw_s.time(lambda: raw_fts(conn, query))  # interleaved: a busy machine slows both alike
                    store_s.time(lambda: search_incidents(session, query, limit=20))
                rows.append(Row(f"search_{key}", f"search {query!r}", store_s, raw_s,
                                "search_incidents (ranked per incident, snippet) vs raw MATCH ORDER BY rank"))
            target = conn.execute("SELECT id FROM incident WHERE title LIKE '%replication lag%' "
                                  "ORDER BY declared_at DESC LIMIT 1").fetchone()[0]
            similar = similar_incidents(session, target)
            matches["similar"] = {"incident": target, "shown": len(similar)}
            store_s, raw_s = Samples(), Samples()
            title = conn.execute("SELECT title FROM incident WHERE id = ?", (target,)).fetchone()[0]
            for i in range(params["warmup"] + params["runs"]):
                if i < params["warmup"]:
                    similar_incidents(session, target)
                    continue
                raw_s.time(lambda: raw_fts(conn, title.replace("-", " ")))
                store_s.time(lambda: similar_incidents(session, target))
            rows.append(Row("similar", f"similar to {target}", store_s, raw_s,
                            "similar_incidents (any word, service/type lift, causes, actions) vs raw MATCH"))
        conn.close()
        db.dispose()
        print(f"fixture: {fixture['incidents']} incidents ({fixture['indexed_texts']} indexed texts), generated in "
              f"{fixture['generate_s']:.1f}s, inserted in {fixture['insert_s']:.1f}s")
        for key, seen in matches.items():
            print(f"  {key}: {seen}")
        print()
        print(table(rows))
        print()
        verdicts = [Goal(f"{row.label}, median", "ms", at_most=FRAME_MS).check(row.store.summary()["median_ms"])
                    for row in rows]
        method = matches["rare"]["method"]
        verdicts.append(condition("searched with the full-text index", "fts5", method == "fts5", method))
        print_goals(verdicts)
        elapsed = time.perf_counter() - began
        print(f"total {elapsed:.0f}s; results in {RESULTS.relative_to(ROOT)}")
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps({
            "when": utc_now().isoformat(timespec="seconds") + "Z", "mode": "quick" if args.quick else "full",
            "machine": info, "params": params, "fixture": fixture, "matches": matches, "frame_ms": FRAME_MS,
            "elapsed_s": elapsed, "results": [row.as_json() for row in rows],
            "goals": [v.as_json() for v in verdicts],
        }, indent=2) + "\n")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Detection benchmarks (`make bench` runs it): sample ingestion into the store next to raw
sqlite3 executemany in the same run (goal >= 0.3x raw), and rule evaluation over 1M samples
(goal >= 200,000 samples/s: a million samples within one 5 s poll interval). Nothing fails
on a time: figures are printed with "met" or "missed" beside each goal and saved to
bench/results/detection.json."""
from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.goals import Goal, print_goals  # noqa: E402
from playbooks import load_policy  # noqa: E402
from playbooks.rules import RuleTracker  # noqa: E402
from store.database import open_database  # noqa: E402
from playbooks.samples import Sample
from store.detection import record_samples  # noqa: E402
from store.operations import IncidentStore  # noqa: E402

METRICS = ("error_rate", "response_time", "throughput", "cpu", "memory")
# Issue 4's ingest goal, and one for evaluation (bench/README.md says where each comes from).
INGEST = Goal("samples ingested, store vs raw sqlite3", "x", at_least=0.3)
EVALUATION = Goal("rule evaluation", "samples/s", at_least=200_000)


def batches(count: int, batch: int, start: datetime) -> list[list[Sample]]:
    out, current = [], []
    for n in range(count):
        current.append(Sample("bench", METRICS[n % len(METRICS)], start + timedelta(seconds=n // len(METRICS)),
                              float(n % 97)))
        if len(current) == batch:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


def bench_ingest(tmp: Path, count: int, batch: int) -> dict:
    start = datetime(2024, 1, 1)
    work = batches(count, batch, start)
    db = open_database(f"sqlite:///{tmp / 'store.db'}")
    store = IncidentStore(db, load_policy())
    began = time.perf_counter()
    for chunk in work:
        record_samples(store, chunk)
    ours = time.perf_counter() - began
    db.dispose()

    open_database(f"sqlite:///{tmp / 'raw.db'}").dispose()  # same schema, same pragmas below
    conn = sqlite3.connect(tmp / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    began = time.perf_counter()
    for chunk in work:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO metric_sample (source, metric, at, value) VALUES (?, ?, ?, ?)",
                         [(s.source, s.metric, s.at.isoformat(sep=" "), s.value) for s in chunk])
        conn.execute("COMMIT")
    raw = time.perf_counter() - began
    conn.close()
    return {"samples": count, "batch": batch, "ours_per_s": count / ours, "raw_per_s": count / raw,
            "ratio": (count / ours) / (count / raw)}


def bench_rules(count: int) -> dict:
    rule = next(r for r in load_policy().rules.rules if r.name == "critical_outage")
    samples = []
    for n in range(count):
        # breaches that hold 10 minutes, then clear for 10: fires and clears repeatedly
        minute = n // 60
        value = 60.0 if (minute // 10) % 2 else 2.0
        samples.append((float(n), "error_rate" if n % 2 else "response_time", value if n % 2 else value / 2))
    # The detector's path: the latest value per metric, then the tracker once per moment
    # (every sample here has a moment of its own).
    tracker = RuleTracker(still_firing=False)
    observations: dict[str, float] = {}
    events = []
    began = time.perf_counter()
    for at, metric, value in samples:
        observations[metric] = value
        events += tracker.update(rule, observations, at)
    elapsed = time.perf_counter() - began
    return {"samples": count, "seconds": elapsed, "per_s": count / elapsed, "events": len(events)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    ingest_count, rule_count = (20_000, 200_000) if args.quick else (200_000, 1_000_000)
    with tempfile.TemporaryDirectory(prefix="ir-detect-bench-") as tmp:
        ingest = bench_ingest(Path(tmp), ingest_count, batch=500)
    rules = bench_rules(rule_count)
    print(f"{'figure':<46} {'ours':>14} {'raw sqlite3':>16}")
    print("-" * 92)
    print(f"{'samples ingested per second (batches of 500)':<46} {ingest['ours_per_s']:>14,.0f} "
          f"{ingest['raw_per_s']:>16,.0f}  ({ingest['ratio']:.2f}x raw)")
    print(f"{'rule evaluation over %s samples (s)' % f'{rule_count:,}':<46} {rules['seconds']:>14.2f} {'-':>16}"
          f"  ({rules['per_s']:,.0f} samples/s, {rules['events']} events)")
    print()
    verdicts = [INGEST.check(ingest["ratio"]), EVALUATION.check(rules["per_s"])]
    print_goals(verdicts)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "detection.json").write_text(json.dumps({"ingest": ingest, "rules": rules,
                                                    "goals": [v.as_json() for v in verdicts]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

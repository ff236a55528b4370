"""Import validation in linear time (`make bench`, issue 13): generated import documents of
10,000 to 100,000 incidents (each with its own id, every timestamp with a zone) checked by
`store.transfer.parse_import` — the whole check `incident-response import` runs before it
writes anything (JSON, every field, the policy's words, the lifecycle order, the duplicate
ids) — next to `json.loads` of the same text in the same run. Nothing is written: the
check needs only the policy and the clock. Nothing fails on a time: each goal is printed
with "met" or "missed" (bench/README.md).

    .venv/bin/python bench/import_validation.py [--quick]
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.goals import Goal, condition, print_goals  # noqa: E402
from bench.run import machine_info, utc_now  # noqa: E402
from playbooks import load_policy  # noqa: E402
from store.transfer import parse_import  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "import_validation.json"
FULL = {"sizes": [10_000, 25_000, 50_000, 100_000], "runs": 3}
# Quick mode is the suite's smoke test of the method (the same tenfold step, so growth still
# shows); `make bench` runs the full sizes for the 100,000-record figure.
QUICK = {"sizes": [2_000, 20_000], "runs": 1}
NOW = datetime(2024, 1, 18, 14, 30)  # the documents end here; the check's clock says so too

# Linear: the cost of one record must not grow with the document. A quadratic duplicate
# check (issue 13 measured 91 s for 40,000 records) makes 100,000 records cost ten times
# more per record than 10,000; noise and cache effects stay well under 1.5x.
def per_record_goal(smallest: int, largest: int) -> Goal:
    return Goal(f"validation time per record, {largest:,} records vs {smallest:,}", "x", at_most=1.5)

SEVERITIES = ("critical", "high", "medium", "low", "SEV-2", "p3")
TYPES = ("outage", "security", "performance", "data", "integration")
ENVIRONMENTS = ("production", "staging", "development")
ZONES = ("Z", "+02:00", "-05:30", "+00:00")


def stamp(moment: datetime, rng: random.Random) -> str:
    zone = rng.choice(ZONES)
    if zone == "Z":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    sign = 1 if zone[0] == "+" else -1
    local = moment + sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    return local.strftime("%Y-%m-%dT%H:%M:%S") + zone


def document(count: int, seed: int = 1313) -> str:
    """`count` valid incidents, resolved or closed, over the ten years before NOW, each with an id."""
    rng = random.Random(seed)
    records = []
    per_day: dict[str, int] = {}
    for n in range(count):
        detected = NOW - timedelta(days=10 * 365) + timedelta(seconds=rng.randrange(10 * 365 * 86400 - 20 * 86400))
        declared = detected + timedelta(minutes=rng.randrange(1, 30))
        resolved = declared + timedelta(minutes=rng.randrange(5, 6000))
        day = f"{declared:%Y-%m%d}"
        per_day[day] = per_day.get(day, 0) + 1
        record = {"id": f"INC-{day}-{per_day[day]:03d}", "title": f"Historical incident {n}",
                  "severity": rng.choice(SEVERITIES), "type": rng.choice(TYPES),
                  "environment": rng.choice(ENVIRONMENTS), "status": "resolved",
                  "started_at": stamp(detected - timedelta(minutes=rng.randrange(0, 60)), rng),
                  "detected_at": stamp(detected, rng), "declared_at": stamp(declared, rng),
                  "acknowledged_at": stamp(declared + timedelta(minutes=rng.randrange(0, 5)), rng),
                  "resolved_at": stamp(resolved, rng)}
        if rng.random() < 0.3:
            record.update(status="closed", closed_at=stamp(resolved + timedelta(days=1), rng))
        if rng.random() < 0.5:
            record["service"] = rng.choice(("checkout", "search", "payments", "auth"))
        records.append(record)
    return json.dumps(records)


def timed(work) -> float:
    began = time.perf_counter()
    work()
    return time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two small sizes (2,000 and 20,000), one run each")
    args = parser.parse_args(argv)
    params = QUICK if args.quick else FULL
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ir-bench-import-") as tmp:
        info = machine_info(Path(tmp))
    print(f"machine: {info['cpu_count']} cpus, Python {info['python']}, SQLite {info['sqlite']}, "
          f"SQLAlchemy {info['sqlalchemy']}")
    print(f"mode: {'quick' if args.quick else 'full'}; median of {params['runs']} run(s); "
          "baseline: json.loads of the same text", flush=True)
    # Only the policy and the clock are used by the check (store.transfer.read_import).
    checker = SimpleNamespace(policy=load_policy(), now=lambda: NOW)
    rows = []
    print()
    print(f"{'records':>8}  {'MB':>6}  {'validate s':>10}  {'json.loads s':>12}  {'ratio':>6}  {'us/record':>9}")
    for size in params["sizes"]:
        text = document(size)
        validate, baseline = [], []
        for _ in range(params["runs"]):  # interleaved, so a busy machine slows both alike
            baseline.append(timed(lambda: json.loads(text)))
            checked: list = []
            validate.append(timed(lambda: checked.append(parse_import(checker, text, "bench.json"))))
            if len(checked[0]) != size:
                raise SystemExit(f"{size} records generated but {len(checked[0])} checked")
        row = {"records": size, "bytes": len(text), "validate_s": statistics.median(validate),
               "json_loads_s": statistics.median(baseline), "validate_samples_s": validate,
               "json_loads_samples_s": baseline}
        row["ratio"] = row["validate_s"] / row["json_loads_s"]
        row["us_per_record"] = 1e6 * row["validate_s"] / size
        rows.append(row)
        print(f"{size:>8}  {len(text) / 1e6:>6.1f}  {row['validate_s']:>10.2f}  {row['json_loads_s']:>12.3f}  "
              f"{row['ratio']:>5.0f}x  {row['us_per_record']:>9.1f}", flush=True)
    smallest, largest = rows[0], rows[-1]
    growth = largest["us_per_record"] / smallest["us_per_record"]
    print()
    print(f"{largest['records']:,} records validated in {largest['validate_s']:.2f} s "
          f"({largest['ratio']:.0f}x json.loads of the same {largest['bytes'] / 1e6:.1f} MB, "
          f"{largest['json_loads_s']:.3f} s); per record {growth:.2f}x the cost at {smallest['records']:,}")
    print()
    refused = duplicate_refused(checker, text)  # the largest document's text
    verdicts = [
        condition(f"a duplicate id among {largest['records']:,} records", "refused", refused,
                  "refused in one sentence" if refused else "accepted"),
        per_record_goal(smallest["records"], largest["records"]).check(growth),
    ]
    print_goals(verdicts)
    elapsed = time.perf_counter() - began
    print(f"total {elapsed:.0f}s; results in {RESULTS.relative_to(ROOT)}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "when": utc_now().isoformat(timespec="seconds") + "Z", "mode": "quick" if args.quick else "full",
        "machine": info, "params": params, "rows": rows, "per_record_growth": growth, "elapsed_s": elapsed,
        "goals": [v.as_json() for v in verdicts],
    }, indent=2) + "\n")
    return 0


def duplicate_refused(checker, text: str) -> bool:
    """The last record repeats the first one's id: the check must say so."""
    from store.transfer import ImportError_

    records = json.loads(text)
    records[-1]["id"] = records[0]["id"]
    try:
        parse_import(checker, json.dumps(records), "bench.json")
    except ImportError_ as exc:
        return f"id {records[0]['id']} appears twice" in str(exc)
    return False


if __name__ == "__main__":
    raise SystemExit(main())

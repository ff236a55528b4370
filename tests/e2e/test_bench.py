"""`make bench` runs: each figure is printed next to its raw sqlite3 baseline (no timing asserted)."""
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_store_benchmark_reports_every_figure_beside_its_baseline():
    result = subprocess.run([sys.executable, "bench/run.py", "--quick"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    rows = {
        "declare": r"^declare \(1 incident, 15 steps, 1 event\)",
        "tick": r"^tick/untick one step",
        "list open over 100k": r"^list_incidents\(status=open\)",
        "cli list over 100k": r"^`ir --db \.\.\. list` process",
    }
    for name, pattern in rows.items():
        line = next((l for l in result.stdout.splitlines() if re.match(pattern, l)), None)
        assert line is not None, (name, result.stdout)
        figures = re.findall(r"\d+\.\d+x?", line)
        assert len(figures) >= 6, line  # store med/p95, sqlite3 med/p95, ratios
    assert "100000 incidents" in result.stdout
    saved = json.loads((ROOT / "bench" / "results" / "latest.json").read_text())
    assert saved


def test_command_center_benchmark_reports_its_figures():
    result = subprocess.run([sys.executable, "bench/command_center.py", "--quick"], cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    for label in ("cold start to first paint", "cold start to 50 incidents listed", "tick keypress to painted",
                  "idle on dashboard 80x24", "health refresh at 160x48", "peak RSS"):
        assert label in result.stdout, result.stdout
    figures = json.loads((ROOT / "bench" / "results" / "tui.json").read_text())
    assert figures["cold_start_ms"]["minimal_textual"] > 0 and figures["peak_rss_mib"] > 0
    assert figures["idle_80x24"]["only_clock_text"] is True


def test_detection_benchmark_reports_ingest_beside_raw_sqlite3():
    result = subprocess.run([sys.executable, "bench/detection.py", "--quick"], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "samples ingested per second" in result.stdout and "rule evaluation over" in result.stdout
    figures = json.loads((ROOT / "bench" / "results" / "detection.json").read_text())
    assert figures["ingest"]["raw_per_s"] > 0 and figures["rules"]["events"] > 0


def test_delivery_benchmark_reports_latency_and_backlog_drain():
    result = subprocess.run([sys.executable, "bench/delivery.py", "--quick"], cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads((ROOT / "bench" / "results" / "delivery.json").read_text())
    assert figures["backlog"]["delivered"] == figures["backlog"]["messages"]
    assert figures["commit_to_vendor_ms"]["p99"] >= figures["commit_to_vendor_ms"]["p50"] > 0


def test_report_benchmark_reports_month_and_year_beside_raw_sqlite3():
    result = subprocess.run([sys.executable, "bench/report.py", "--quick"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    for pattern in (r"^monthly report \d{4}-\d{2} \[\d+ incidents\]", r"^yearly report .*\[\d+ incidents\]"):
        line = next((l for l in result.stdout.splitlines() if re.match(pattern, l)), None)
        assert line is not None, (pattern, result.stdout)
        assert len(re.findall(r"\d+\.\d+x?", line)) >= 6, line  # store med/p95, sqlite3 med/p95, ratios
    assert "goal month: <= 50 ms" in result.stdout and "goal year: <= 100 ms" in result.stdout
    figures = json.loads((ROOT / "bench" / "results" / "report.json").read_text())
    assert figures["fixture"]["incidents"] == 100_000 and figures["periods"]["year"]["incidents"] > 0


def test_mixed_benchmark_reports_one_and_eight_writers_per_backend():
    result = subprocess.run([sys.executable, "bench/mixed.py", "--seconds", "0.5"], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "mix per 10 operations: 1 declare, 4 tick, 5 note" in result.stdout
    for writers in (1, 8):
        assert re.search(rf"^sqlite\s+{writers}\s+\d+\s+\d+\.\d", result.stdout, re.M), result.stdout
    figures = json.loads((ROOT / "bench" / "results" / "mixed.json").read_text())
    rows = {(row["backend"], row.get("writers")): row for row in figures["rows"]}
    for key in (("sqlite", 1), ("sqlite", 8)):
        assert rows[key]["operations"] > 0 and rows[key]["audit_ok"], rows[key]
        assert rows[key]["events"] == rows[key]["events_expected"], rows[key]  # the writers did the work reported
    # PostgreSQL: both rows, or one skipped row saying why.
    assert (("postgres", 1) in rows and ("postgres", 8) in rows) or rows[("postgres", None)]["skipped"]

"""Command-center benchmarks, in a real pseudo-terminal (`make bench` runs it after run.py).

  cold start to first paint of the dashboard (100k incidents in history, 50 active)
      next to a minimal Textual app started the same way           goal: <= 2.5x
  cold start until the 50 active incidents are listed               goal: <= 1 s
      and next to the minimal Textual app                          goal: <= 3x
  keypress-to-painted for a tick in the war room                    goal: p95 <= 50 ms
  bytes written during 10 s idle on the dashboard                   goal: only clock cells
  bytes per health refresh at 160x48                                 goal: <= 4 KB
  peak RSS of the command center                                    goal: <= 100 MiB

Nothing fails on a time; figures are printed with "met" or "missed" beside each goal and
saved to bench/results/tui.json.
"""
from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import select
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench.goals import Goal, condition, print_goals  # noqa: E402
from run import load_fixture, machine_info, percentile  # noqa: E402

BIN = Path(sys.executable).parent
ANSI = re.compile(rb"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|[()][0-9A-Za-z]|[=>78DEHM])")
# What a clock cell may hold: the UTC clock, ages and countdowns ("in 14m", "27m over",
# "due now", "(by 17:04)", "(since 16:22)").
CLOCK_TEXT = set("0123456789:hmsd-UTC'ack ") | set("in over due now by since ()")
# Issue 3's goals, and one for the data (bench/README.md says where each comes from).
COLD_START = Goal("cold start to first paint vs minimal Textual app", "x", at_most=2.5)
LISTED = Goal("cold start to 50 incidents listed", "ms", at_most=1000)
# Issue 15 (acceptance 5): the list must not wait for the database layer to load.
LISTED_VS_MINIMAL = Goal("cold start to 50 incidents listed vs minimal Textual app", "x", at_most=3.0)
TICK = Goal("tick keypress to painted, p95", "ms", at_most=50)
HEALTH = Goal("health refresh at 160x48", "bytes", at_most=4096)
RSS = Goal("peak RSS", "MiB", at_most=100)


class Pty:
    def __init__(self, argv: list[str], size: tuple[int, int], env: dict[str, str]) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True,
                                     start_new_session=True)
        os.close(slave)
        self.out = bytearray()
        self.read_at = self.started  # when the last output was read

    def read_for(self, seconds: float) -> bytes:
        """Everything written in the next `seconds`."""
        got = bytearray()
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:
                    break
                got += chunk
        self.out += got
        return bytes(got)

    def wait_for(self, needle: str, timeout: float = 60, since: int | None = None) -> float:
        """Monotonic time at which `needle` appeared in the screen text: in what is written
        from now on, or from byte `since` of the output already read (a frame that held it
        before this call counts, at the time it was read)."""
        end = time.monotonic() + timeout
        window = bytearray() if since is None else bytearray(self.out[since:])
        if window and needle in ANSI.sub(b"", bytes(window)).decode("utf-8", "replace"):
            return self.read_at
        while time.monotonic() < end:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:
                    break
                self.read_at = time.monotonic()
                self.out += chunk
                window += chunk
                if needle in ANSI.sub(b"", bytes(window)).decode("utf-8", "replace"):
                    return time.monotonic()
        raise TimeoutError(f"{needle!r} did not appear; last output: {ANSI.sub(b'', bytes(self.out[-400:]))!r}")

    def send(self, text: str) -> float:
        os.write(self.master, text.encode())
        return time.monotonic()

    def peak_rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        os.close(self.master)


def build_fixture(tmp: Path, incidents: int) -> tuple[str, str]:
    """100k incidents of history; 49 of them left open, plus one declared now (with its checklist)."""
    from playbooks import load_policy
    from store.database import open_database
    from store.operations import IncidentStore

    path = tmp / "history.db"
    load_fixture(path, incidents)
    conn = sqlite3.connect(path)
    open_ids = [r[0] for r in conn.execute(
        "SELECT id FROM incident WHERE status IN ('investigating','identified','monitoring') "
        "ORDER BY declared_at DESC")]
    conn.executemany("UPDATE incident SET status = 'closed', resolved_at = declared_at, closed_at = declared_at, "
                     "resolution_s = (julianday(declared_at) - julianday(detected_at)) * 86400.0 "
                     "WHERE id = ?", [(i,) for i in open_ids[49:]])
    conn.commit()
    conn.close()
    db = open_database(f"sqlite:///{path}")
    store = IncidentStore(db, load_policy())
    incident = store.declare("critical", "outage", "production", actor="bench", title="Bench outage")
    db.dispose()
    return f"sqlite:///{path}", incident.id


def start_to_paint(argv: list[str], needle: str, env: dict[str, str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        term = Pty(argv, (80, 24), env)
        try:
            times.append(term.wait_for(needle) - term.started)
        finally:
            term.close()
    return times


def start_to_paint_and_data(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Seconds to the dashboard's first paint (its frame: panes, titles, keys) and to its
    data (the 50 active incidents listed)."""
    term = Pty(argv, (80, 24), env)
    try:
        first = term.wait_for("Active Incidents") - term.started
        # The first frame may hold the list already: it counts.
        data = term.wait_for("Active Incidents (50)", since=0) - term.started
        return first, max(first, data)
    finally:
        term.close()


def press_and_wait(term: Pty, presses: int) -> list[float]:
    """Seconds from each `space` until step 1's new mark is on the terminal, alternately
    ticked and unticked; 0.3 s between presses, as a person ticks."""
    latencies = []
    for n in range(presses):
        marker = "[x]  1." if n % 2 == 0 else "[ ]  1."
        sent = term.send(" ")
        latencies.append(term.wait_for(marker, timeout=10) - sent)
        term.read_for(0.3)
    return latencies


def minimal_tick(minimal: list[str], env: dict[str, str], presses: int) -> dict[str, float]:
    """The baseline: the minimal app's `space` flips the same mark with nothing behind it,
    timed the same way, so a busy machine shows in both figures."""
    term = Pty(minimal, (80, 24), env)
    try:
        term.wait_for("minimal app ready")
        term.read_for(1.0)
        latencies = [x * 1000 for x in press_and_wait(term, presses)]
    finally:
        term.close()
    return {"minimal_median": statistics.median(latencies), "minimal_p95": percentile(latencies, 95)}


def report_tick(results: dict) -> int:
    """`--only tick`: the tick's figure beside its baseline, and its goal (for profiling it)."""
    tick = results["tick_keypress_to_paint_ms"]
    print(f"\n{'figure':<44} {'ours':>12} {'minimal app':>14}")
    print("-" * 72)
    print(f"{'tick keypress to painted (ms, median/p95)':<44} {tick['median']:>7.1f}/{tick['p95']:<5.1f}"
          f" {tick['minimal_median']:>7.1f}/{tick['minimal_p95']:<5.1f}\n")
    verdicts = [TICK.check(tick["p95"])]
    print_goals(verdicts)
    results["goals"] = [v.as_json() for v in verdicts]
    return 0


def add_samples(url: str, count: int) -> None:
    conn = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
    now = datetime.utcnow()
    rows = []
    for metric, value in [("error_rate", 2.0), ("response_time", 0.5), ("throughput", 1200.0), ("cpu", 40.0),
                          ("memory", 60.0)]:
        rows.append(("bench", metric, (now + timedelta(microseconds=count)).isoformat(sep=" "), value + count % 7))
    conn.executemany("INSERT INTO metric_sample (source, metric, at, value) VALUES (?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k incidents, fewer runs, 3 s idle windows")
    parser.add_argument("--only", choices=["tick"], help="measure only this figure (and its baseline); "
                        "nothing is saved")
    args = parser.parse_args(argv)
    incidents, runs, ticks, idle = (10_000, 2, 6, 3.0) if args.quick else (100_000, 5, 20, 10.0)
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="ir-tui-bench-") as tmp_name:
        tmp = Path(tmp_name)
        env = dict(os.environ, TERM="xterm-256color", XDG_DATA_HOME=str(tmp / "data"),
                   XDG_CONFIG_HOME=str(tmp / "config"), XDG_STATE_HOME=str(tmp / "state"))
        env.pop("SSH_CONNECTION", None)
        env.pop("SSH_TTY", None)
        # Idle means no data changes: this host's live metrics would (rightly) repaint the
        # health pane every few seconds, so the measured session samples nothing.
        (tmp / "config" / "incident-response").mkdir(parents=True)
        (tmp / "config" / "incident-response" / "config.toml").write_text("[sources.host]\nenabled = false\n")
        url, incident_id = build_fixture(tmp, incidents)
        print(f"machine: {machine_info(tmp)}")
        print(f"fixture: {incidents} incidents in history, 50 active")

        ours = [str(BIN / "incident-response"), "--db", url]
        minimal = [sys.executable, str(ROOT / "bench" / "minimal_app.py")]
        start_to_paint(minimal, "minimal app ready", env, 1)  # warm the file cache for both
        start_to_paint(ours, "Active Incidents (50)", env, 1)
        ours_t, data_t, minimal_t = [], [], []
        for _ in range(0 if args.only else runs):
            minimal_t += start_to_paint(minimal, "minimal app ready", env, 1)
            first, data = start_to_paint_and_data(ours, env)
            ours_t.append(first)
            data_t.append(data)
        if not args.only:
            results["cold_start_ms"] = {"ours": statistics.median(ours_t) * 1000,
                                        "with_data": statistics.median(data_t) * 1000,
                                        "minimal_textual": statistics.median(minimal_t) * 1000}

        term = Pty(ours, (80, 24), env)
        try:
            term.wait_for("Active Incidents (50)")
            term.read_for(1.5)
            term.send("\r")
            term.wait_for("Checklist")
            term.read_for(1.0)
            latencies = press_and_wait(term, ticks)
            results["tick_keypress_to_paint_ms"] = {"median": statistics.median(latencies) * 1000,
                                                    "p95": percentile([x * 1000 for x in latencies], 95),
                                                    **minimal_tick(minimal, env, ticks)}
            if args.only == "tick":
                return report_tick(results)
            term.send("\x1b")
            term.wait_for("Active Incidents (50)")
            term.read_for(2.0)
            quiet = term.read_for(idle)
            text = ANSI.sub(b"", quiet).decode("utf-8", "replace")
            results["idle_80x24"] = {
                "seconds": idle, "bytes": len(quiet), "bytes_per_s": len(quiet) / idle,
                "only_clock_text": set(text) - set("\r\n") <= CLOCK_TEXT,
                "text_sample": text[:120],
                "other_characters": "".join(sorted(set(text) - set("\r\n") - CLOCK_TEXT)),
            }
            results["peak_rss_mib"] = term.peak_rss_mib()
        finally:
            term.close()

        term = Pty(ours, (160, 48), env)
        try:
            add_samples(url, 0)
            term.wait_for("Active Incidents (50)")
            term.read_for(6.0)  # past the first health refresh
            baseline = term.read_for(idle)
            refresh_windows = idle / 5.0  # the dashboard re-reads health every 5 s
            changed = bytearray()
            end = time.monotonic() + idle
            n = 1
            while time.monotonic() < end:
                add_samples(url, n)
                n += 1
                changed += term.read_for(min(1.0, max(0.0, end - time.monotonic())))
            per_refresh = max(0.0, (len(changed) - len(baseline)) / refresh_windows)
            results["health_refresh_160x48"] = {"idle_bytes": len(baseline), "with_new_samples_bytes": len(changed),
                                                "bytes_per_refresh": per_refresh}
        finally:
            term.close()

        minimal_term = Pty(minimal, (80, 24), env)
        try:
            minimal_term.wait_for("minimal app ready")
            minimal_term.read_for(1.0)
            results["minimal_peak_rss_mib"] = minimal_term.peak_rss_mib()
        finally:
            minimal_term.close()

    cold = results["cold_start_ms"]
    tick = results["tick_keypress_to_paint_ms"]
    idle_r = results["idle_80x24"]
    health = results["health_refresh_160x48"]
    print()
    print(f"{'figure':<44} {'ours':>12} {'minimal app':>14}")
    print("-" * 72)
    print(f"{'cold start to first paint (ms, median)':<44} {cold['ours']:>12.0f} {cold['minimal_textual']:>14.0f}"
          f"  ({cold['ours'] / cold['minimal_textual']:.2f}x)")
    print(f"{'cold start to 50 incidents listed (ms)':<44} {cold['with_data']:>12.0f} {cold['minimal_textual']:>14.0f}"
          f"  ({cold['with_data'] / cold['minimal_textual']:.2f}x)")
    print(f"{'tick keypress to painted (ms, median/p95)':<44} {tick['median']:>7.1f}/{tick['p95']:<5.1f}"
          f" {tick['minimal_median']:>7.1f}/{tick['minimal_p95']:<5.1f}")
    print(f"{'idle on dashboard 80x24 (bytes in %.0f s)' % idle_r['seconds']:<44} {idle_r['bytes']:>12} {'-':>14}")
    print(f"{'health refresh at 160x48 (bytes/refresh)':<44} {health['bytes_per_refresh']:>12.0f} {'-':>14}")
    print(f"{'peak RSS (MiB)':<44} {results['peak_rss_mib']:>12.1f} {results['minimal_peak_rss_mib']:>14.1f}")
    print()
    verdicts = [
        COLD_START.check(cold["ours"] / cold["minimal_textual"]),
        LISTED.check(cold["with_data"]),
        LISTED_VS_MINIMAL.check(cold["with_data"] / cold["minimal_textual"]),
        TICK.check(tick["p95"]),
        condition("idle on dashboard 80x24", "only clock cells written", idle_r["only_clock_text"],
                  f"{idle_r['bytes']} bytes in {idle_r['seconds']:.0f} s, "
                  + ("clock text only" if idle_r["only_clock_text"] else f"other text: {idle_r['text_sample']!r}")),
        HEALTH.check(health["bytes_per_refresh"]),
        RSS.check(results["peak_rss_mib"]),
    ]
    print_goals(verdicts)
    results["goals"] = [v.as_json() for v in verdicts]
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "tui.json").write_text(json.dumps(results, indent=2))
    print(f"\nresults in {out / 'tui.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

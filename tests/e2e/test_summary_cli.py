"""The pinned summary from the shell, as an engineer types it (a real subprocess, IR_NOW
frozen): `summary ID --summary TEXT --next TEXT` pins it by full or short id, `--json` prints
it, `show --json` and the Markdown handover carry the latest, and a bad value or a read-only
run is refused in one sentence, writing nothing."""
from __future__ import annotations

import json
import stat

from tests.e2e.test_cli import db, ir  # noqa: F401 (db: the store on SQLite and PostgreSQL)
from tests.e2e.test_short_ids import refused

NOW = "2024-01-18T15:00:00Z"


def test_summary_pins_by_short_id_and_the_latest_is_shown_and_handed_over(db, tmp_path):
    incident = ir("critical", "outage", "production", "--no-tui", "--title", "Checkout down", db=db,
                  now=NOW).stdout.strip()
    assert incident == "INC-2024-0118-001"
    first = ir("summary", "0118-001", "--summary", "DB pool exhausted", "--next", "Raise the pool",
               "--as", "alice", db=db, now=NOW)
    assert first.stdout.splitlines()[0].startswith(f"Summary pinned on {incident} by alice (event #")
    assert first.stdout.splitlines()[1:] == ["  Summary: DB pool exhausted", "  Next steps: Raise the pool"]

    pinned = json.loads(ir("summary", incident, "--summary", "Pool raised [bold]ok[/]\nerrors falling",
                           "--next", "Watch p99 for 30m", "--json", "--as", "bob", db=db,
                           now="2024-01-18T15:20:00Z").stdout)
    assert {k: pinned[k] for k in ("id", "summary", "next_steps", "by", "at")} == {
        "id": incident, "summary": "Pool raised [bold]ok[/]\nerrors falling", "next_steps": "Watch p99 for 30m",
        "by": "bob", "at": "2024-01-18T15:20:00Z"}

    shown = json.loads(ir("show", incident, "--json", db=db, now=NOW).stdout)
    assert shown["pinned_summary"] == {**{k: pinned[k] for k in ("summary", "next_steps", "by", "at")},
                                       "seq": pinned["seq"]}
    assert [e["kind"] for e in shown["timeline"]].count("summary_pinned") == 2

    text = ir("show", "0118-001", db=db, now=NOW).stdout.splitlines()
    assert "  summary: Pool raised [bold]ok[/]\\nerrors falling  (pinned by bob 2024-01-18 15:20 UTC)" in text
    assert "  next steps: Watch p99 for 30m" in text

    handover = ir("export", incident, "--format", "md", db=db, now=NOW).stdout
    assert "## Current summary" in handover
    assert "Pool raised \\[bold\\]ok\\[/\\]" in handover  # stored text stays data in the document
    assert "Watch p99 for 30m" in handover and "DB pool exhausted" not in handover.split("## Roles")[0]

    # The SVG (the whole war room) carries it too, owner-only where -o says.
    ir("export", incident, "--format", "svg", "-o", f"{tmp_path}/", db=db, now=NOW)
    svg = tmp_path / f"{incident}-war-room.svg"
    assert "Watch&#160;p99&#160;for&#160;30m" in svg.read_text() and "Pool&#160;raised" in svg.read_text()
    assert stat.S_IMODE(svg.stat().st_mode) == 0o600


def test_a_bad_summary_or_a_read_only_run_is_refused_writing_nothing(db):
    incident = ir("high", "outage", "production", "--no-tui", db=db, now=NOW).stdout.strip()
    before = json.loads(ir("show", incident, "--json", db=db, now=NOW).stdout)["version"]
    assert "the summary contains the control character '\\x1b'" in refused(
        ir("summary", incident, "--summary", "ok\x1b[2J", db=db, now=NOW, check=False))
    assert "--summary" in refused(ir("summary", incident, "--next", "x", db=db, now=NOW, check=False))
    assert "read-only: `summary` writes" in refused(
        ir("--read-only", "summary", incident, "--summary", "x", db=db, now=NOW, check=False))
    after = json.loads(ir("show", incident, "--json", db=db, now=NOW).stdout)
    assert after["version"] == before and after["pinned_summary"] is None

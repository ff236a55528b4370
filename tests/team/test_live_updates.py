"""A command center (headless, run_test) sees another process's change within a second:
SQLite through watchfiles, PostgreSQL through LISTEN/NOTIFY. The other process is the
CLI as an engineer runs it; the time is measured from the moment the CLI's command
returned (its commit done) to the moment the dashboard shows the new incident."""
from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time

import pytest

from store.database import open_database
from store.operations import IncidentStore
from tests.support import lifetime

SAMPLES = 5
# The acceptance ("each process saw the others' changes within 1 s"), on the median of
# SAMPLES changes; no single one may take more than twice that.
MEDIAN_BOUND_S = 1.0
WORST_BOUND_S = 2.0

# The CLI, reporting (on stderr) the monotonic time its command returned.
CLI = ("import sys, time\nfrom tui.cli import main\nstatus = main(sys.argv[1:])\n"
       "print(time.monotonic(), file=sys.stderr, flush=True)\nsys.exit(status)\n")


def _shown(app, title: str, count: int) -> bool:
    from tui.widgets.incident_table import IncidentTable

    screen = app.screen
    try:
        pane = screen.query_one("#incidents-pane")
        table = screen.query_one(IncidentTable)
    except Exception:
        return False
    titles = [str(cell) for cell in table.get_column("title")] if table.columns else []
    return pane.border_title == f"Active Incidents ({count})" and title in titles


async def _declare_elsewhere(url: str, title: str) -> float:
    proc = await lifetime.create_subprocess_exec(
        sys.executable, "-c", CLI, "--db", url, "high", "outage", "production", "--title", title, "--no-tui",
        "--as", "other-engineer", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=dict(os.environ, IR_DEBUG="1"))
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return float(err.decode().strip().splitlines()[-1])


async def _time_to_screen(app, pilot, url: str, title: str, count: int) -> float:
    task = asyncio.ensure_future(_declare_elsewhere(url, title))
    seen_at = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if seen_at is None and _shown(app, title, count):
            seen_at = time.monotonic()
        if seen_at is not None and task.done():
            break
        await pilot.pause(0.005)
    assert seen_at is not None, f"{title} never showed"
    returned_at = await task
    # Shown before the CLI had even returned counts as no wait at all.
    return max(0.0, seen_at - returned_at)


async def test_another_process_change_reaches_the_screen_within_a_second(db_url, policy, tmp_path, monkeypatch):
    import tui.screens.dashboard as dashboard
    from tui.app import Settings, make_app

    # Only live updates may bring the change: no periodic reload of the dashboard.
    monkeypatch.setattr(dashboard, "HEALTH_REFRESH_S", 3600.0)
    store = IncidentStore(open_database(db_url), policy)
    store.declare("medium", "performance", "staging", actor="alice", title="Existing")
    app = make_app(store, Settings(actor="tester", export_dir=tmp_path, watch=True, detect=False))
    latencies = []
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            deadline = time.monotonic() + 10
            while not _shown(app, "Existing", 1) and time.monotonic() < deadline:
                await pilot.pause(0.02)
            assert _shown(app, "Existing", 1)
            await pilot.pause(0.5)  # the watcher / listener is up
            for n in range(SAMPLES):
                latencies.append(await _time_to_screen(app, pilot, db_url, f"Zebra{n}", n + 2))
            await pilot.press("q")
    finally:
        store.db.dispose()
    backend = "sqlite (watchfiles)" if db_url.startswith("sqlite") else "postgresql (LISTEN/NOTIFY)"
    median = statistics.median(latencies)
    print(f"{backend}: change on screen after {', '.join(f'{s:.3f}' for s in latencies)} s; median {median:.3f} s")
    assert median < MEDIAN_BOUND_S, latencies
    assert max(latencies) < WORST_BOUND_S, latencies


@pytest.mark.postgres
async def test_the_command_center_says_when_listen_is_refused_and_still_sees_changes(postgres_url, policy, tmp_path,
                                                                                     monkeypatch):
    import store.notifications as notifications
    from tui import live
    from tui.app import Settings, make_app

    # Stand-in for a server that refuses LISTEN (hot standby, pooler in transaction mode).
    monkeypatch.setattr(notifications, "CHANNEL", "not a channel")
    monkeypatch.setattr(live, "POLL_S", 0.2)
    store = IncidentStore(open_database(postgres_url), policy)
    other = IncidentStore(open_database(postgres_url), policy)
    app = make_app(store, Settings(actor="tester", export_dir=tmp_path, watch=True, detect=False))
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not any("refused LISTEN" in n.message for n in app._notifications):
                await pilot.pause(0.02)
            notices = [n for n in app._notifications if "refused LISTEN" in n.message]
            assert len(notices) == 1 and notices[0].severity == "warning"
            assert "fall back to polling once a second" in notices[0].message
            other.declare("high", "outage", "production", actor="bob", title="Polled")
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not _shown(app, "Polled", 1):
                await pilot.pause(0.02)
            assert _shown(app, "Polled", 1)
            await pilot.press("q")
    finally:
        store.db.dispose()
        other.db.dispose()

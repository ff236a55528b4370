"""One writer process of the load tests: `python -m tests.load.writer SPEC.json`.

mode "cli": an engineer at the shell. Loops over the command line as users type it
  (declare, tick, untick, note, ack, status, assign, show), calling `tui.cli.main`
  in-process so that interpreter start-up does not dominate, and every
  `subprocess_every`-th command as the real `incident-response` program (a note or a
  declaration, acting as NAME-sub). A thread reads the chain position every 100 ms
  (what this process sees).
mode "tui": an engineer in the command center. The real app (make_app, live updates on,
  detection off) runs headless at 80x24 under Textual's Pilot against the shared store;
  keys are pressed as a user would, a key every 100 ms: j, enter into a war room, space
  ticks, n + text + enter notes, a acknowledges, esc back, d + title + ctrl+s declares.
  What it sees is the app's own `seen_seq`, moved only by its live-update path
  (watchfiles on SQLite, LISTEN/NOTIFY on PostgreSQL) or by its own writes.

Both log to LOG_DIR/NAME.jsonl: "commit" records (harness.install_commit_log), "call"
and "subprocess" records (each CLI command: argv, exit status, stderr), "seen" records
(t, seq) whenever the position seen rises, "notice" records (TUI notifications), and
"done" at the end (with the process's CPU seconds). For diagnosis the command centers
also log "keys" (what was pressed, on which screen), "wake" (when the live-update path
fired) and "stall" (the app's event loop was busy over 0.1 s); IR_LOAD_PROFILE=1 writes
a cProfile of each command center's main thread next to its log.

Writing stops at the deadline; seeing goes on for `drain` seconds more, so events of the
last moments can be seen too.
"""
from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.load.harness import CLI, JsonLog, install_commit_log, wait_for_go

SEVERITIES = ("critical", "high", "medium", "low")
TYPES = ("outage", "security", "performance", "data", "integration")
MAX_INCIDENTS = 40
KEY_GAP_S = 0.1  # about the pace of a fast typist


class Seer(threading.Thread):
    """Reads the chain position (and the open incidents) over its own connection."""

    def __init__(self, url: str, log: JsonLog, stop_at: float, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.url, self.log, self.stop_at, self.interval = url, log, stop_at, interval
        self.seen = 0
        self.incidents: list[str] = []
        self.ready = threading.Event()

    def run(self) -> None:
        from sqlalchemy import text

        from store.dashboard import last_seq
        from store.database import open_database

        db = open_database(self.url, migrate=False)
        last_list = 0.0
        while time.time() < self.stop_at:
            try:
                with db.read() as session:
                    seq = last_seq(session)
                    if time.monotonic() - last_list > 1.0:
                        self.incidents = list(session.execute(text(
                            "SELECT id FROM incident WHERE status NOT IN ('resolved', 'closed')")).scalars())
                        last_list = time.monotonic()
                now = time.time()
                if seq > self.seen:
                    self.seen = seq
                    self.log.write(kind="seen", t=now, seq=seq)
                self.ready.set()
            except Exception as exc:  # an outage in a fault test: logged, and we go on reading
                self.log.write(kind="read_error", t=time.time(), error=f"{type(exc).__name__}: {exc}"[:300])
            time.sleep(self.interval)
        db.dispose()


def cli_writer(spec: dict, log: JsonLog) -> int:
    from store import database
    from tui.cli import main as cli_main

    name, url = spec["name"], spec["url"]
    rng = random.Random(spec.get("seed", name))
    current = {"op": ""}
    install_commit_log(log, lambda: current["op"])
    opened: list = []
    real_open = database.open_database

    def tracked_open(*args, **kwargs):
        db = real_open(*args, **kwargs)
        opened.append(db)
        return db

    database.open_database = tracked_open  # each command's database is disposed when it ends
    start = wait_for_go(Path(spec["go_file"]))
    deadline = start + spec["seconds"]
    seer = Seer(url, log, deadline + spec.get("drain", 2.0))
    seer.start()
    seer.ready.wait(30)
    think = spec.get("think", (0.25, 0.75))
    n = 0
    while time.time() < deadline:
        n += 1
        incidents = seer.incidents
        target = rng.choice(incidents) if incidents else None
        if target is None or (len(incidents) < MAX_INCIDENTS and rng.random() < 0.08):
            words = [rng.choice(SEVERITIES), rng.choice(TYPES), "production", "--title", f"{name} declared {n}",
                     "--no-tui"]
            op = "declare"
        else:
            op = rng.choices(("tick", "untick", "note", "ack", "status", "assign", "show"),
                             weights=(35, 8, 35, 4, 4, 4, 10))[0]
            words = {
                "tick": ["tick", target, str(rng.randint(1, 15))],
                "untick": ["untick", target, str(rng.randint(1, 15))],
                "note": ["note", target, f"{name} note {n}"],
                "ack": ["ack", target],
                "status": ["status", target, rng.choice(("identified", "monitoring"))],
                "assign": ["assign", target, rng.choice(("ic", "comms", "ops", "scribe")), name],
                "show": ["show", target, "--json"],
            }[op]
        every = spec.get("subprocess_every", 0)
        if every and n % every == 0 and target is not None:  # the real program: a note, or a declaration
            if (n // every) % 3 == 0 and len(incidents) < MAX_INCIDENTS:
                op, words = "declare", ["high", "outage", "production", "--title", f"{name} declared {n}", "--no-tui"]
            else:
                op, words = "note", ["note", target, f"{name} note {n}"]
            sub_call(url, name, op, words, log)
        else:
            current["op"] = op
            in_process_call(cli_main, ["--db", url, "--as", name, *words], op, log)
            current["op"] = ""
            for db in opened:
                db.dispose()
            opened.clear()
        time.sleep(rng.uniform(*think))
    seer.join(spec.get("drain", 2.0) + 30)
    log.write(kind="done", t=time.time(), commands=n, cpu_s=_cpu_seconds())
    return 0


def in_process_call(cli_main, argv: list[str], op: str, log: JsonLog) -> int:
    out, err = io.StringIO(), io.StringIO()
    started = time.time()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = cli_main(argv)
        except SystemExit as exit_:  # argparse --help and the like; never expected here
            status = exit_.code if isinstance(exit_.code, int) else 1
    log.write(kind="call", t=time.time(), started=started, op=op, argv=argv, status=status,
              out=out.getvalue()[-200:] if op != "show" else "", err=err.getvalue())
    return status


def sub_call(url: str, name: str, op: str, words: list[str], log: JsonLog) -> None:
    argv = [CLI, "--db", url, "--as", f"{name}-sub", *words]
    started = time.time()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        status, out, err = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired:
        status, out, err = -1, "", "timed out after 120 s"
    log.write(kind="subprocess", t=time.time(), started=started, op=op, argv=argv[1:], status=status,
              out=out[-300:], err=err)


# -- the command center ----------------------------------------------------------------

async def tui_writer(spec: dict, log: JsonLog) -> int:
    from playbooks import load_policy
    from store.database import open_database
    from store.operations import IncidentStore
    from tui.app import Settings, make_app
    from tui.screens.dashboard import DashboardScreen
    from tui.screens.war_room import WarRoomScreen

    name, url = spec["name"], spec["url"]
    rng = random.Random(spec.get("seed", name))
    current = {"op": ""}
    install_commit_log(log, lambda: current["op"])
    from tui import live

    real_watch = live.watch

    def watch(db, on_change, stop, on_state=None):  # when the live-update path fired (diagnostics)
        def changed() -> None:
            log.write(kind="wake", t=time.time())
            on_change()

        return real_watch(db, changed, stop, on_state=on_state)

    live.watch = watch
    store = IncidentStore(open_database(url), load_policy())
    app = make_app(store, Settings(actor=name, export_dir=Path(spec["log_dir"]), watch=True, detect=False))
    real_notify = app.notify

    def notify(message, *args, **kwargs):
        log.write(kind="notice", t=time.time(), message=str(message), severity=kwargs.get("severity", "information"))
        return real_notify(message, *args, **kwargs)

    app.notify = notify
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.5)
        print("ready", flush=True)
        go = Path(spec["go_file"])
        while not (go.exists() and go.read_text().strip()):
            await asyncio.sleep(0.01)
        start = float(go.read_text())
        deadline = start + spec["seconds"]
        stop_seeing = deadline + spec.get("drain", 2.0)

        async def see() -> None:
            seen = 0
            while time.time() < stop_seeing:
                if app.seen_seq > seen:
                    seen = app.seen_seq
                    log.write(kind="seen", t=time.time(), seq=seen)
                before = time.monotonic()
                await asyncio.sleep(0.02)
                stalled = time.monotonic() - before - 0.02
                if stalled > 0.1:  # the app's event loop was busy this long (diagnostics)
                    log.write(kind="stall", t=time.time(), seconds=round(stalled, 3))

        seeing = asyncio.ensure_future(see())
        n = actions = 0

        async def keys(*names: str) -> None:
            """Pressed as a fast typist does (a key every ~100 ms), not as fast as Pilot can."""
            log.write(kind="keys", t=time.time(), keys=" ".join(names), screen=type(app.screen).__name__)
            for key in names:
                await pilot.press(key)
                await asyncio.sleep(KEY_GAP_S)

        async def until(condition, limit: float = 10.0) -> bool:
            end = time.monotonic() + limit
            while time.monotonic() < end:
                if condition():
                    return True
                await pilot.pause(0.05)
            return False

        while time.time() < deadline:
            n += 1
            if not isinstance(app.screen, DashboardScreen):
                await keys("escape")
                await pilot.pause(0.1)
                continue
            rows = _dashboard_rows(app)
            if rows < 3 or (rows < MAX_INCIDENTS and rng.random() < 0.05):
                current["op"] = "declare"
                await keys("d")
                await pilot.pause(0.1)
                await keys(*f"{name} declared {n}")
                await keys("ctrl+s")
                await until(lambda: isinstance(app.screen, WarRoomScreen))
            else:
                await keys(*(["j"] * rng.randint(0, min(rows - 1, 6))), "enter")
                await until(lambda: isinstance(app.screen, WarRoomScreen))
            if not isinstance(app.screen, WarRoomScreen):
                continue
            room = app.screen
            await until(lambda: room.detail is not None)
            for k in range(rng.randint(4, 10)):  # a while in one war room, as people work
                if time.time() >= deadline:
                    break
                actions += 1
                r = rng.random()
                if r < 0.45:
                    current["op"] = "tick"
                    await keys(*(["j"] * rng.randint(0, 3)), "space")
                elif r < 0.9:
                    current["op"] = "note"
                    await keys("n")
                    await pilot.pause(0.05)
                    await keys(*f"{name} {n} {k}", "enter")
                else:
                    current["op"] = "ack"
                    await keys("a")
                await pilot.pause(rng.uniform(0.3, 0.8))  # a moment to read the screen
            await keys("escape")
            await pilot.pause(0.1)
        current["op"] = ""
        await seeing
        log.write(kind="done", t=time.time(), commands=n, actions=actions, cpu_s=_cpu_seconds())
    store.db.dispose()
    return 0


def _dashboard_rows(app) -> int:
    from tui.widgets.incident_table import IncidentTable

    try:
        return app.screen.query_one(IncidentTable).row_count
    except Exception:
        return 0


def _cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return round(usage.ru_utime + usage.ru_stime, 2)


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text())
    log = JsonLog(Path(spec["log_dir"]) / f"{spec['name']}.jsonl")
    if spec["mode"] == "tui":
        if os.environ.get("IR_LOAD_PROFILE"):  # diagnostics: where a command center's time goes
            import cProfile

            profile = cProfile.Profile()
            status = profile.runcall(asyncio.run, tui_writer(spec, log))
            profile.dump_stats(Path(spec["log_dir"]) / f"{spec['name']}.prof")
            return status
        return asyncio.run(tui_writer(spec, log))
    print("ready", flush=True)
    return cli_writer(spec, log)


if __name__ == "__main__":
    sys.exit(main())

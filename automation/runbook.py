"""Run a confirmed response action: argv without a shell, bounded in time and output,
recorded on the timeline and in Active Remediation whatever the outcome.

The command is hostile input as far as its output goes: whatever bytes it writes (not
UTF-8, terminal escapes, C1 controls, bidi overrides, gigabytes) are decoded with
replacement, stripped of controls and cut to a bound before they are kept, so the outcome
is always recorded and never repaints a terminal or exhausts memory. It runs in a session
of its own so that a timeout stops every process it started, not only the first.
"""
from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass

from playbooks.runbooks import PreparedCommand
from store.activity_log import ActivityLog
from store.operations import IncidentStore

CAPTURE_BYTES = 64 * 1024  # kept from each end of the output; the middle is counted, not kept
OUTPUT_LIMIT = 4000  # characters recorded on the timeline (half from the start, half from the end)
_CHUNK = 64 * 1024

# C0 (but newline and tab), DEL, C1, bidi embeddings/overrides/isolates and marks, line and
# paragraph separators, and lone surrogates: none of them may reach a record or a terminal.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
                     "\u2066-\u2069\ud800-\udfff]")


@dataclass(frozen=True)
class RunOutcome:
    exit_code: int | None
    output: str  # exactly what was recorded: cleaned and at most OUTPUT_LIMIT characters plus a note of the cut
    summary: str


@dataclass
class _Captured:
    """The first and last CAPTURE_BYTES of a stream, and how many bytes were skipped between."""

    head: bytearray
    tail: bytearray
    total: int = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = CAPTURE_BYTES - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            del self.tail[:-CAPTURE_BYTES]

    @property
    def skipped(self) -> int:
        return self.total - len(self.head) - len(self.tail)


def clean_output(text: str) -> str:
    """Output text with every control character but newline and tab removed."""
    return _UNSAFE.sub("", text.replace("\r\n", "\n"))


def _recorded(captured: _Captured) -> str:
    half = OUTPUT_LIMIT // 2
    if captured.skipped == 0:
        text = clean_output(bytes(captured.head + captured.tail).decode("utf-8", errors="replace"))
        if len(text) <= OUTPUT_LIMIT:
            return text
        head, tail = text[:half], text[-half:]
    else:
        head = clean_output(bytes(captured.head).decode("utf-8", errors="replace"))[:half]
        tail = clean_output(bytes(captured.tail).decode("utf-8", errors="replace"))[-half:]
    # Keep the start (what it did) and the end (how it finished), and say that the middle is gone.
    return (f"{head}\n[... output cut: {captured.total} bytes in all, the first and last {half} characters"
            f" kept]\n{tail}")


def _kill_group(process: subprocess.Popen) -> None:
    # The command leads its own process group (start_new_session), so this reaches every
    # process it forked that did not leave the group, even after the leader has exited.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _run(argv: tuple[str, ...], timeout_s: float) -> tuple[int | None, _Captured, bool]:
    """Exit code (None when stopped), captured output, and whether the time ran out."""
    captured = _Captured(bytearray(), bytearray())
    process = subprocess.Popen(list(argv), shell=False, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout_s
    timed_out = False
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            fd = process.stdout.fileno()
            # Read until every process holding the pipe has closed it (a forked child keeps it open).
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    timed_out = True
                    break
                if not selector.select(remaining):
                    continue
                chunk = os.read(fd, _CHUNK)
                if not chunk:
                    break
                captured.add(chunk)
        if not timed_out:
            try:
                process.wait(max(deadline - time.monotonic(), 0))
            except subprocess.TimeoutExpired:
                timed_out = True
    finally:
        if timed_out or process.poll() is None:  # out of time, or interrupted (Ctrl-C)
            _kill_group(process)
        process.stdout.close()
        process.wait()
    return (None if timed_out else process.returncode), captured, timed_out


def run_confirmed(store: IncidentStore, incident_id: str, command: PreparedCommand, *, actor: str,
                  confirmed_by: str, activity: ActivityLog | None = None) -> RunOutcome:
    """Record, run, record. `confirmed_by` is the person who saw the exact command and said yes."""
    action = store.start_remediation(incident_id, f"Runbook {command.runbook}: {command.shown()}", actor=actor)
    store.add_note(incident_id, f"{confirmed_by} confirmed runbook {command.runbook}: {command.shown()}", actor=actor)
    try:
        exit_code, captured, timed_out = _run(command.argv, command.timeout_s)
        output = _recorded(captured)
        if timed_out:
            summary = f"timed out after {command.timeout_s:g}s and was stopped with every process it started"
        else:
            summary = f"exit {exit_code}"
        outcome = RunOutcome(exit_code, output, summary)
    except FileNotFoundError:
        outcome = RunOutcome(None, "", f"not run: {clean_output(command.argv[0])} is not installed on this host")
    except OSError as exc:
        outcome = RunOutcome(None, "", f"not run: {clean_output(exc.strerror or str(exc))}")
    text = outcome.summary + (f"\n{outcome.output}" if outcome.output else "")
    store.finish_remediation(incident_id, action.id, actor=actor, outcome=text)
    if activity is None:  # a caller without a configuration still logs, hiding the usual secrets
        activity = ActivityLog(clock=store.now)
    activity.write("runbook", incident=incident_id, runbook=command.runbook, command=command.shown(),
                   confirmed_by=confirmed_by, exit_code=outcome.exit_code, summary=outcome.summary)
    return outcome

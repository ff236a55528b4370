"""Run a confirmed response action: argv without a shell, bounded in time and output,
recorded on the timeline and in Active Remediation whatever the outcome."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass

from playbooks.runbooks import PreparedCommand
from store.activity_log import ActivityLog
from store.operations import IncidentStore

OUTPUT_LIMIT = 4000  # characters kept on the timeline; the rest is noted as cut


@dataclass(frozen=True)
class RunOutcome:
    exit_code: int | None
    output: str
    summary: str


def _clean(text: str) -> str:
    # Terminal control characters in a command's output must not repaint the war room.
    kept = "".join(c if c in "\n\t" or 32 <= ord(c) != 127 else "?" for c in text)
    if len(kept) > OUTPUT_LIMIT:
        kept = kept[:OUTPUT_LIMIT] + f"\n[... {len(kept) - OUTPUT_LIMIT} more characters cut]"
    return kept


def run_confirmed(store: IncidentStore, incident_id: str, command: PreparedCommand, *, actor: str,
                  confirmed_by: str, activity: ActivityLog | None = None) -> RunOutcome:
    """Record, run, record. `confirmed_by` is the person who saw the exact command and said yes."""
    action = store.start_remediation(incident_id, f"Runbook {command.runbook}: {command.shown()}", actor=actor)
    store.add_note(incident_id, f"{confirmed_by} confirmed runbook {command.runbook}: {command.shown()}", actor=actor)
    try:
        done = subprocess.run(list(command.argv), shell=False, capture_output=True, text=True,
                              timeout=command.timeout_s, stdin=subprocess.DEVNULL)
        output = _clean((done.stdout or "") + (done.stderr or ""))
        outcome = RunOutcome(done.returncode, output, f"exit {done.returncode}")
    except FileNotFoundError:
        outcome = RunOutcome(None, "", f"not run: {command.argv[0]} is not installed on this host")
    except subprocess.TimeoutExpired as exc:
        partial = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        outcome = RunOutcome(None, _clean(partial), f"timed out after {command.timeout_s:g}s and was stopped")
    except OSError as exc:
        outcome = RunOutcome(None, "", f"not run: {exc.strerror}")
    text = outcome.summary + (f"\n{outcome.output}" if outcome.output else "")
    store.finish_remediation(incident_id, action.id, actor=actor, outcome=text)
    if activity is None:  # a caller without a configuration still logs, hiding the usual secrets
        activity = ActivityLog(clock=store.now)
    activity.write("runbook", incident=incident_id, runbook=command.runbook, command=command.shown(),
                   confirmed_by=confirmed_by, exit_code=outcome.exit_code, summary=outcome.summary)
    return outcome

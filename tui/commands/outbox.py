"""`incident-response outbox`: what was sent to whom, what waits, what failed; and a
person's retry of dead-lettered messages.

  incident-response outbox [--incident ID] [--state pending|dead|sent|skipped|all] [--json]
  incident-response outbox retry N [N ...]       # these dead-lettered messages
  incident-response outbox retry dead            # every dead-lettered message (of --incident)
"""
from __future__ import annotations

import argparse

HELP = {"outbox": "show the notification outbox (sent, waiting, failed) or retry failed messages"}
STATE_CHOICES = ("all", "pending", "dead", "sent", "skipped")


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", choices=("retry",), help="retry dead-lettered messages")
    parser.add_argument("targets", nargs="*", metavar="N|dead", help="message numbers, or `dead` for all failed")
    parser.add_argument("--incident", metavar="ID", help="only this incident's messages")
    parser.add_argument("--state", default="all", help="all (default), pending, dead, sent or skipped")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _row(row) -> dict:
    from playbooks.clock import iso_z

    return {"id": row.id, "incident": row.incident_id, "integration": row.integration,
            "group": row.stakeholder_group, "event": row.event, "state": row.state, "attempts": row.attempts,
            "next_attempt_at": iso_z(row.next_attempt_at) if row.state == "pending" and row.next_attempt_at else None,
            "sent_at": iso_z(row.sent_at) if row.sent_at else None, "last_error": row.last_error,
            # A skipped message was never sent, on purpose: why (drill, environment policy).
            "reason": row.last_error if row.state == "skipped" else None}


def _targets(words: list[str]) -> list[int] | None:
    """Message numbers, or None for "every dead one"."""
    from tui.cli import UsageError

    if words == ["dead"]:
        return None
    if not words:
        raise UsageError("retry needs message numbers or `dead`; accepted: outbox retry 12 13, outbox retry dead")
    numbers = []
    for word in words:
        if not word.isdigit():
            raise UsageError(f"{word!r} is not a message number; accepted: numbers from `incident-response outbox`, "
                             "or `dead`")
        numbers.append(int(word))
    return numbers


def run(name: str, ctx, args: argparse.Namespace) -> int:
    from tui.cli import UsageError

    state = args.state.lower()
    if state not in STATE_CHOICES:
        raise UsageError(f"--state {args.state} is not known; accepted: {', '.join(STATE_CHOICES)}")
    if args.action is None and args.targets:
        raise UsageError(f"{args.targets[0]!r} is not an outbox action; accepted: retry")
    targets = _targets(args.targets) if args.action == "retry" else []
    incident_id = None
    if args.incident:
        from store.operations import normalise_id

        incident_id = normalise_id(args.incident)
    from store import outbox

    store = ctx.store
    if args.action == "retry":
        with store.db.read() as session:
            if targets is None:
                targets = [row.id for row in outbox.messages(session, incident_id=incident_id, state="dead",
                                                             limit=100_000)]
            else:
                rows = outbox.messages(session, incident_id=incident_id, limit=100_000)
                known = {row.id: row.state for row in rows}
                for number in targets:
                    if number not in known:
                        raise UsageError(f"there is no message {number} in the outbox; accepted: a number from "
                                         "`incident-response outbox`")
                    if known[number] != "dead":
                        raise UsageError(f"message {number} is {known[number]}, not failed; accepted: numbers of "
                                         "failed (dead) messages")
        retried = outbox.retry_by_person(store, targets, actor=ctx.actor)
        print(f"{len(retried)} message(s) queued again" + (f": {', '.join(map(str, retried))}" if retried else
                                                           " (none had failed)"))
        return 0
    with store.db.read() as session:
        rows = [_row(r) for r in outbox.messages(session, incident_id=incident_id,
                                                  state=None if state == "all" else state)]
    if args.json:
        from tui.cli_output import printable_json

        print(printable_json(rows))
        return 0
    if not rows:
        print("The outbox is empty." if state == "all" else f"No {state} messages.")
        return 0
    print(f"{'#':>5}  {'STATE':<8} {'TRIES':>5}  {'INTEGRATION':<11} {'EVENT':<17} {'INCIDENT':<18} GROUP / DETAIL")
    from tui.cli_output import shown

    for row in rows:
        when = row["sent_at"] or row["next_attempt_at"] or ""
        detail = row["last_error"] if row["state"] != "sent" and row["last_error"] else when.replace("T", " ")
        # A vendor's reply and restored rows are data: escaped (C1 controls too) before padding.
        state, integration, event, incident = map(shown, (row["state"], row["integration"], row["event"],
                                                          row["incident"] or "-"))
        print(f"{row['id']:>5}  {state:<8} {row['attempts']:>5}  {integration:<11} {event:<17} "
              f"{incident:<18} {shown(row['group'] or '-')}: {shown(detail)}")
    return 0

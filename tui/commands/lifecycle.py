"""Working an incident from the shell: acknowledge, move, re-rate, hand out roles, tick the
checklist, note, post status updates, remediate, resolve and close.

  incident-response ack|resolve|close ID
  incident-response status ID STATUS          incident-response severity ID SEVERITY
  incident-response assign ID ROLE PERSON     incident-response release ID ROLE
  incident-response tick|untick ID STEP...    incident-response note ID TEXT...
  incident-response update ID TEXT... [--affected T] [--headline T]
  incident-response remediate ID TEXT... | remediate ID --done N [--outcome T]

Each is one operation of the store; what it answers names the incident and its new state,
stored text (people, steps, outcomes) printed on one line as data.
"""
from __future__ import annotations

import argparse

from playbooks.errors import one_line  # a tiny module: --help stays instant

HELP = {
    "ack": "acknowledge an incident",
    "status": "move an incident: investigating, identified, monitoring, resolved, closed",
    "severity": "re-rate an incident",
    "assign": "give a role to a person (the previous holder is released)",
    "release": "release a role",
    "tick": "mark steps done: step numbers or the start of a step's text",
    "untick": "mark steps not done: step numbers or the start of a step's text",
    "note": "add a note to the timeline",
    "update": "post a status update (the next one falls due by the severity's cadence)",
    "remediate": "start a remediation action, or finish one with --done N",
    "resolve": "mark an incident resolved",
    "close": "close a resolved incident",
}


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id")
    if name in ("status", "severity"):
        parser.add_argument(name)
    elif name in ("assign", "release"):
        parser.add_argument("role")
        if name == "assign":
            parser.add_argument("person")
    elif name in ("tick", "untick"):
        parser.add_argument("steps", nargs="+")
    elif name in ("note", "update"):
        parser.add_argument("text", nargs="+")
        if name == "update":
            parser.add_argument("--affected", help="who or what is affected, for the status page")
            parser.add_argument("--headline", help="the public page's headline from now on (default: the playbook's)")
    elif name == "remediate":
        parser.add_argument("text", nargs="*")
        parser.add_argument("--done", type=int, metavar="N", help="finish remediation action N")
        parser.add_argument("--outcome", default="done")


def run(name: str, ctx, args: argparse.Namespace) -> int:
    RUN[name](ctx, args)
    return 0


def _ack(ctx, args: argparse.Namespace) -> None:
    incident = ctx.store.acknowledge(args.id, actor=ctx.actor)
    late = "" if incident.acknowledged_at <= incident.response_due_at else " (after the response deadline)"
    print(f"{incident.id} acknowledged by {ctx.actor}{late}")


def _status(ctx, args: argparse.Namespace) -> None:
    incident = ctx.store.change_status(args.id, args.status, actor=ctx.actor)
    print(f"{incident.id} is now {incident.status}")


def _resolve(ctx, args: argparse.Namespace) -> None:
    incident = ctx.store.resolve(args.id, actor=ctx.actor)
    print(f"{incident.id} is now {incident.status}")


def _close(ctx, args: argparse.Namespace) -> None:
    incident = ctx.store.close(args.id, actor=ctx.actor)
    print(f"{incident.id} is now {incident.status}")


def _severity(ctx, args: argparse.Namespace) -> None:
    incident = ctx.store.change_severity(args.id, args.severity, actor=ctx.actor)
    print(f"{incident.id} is now {incident.severity}; response due {incident.response_due_at:%Y-%m-%d %H:%M} UTC")


def _assign(ctx, args: argparse.Namespace) -> None:
    assignment = ctx.store.assign_role(args.id, args.role, args.person, actor=ctx.actor)
    print(f"{one_line(assignment.person)} is {assignment.role} on {assignment.incident_id}")


def _release(ctx, args: argparse.Namespace) -> None:
    released = ctx.store.release_role(args.id, args.role, actor=ctx.actor)
    print(f"{one_line(released.person)} released {released.role} on {released.incident_id}")


def _tick(ctx, args: argparse.Namespace, done: bool = True) -> None:
    changed = ctx.store.tick(args.id, args.steps, actor=ctx.actor, done=done)
    if not changed:
        print("No change: " + ("already done" if done else "already open"))
    for step in changed:
        print(f"[{'x' if done else ' '}] {step.number}. {one_line(step.text)}")


def _untick(ctx, args: argparse.Namespace) -> None:
    _tick(ctx, args, done=False)


def _note(ctx, args: argparse.Namespace) -> None:
    event = ctx.store.add_note(args.id, " ".join(args.text), actor=ctx.actor)
    print(f"Noted on {event.incident_id} (event #{event.seq})")


def _update(ctx, args: argparse.Namespace) -> None:
    from dataclasses import replace

    from reports.status_page import status_page_text
    from tui.cli_output import shown_lines

    update = ctx.store.post_status_update(args.id, " ".join(args.text), actor=ctx.actor, affected=args.affected,
                                          headline=args.headline)
    detail = ctx.detail(update.incident_id)
    # The template lists the earlier updates under Updates, not the one just posted.
    detail = replace(detail, status_updates=detail.status_updates[:-1])
    print(shown_lines(status_page_text(detail, detail.public_headline, update.message, update.affected,
                                       update.posted_at, update.next_update_due_at)), end="")


def _remediate(ctx, args: argparse.Namespace) -> None:
    if args.done is not None:
        action = ctx.store.finish_remediation(args.id, args.done, actor=ctx.actor, outcome=args.outcome)
        print(f"Remediation #{action.id} finished: {one_line(action.outcome)}")
        return
    if not args.text:
        from tui.cli import UsageError

        raise UsageError("remediate needs a description or --done N; accepted: remediate ID TEXT...")
    action = ctx.store.start_remediation(args.id, " ".join(args.text), actor=ctx.actor)
    print(f"Remediation #{action.id} started on {action.incident_id}: {one_line(action.description)}")


RUN = {"ack": _ack, "status": _status, "severity": _severity, "assign": _assign, "release": _release,
       "tick": _tick, "untick": _untick, "note": _note, "update": _update, "remediate": _remediate,
       "resolve": _resolve, "close": _close}

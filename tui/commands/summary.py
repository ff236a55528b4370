"""`incident-response summary`: pin an incident's current summary and next steps.

  incident-response summary ID --summary TEXT [--next TEXT] [--json] [--as NAME]

What someone joining the incident reads first: the war room shows it at the top and every
handover (Markdown, SVG, HTML) carries it. Each pin is a timeline event (who, when, what),
so `audit verify` covers it; the latest pin is the pinned one. Text is checked like a note
(newlines kept; control characters, bidi controls and line separators refused).
"""
from __future__ import annotations

import argparse

HELP = {"summary": "pin an incident's current summary and next steps (war room top, handover)"}


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id")
    parser.add_argument("--summary", required=True, metavar="TEXT", help="where the incident stands now")
    parser.add_argument("--next", dest="next_steps", metavar="TEXT", help="what happens next, and who does it")
    parser.add_argument("--json", action="store_true", help="print the pinned summary as JSON")


def run(name: str, ctx, args: argparse.Namespace) -> int:
    import json

    from playbooks.clock import iso_z
    from tui.cli_output import printable_json, shown

    event = ctx.store.pin_summary(args.id, args.summary, args.next_steps, actor=ctx.actor)
    data = json.loads(event.data)
    if args.json:
        print(printable_json({"id": event.incident_id, "seq": event.seq, "summary": data["summary"],
                              "next_steps": data["next_steps"], "by": event.actor, "at": iso_z(event.at)}))
        return 0
    print(f"Summary pinned on {event.incident_id} by {shown(event.actor)} (event #{event.seq})")
    print(f"  Summary: {shown(data['summary'])}")  # one line: a newline is shown as \n, as stored text is
    if data["next_steps"]:
        print(f"  Next steps: {shown(data['next_steps'])}")
    return 0

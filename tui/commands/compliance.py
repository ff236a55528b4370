"""Regulatory clocks from the shell.

  incident-response exposure ID CLASS... [--aware-at ISO]   mark exposed data; starts the regimes' clocks
  incident-response comply ID REGIME [--note TEXT]          record that a regime's notification was made
  incident-response compliance [ID] [--json]                running (and, with ID, met) obligations

Data classes: personal_data, health_data, card_data, financial_records, customer_data.
The regimes and their deadlines are policy (playbooks compliance.toml), not legal advice.
"""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tui.cli_output import printable_json, shown  # light: stored text printed as data

if TYPE_CHECKING:
    from datetime import datetime

HELP = {
    "exposure": "mark data exposed by a security or data incident (personal_data, health_data, card_data, "
                "financial_records, customer_data); starts the matching regimes' notification clocks",
    "comply": "record that a regime's obligation (e.g. GDPR notification) was met, by you, now",
    "compliance": "regulatory clocks: running obligations across incidents, or one incident's with --json",
}


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    if name == "exposure":
        parser.add_argument("id")
        parser.add_argument("classes", nargs="+", metavar="CLASS")
        parser.add_argument("--aware-at", metavar="ISO",
                            help="when the organisation became aware (default: the incident's detection)")
    elif name == "comply":
        parser.add_argument("id")
        parser.add_argument("regime", help="GDPR, HIPAA, SOX, PCI-DSS, SOC2 (as the policy names them)")
        parser.add_argument("--note", help="what was done, e.g. the regulator's reference")
    else:
        parser.add_argument("id", nargs="?")
        parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(name: str, ctx, args: argparse.Namespace) -> int:
    return {"exposure": _exposure, "comply": _comply, "compliance": _compliance}[name](ctx, args)


def _short(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "-"


def _left(seconds: int | None) -> str:
    from store.compliance import format_remaining

    if seconds is None:
        return ""
    return f"OVERDUE {format_remaining(seconds)}" if seconds < 0 else f"{format_remaining(seconds)} left"


def _exposure(ctx, args: argparse.Namespace) -> int:
    from store.compliance import data_class, mark_exposure, parse_aware_at

    # Check the words before a database is opened.
    classes = [data_class(c) for c in args.classes]
    aware_at = parse_aware_at(args.aware_at) if args.aware_at is not None else None
    marked = mark_exposure(ctx.store, args.id, classes, actor=ctx.actor, aware_at=aware_at)
    if not marked.marked:
        print(f"No change: {', '.join(marked.already)} already marked on {marked.incident_id}")
        return 0
    print(f"{marked.incident_id}: exposed {', '.join(marked.marked)}"
          + (f" ({', '.join(marked.already)} already marked)" if marked.already else ""))
    now = ctx.store.now()
    for o in marked.started:
        print(f"  {o.regime:<8} clock started: aware {_short(o.aware_at)}, "
              f"due {_short(o.due_at)} ({_left(int((o.due_at - now).total_seconds()))})")
    if not marked.started:
        print("  no new clock: the regimes that apply already run")
    return 0


def _comply(ctx, args: argparse.Namespace) -> int:
    from store.compliance import format_remaining, mark_obligation_met

    met = mark_obligation_met(ctx.store, args.id, args.regime, actor=ctx.actor, note=args.note)
    margin = (met.due_at - met.met_at).total_seconds()
    when = (f"{format_remaining(margin)} before the deadline" if margin >= 0
            else f"{format_remaining(margin)} after the deadline")
    print(f"{met.regime} on {met.incident_id} met at {_short(met.met_at)} by {shown(met.met_by)} ({when})")
    return 0


def _compliance(ctx, args: argparse.Namespace) -> int:
    from playbooks.clock import iso_z
    from store.compliance import running_obligations

    if args.id:
        detail = ctx.detail(args.id)
        if args.json:
            print(printable_json({"id": detail.id, "data_exposed": [e.as_json() for e in detail.data_exposed],
                                  "obligations": [o.as_json() for o in detail.compliance]}))
            return 0
        exposed = ", ".join(e.data_class for e in detail.data_exposed) or "nothing marked"
        print(f"{detail.id} ({detail.type}): exposed {exposed}")
        for o in detail.compliance:
            if o.met_at:
                state = f"met {_short(o.met_at)} by {shown(o.met_by)}" + ("" if o.on_time else " (late)")
            else:
                state = f"due {_short(o.due_at)}  {_left(o.remaining_seconds)}"
            print(f"  {o.regime:<8} {state}")
            print(f"           {shown(o.deadline_text)}; notify: {shown(', '.join(o.notify))}")
        if not detail.compliance:
            print("  no obligation: mark exposed data with `incident-response exposure ID CLASS`")
        return 0
    store = ctx.store
    now = store.now()
    with store.db.read() as session:
        running = running_obligations(session, store.policy)
    if args.json:
        print(printable_json([{"incident_id": r.incident_id, "severity": r.severity, "title": r.title,
                               "regime": r.regime, "name": r.name, "notify": list(r.notify),
                               "aware_at": iso_z(r.aware_at), "due_at": iso_z(r.due_at),
                               "remaining_seconds": int((r.due_at - now).total_seconds()),
                               "overdue": now > r.due_at} for r in running]))
        return 0
    if not running:
        print("No regulatory clock is running.")
        return 0
    for r in running:
        print(f"{r.incident_id:<18} {r.regime:<8} due {_short(r.due_at)}  "
              f"{_left(int((r.due_at - now).total_seconds())):<20} notify {shown(', '.join(r.notify))}")
    return 0

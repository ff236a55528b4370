"""`incident-response oncall`: who is on call on each schedule ([schedules.NAME] in
config.toml), until when, and the next handoffs; and overrides on top of the rotation.

  incident-response oncall [--at INSTANT] [--json] [--next N]
  incident-response oncall override SCHEDULE NAME --for 2h [--from INSTANT]
  incident-response oncall override SCHEDULE NAME --from INSTANT --until INSTANT
  incident-response oncall override --cancel ID
  incident-response oncall overrides [--json]          # overrides not cancelled and not ended

An INSTANT is ISO 8601 (`2026-03-29T09:00:00+02:00`, `2026-03-29T07:00Z`); without an offset
it is UTC. Overrides are recorded on the audit chain (an event of no incident).
"""
from __future__ import annotations

import argparse
from datetime import datetime

from tui.commands.spans import instant, span

HELP = {"oncall": "who is on call on each schedule and until when; set or cancel an override"}
ACTIONS = ("override", "overrides")
NO_SCHEDULES = ("No on-call schedules are configured; add a [schedules.NAME] table (members, rotation, start, "
                "timezone) to config.toml: see docs/configuration.md")


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", choices=ACTIONS, help="override: set or cancel one; overrides: list them")
    parser.add_argument("words", nargs="*", metavar="SCHEDULE NAME", help="the schedule and who covers it")
    parser.add_argument("--at", metavar="INSTANT", help="who is on call at this instant (default: now)")
    parser.add_argument("--next", type=int, default=3, metavar="N", help="handoffs to show after the current one")
    parser.add_argument("--for", dest="span", metavar="DURATION", help="override length, like 2h or 1d")
    parser.add_argument("--from", dest="starts", metavar="INSTANT", help="override start (default: now)")
    parser.add_argument("--until", dest="ends", metavar="INSTANT", help="override end")
    parser.add_argument("--cancel", metavar="ID", help="cancel this override")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def reads_only(args: argparse.Namespace) -> bool:
    """Who is on call and the overrides list only read (--read-only allows them); setting or
    cancelling an override writes."""
    return args.action != "override"


def _now(ctx) -> datetime:
    """The run's clock (IR_NOW freezes it, as for every command)."""
    from tui.cli import clock_from_environment

    return clock_from_environment()()


def run(name: str, ctx, args: argparse.Namespace) -> int:
    from tui.cli import UsageError

    if args.action is None and args.words:
        raise UsageError(f"{args.words[0]!r} is not an oncall action; accepted: override, overrides")
    if args.next < 0 or args.next > 100:
        raise UsageError(f"--next {args.next} is out of range; accepted: 0 to 100")
    if args.action != "override":
        stray = next((opt for opt, value in (("--for", args.span), ("--from", args.starts), ("--until", args.ends),
                                             ("--cancel", args.cancel)) if value is not None), None)
        if stray:
            raise UsageError(f"{stray} sets an override; accepted: oncall override SCHEDULE NAME {stray} …")
    schedules = ctx.configuration.schedules
    if args.action == "override":
        return _override(ctx, args, schedules)
    if args.action == "overrides":
        return _list_overrides(ctx, args)
    moment = instant(args.at, "--at") if args.at else _now(ctx)
    if not schedules:
        print("{}" if args.json else NO_SCHEDULES)
        return 0
    return _show(ctx, args, schedules, moment)


def _show(ctx, args, schedules, moment: datetime) -> int:
    from playbooks.schedules import Resolver, iso
    from store.oncall import as_overrides, current_overrides
    from tui.cli_output import printable_json, shown

    # Overrides that ended before the instant asked about cannot matter to it.
    overrides = as_overrides(current_overrides(ctx.store, moment))
    answers = {name: Resolver(name, schedule, overrides).at(moment, args.next) for name, schedule in schedules.items()}
    if args.json:
        print(printable_json({
            name: {"on_call": answer.person, "until": iso(answer.until), "overridden": answer.overridden,
                   "timezone": schedules[name].timezone,
                   "next": [{"on_call": shift.person, "from": iso(shift.starts_at), "until": iso(shift.ends_at),
                             "overridden": shift.overridden} for shift in answer.next]}
            for name, answer in answers.items()}))
        return 0
    for name, answer in answers.items():
        zone = schedules[name].timezone
        until = f"until {_local(answer.until, zone)}" if answer.until else "with no handoff ahead"
        override = " (override)" if answer.overridden else ""
        print(f"{shown(name)}: {shown(answer.person)}{override} on call {until}")
        for shift in answer.next:
            ends = f" until {_local(shift.ends_at, zone)}" if shift.ends_at else ""
            override = " (override)" if shift.overridden else ""
            print(f"  then {shown(shift.person)}{override} from {_local(shift.starts_at, zone)}{ends}")
    return 0


def _local(moment: datetime, zone: str) -> str:
    """An instant on the schedule's clock, with its zone's abbreviation (CET, EDT)."""
    from zoneinfo import ZoneInfo

    from playbooks.schedules import aware

    return aware(moment).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def _override(ctx, args, schedules) -> int:
    from tui.cli import UsageError
    from tui.cli_output import shown

    if args.cancel is not None:
        if args.words or args.span or args.starts or args.ends:
            raise UsageError("--cancel takes only the override's id; accepted: oncall override --cancel ID")
        if not args.cancel.isdigit():
            raise UsageError(f"--cancel {args.cancel!r} is not an override id; accepted: a number from "
                             "`incident-response oncall overrides`")
        from store.oncall import cancel_override

        row = cancel_override(ctx.store, int(args.cancel), actor=ctx.actor)
        print(f"Cancelled override {row.id}: {shown(row.person)} on call for {shown(row.schedule)}")
        return 0
    if len(args.words) != 2:
        raise UsageError("an override names a schedule and a person; accepted: "
                         "oncall override SCHEDULE NAME --for 2h | --from INSTANT --until INSTANT")
    schedule, person = args.words
    if schedule not in schedules:
        known = ", ".join(schedules) or "none configured: add a [schedules.NAME] table to config.toml"
        raise UsageError(f"there is no schedule {schedule!r}; accepted: a [schedules.NAME] of config.toml ({known})")
    contacts = ctx.configuration.contacts
    if person not in contacts:
        raise UsageError(f"{person!r} has no [contacts.{person}] table; accepted: names of [contacts.NAME] tables "
                         f"({', '.join(contacts)})")
    starts, ends = span(args.starts, args.span, args.ends, _now(ctx), "an override")
    from playbooks.clock import iso_z
    from store.oncall import add_override

    row = add_override(ctx.store, schedule, person, starts, ends, actor=ctx.actor)
    print(f"Override {row.id}: {shown(person)} on call for {shown(schedule)} from {iso_z(row.starts_at)} "
          f"until {iso_z(row.ends_at)}")
    return 0


def _list_overrides(ctx, args) -> int:
    from playbooks.clock import iso_z
    from store.oncall import current_overrides
    from tui.cli_output import printable_json, shown

    if args.at is not None:
        from tui.cli import UsageError

        raise UsageError("--at asks who is on call; accepted: oncall --at INSTANT, or oncall overrides without it")
    rows = current_overrides(ctx.store, _now(ctx))
    if args.json:
        print(printable_json([{"id": row.id, "schedule": row.schedule, "on_call": row.person,
                               "from": iso_z(row.starts_at), "until": iso_z(row.ends_at),
                               "created_by": row.created_by, "created_at": iso_z(row.created_at)} for row in rows]))
        return 0
    if not rows:
        print("No on-call overrides now or ahead")
        return 0
    for row in rows:
        print(f"{row.id:>4}  {shown(row.schedule)}: {shown(row.person)} from {iso_z(row.starts_at)} "
              f"until {iso_z(row.ends_at)} (by {shown(row.created_by)})")
    return 0


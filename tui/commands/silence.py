"""`incident-response silence`: maintenance windows — alerts and rule breaches whose labels
match declare and page nothing until the silence ends.

  incident-response silence add --match LABEL=VALUE [--match ...] --for 2h [--from INSTANT] --reason TEXT
  incident-response silence add --match LABEL=VALUE ... --until INSTANT [--from INSTANT] --reason TEXT
  incident-response silence list [--all] [--json]        # active and pending (--all: ended and expired too)
  incident-response silence expire ID                     # end it now
  incident-response silence suppressed [ID] [--json]      # the alerts silences held back, newest first

Every matcher must match (`label=value`, `label!=value`; a missing label is empty). A rule of
rules.toml is matched by alertname/rule (its name), service, environment, severity and type.
Adding and expiring are on the audit chain (events of no incident).
"""
from __future__ import annotations

import argparse
from datetime import datetime

from tui.commands.spans import span

HELP = {"silence": "silence alerts and rule breaches for a maintenance window; list, expire, see what was held"}
ACTIONS = ("add", "list", "expire", "suppressed")
USAGE = ("silence add --match LABEL=VALUE --for 2h --reason TEXT | silence list | silence expire ID | "
         "silence suppressed")


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", metavar="ACTION", help="add, list (default), expire or suppressed")
    parser.add_argument("words", nargs="*", metavar="ID", help="the silence (expire, suppressed)")
    parser.add_argument("--match", action="append", default=[], metavar="LABEL=VALUE",
                        help="a label the alerts must have (repeat: all must match); != for must not")
    parser.add_argument("--for", dest="span", metavar="DURATION", help="how long, like 2h or 1d")
    parser.add_argument("--from", dest="starts", metavar="INSTANT", help="when it starts (default: now)")
    parser.add_argument("--until", dest="ends", metavar="INSTANT", help="when it ends")
    parser.add_argument("--reason", metavar="TEXT", help="why (shown with the silence)")
    parser.add_argument("--all", action="store_true", help="list ended and expired silences too")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def reads_only(args: argparse.Namespace) -> bool:
    """list and suppressed only read; add and expire write."""
    return args.action in (None, "list", "suppressed")


def _now() -> datetime:
    from tui.cli import clock_from_environment

    return clock_from_environment()()


def _id(text: str) -> int:
    from tui.cli import UsageError

    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise UsageError(f"{text!r} is not a silence id; accepted: a number from `incident-response silence list`")
    return int(text)


def run(name: str, ctx, args: argparse.Namespace) -> int:
    from tui.cli import UsageError

    action = args.action or "list"
    if action not in ACTIONS:
        raise UsageError(f"{action!r} is not a silence action; accepted: {', '.join(ACTIONS)}")
    if action != "add":
        stray = next((opt for opt, value in (("--match", args.match), ("--for", args.span), ("--from", args.starts),
                                             ("--until", args.ends), ("--reason", args.reason)) if value), None)
        if stray:
            raise UsageError(f"{stray} belongs to `silence add`; accepted: {USAGE}")
    if args.all and action != "list":
        raise UsageError(f"--all belongs to `silence list`; accepted: {USAGE}")
    if action == "add":
        return _add(ctx, args)
    if action == "expire":
        if len(args.words) != 1:
            raise UsageError("expire takes one silence id; accepted: silence expire ID")
        return _expire(ctx, args, _id(args.words[0]))
    if action == "suppressed":
        if len(args.words) > 1:
            raise UsageError("suppressed takes at most one silence id; accepted: silence suppressed [ID]")
        return _suppressed(ctx, args, _id(args.words[0]) if args.words else None)
    if args.words:
        raise UsageError("list takes no arguments; accepted: silence list [--all] [--json]")
    return _list(ctx, args)


def _add(ctx, args) -> int:
    from playbooks.clock import iso_z
    from playbooks.errors import PolicyValueError
    from playbooks.silences import parse_matchers
    from playbooks.validation import checked_text
    from tui.cli import UsageError
    from tui.cli_output import shown

    if args.words:
        raise UsageError(f"add takes its matchers as --match LABEL=VALUE, not {args.words[0]!r}; accepted: {USAGE}")
    try:
        matchers = parse_matchers(args.match)
        reason = checked_text(args.reason, "silence's reason (--reason)")
    except PolicyValueError as exc:
        raise UsageError(str(exc)) from None
    now = _now()
    starts, ends = span(args.starts, args.span, args.ends, now, "a silence")
    if ends <= starts:
        raise UsageError(f"the silence ends ({iso_z(ends)}) before it starts ({iso_z(starts)}); accepted: an end "
                         "after the start")
    if ends <= now:
        raise UsageError(f"the silence would end at {iso_z(ends)}, already past; accepted: an end in the future")
    from store.silences import add_silence

    row = add_silence(ctx.store, matchers, starts, ends, reason=reason, actor=ctx.actor)
    print(f"Silence {row.id}: {shown(_matchers(row))} from {iso_z(row.starts_at)} until {iso_z(row.ends_at)} "
          f"({shown(row.reason)})")
    return 0


def _expire(ctx, args, silence_id: int) -> int:
    from playbooks.clock import iso_z
    from store.silences import expire_silence
    from tui.cli_output import shown

    row = expire_silence(ctx.store, silence_id, actor=ctx.actor)
    print(f"Expired silence {row.id} ({shown(_matchers(row))}) at {iso_z(row.expired_at)}; "
          f"it suppressed {row.suppressed} alert(s)")
    return 0


def _matchers(row) -> str:
    return ", ".join(str(m) for m in row.matchers)


def _list(ctx, args) -> int:
    from playbooks.clock import iso_z
    from store.silences import list_silences
    from tui.cli_output import printable_json, shown

    now = _now()
    rows = list_silences(ctx.store, now, include_past=args.all)
    if args.json:
        print(printable_json([{
            "id": row.id, "state": row.state(now),
            "matchers": [{"label": m.label, "operator": "=" if m.equal else "!=", "value": m.value}
                         for m in row.matchers],
            "from": iso_z(row.starts_at), "until": iso_z(row.ends_at), "reason": row.reason,
            "created_by": row.created_by, "created_at": iso_z(row.created_at),
            "expired_at": iso_z(row.expired_at), "expired_by": row.expired_by, "suppressed": row.suppressed,
        } for row in rows]))
        return 0
    if not rows:
        print("No silences" + (" at all" if args.all else " active or ahead"))
        return 0
    for row in rows:
        print(f"{row.id:>4}  {row.state(now):<8} {shown(_matchers(row))} from {iso_z(row.starts_at)} until "
              f"{iso_z(row.ends_at)}: {shown(row.reason)} (by {shown(row.created_by)}; "
              f"{row.suppressed} suppressed)")
    return 0


def _suppressed(ctx, args, silence_id: int | None) -> int:
    from playbooks.clock import iso_z
    from store.silences import suppressed_alerts
    from tui.cli_output import printable_json, shown

    rows = suppressed_alerts(ctx.store, silence_id=silence_id)
    if args.json:
        print(printable_json([{"silence": row.silence_id, "at": iso_z(row.at), "source": row.source,
                               "title": row.title, "dedup_key": row.dedup_key, "labels": row.labels}
                              for row in rows]))
        return 0
    if not rows:
        print("No alerts were suppressed" + (f" by silence {silence_id}" if silence_id is not None else ""))
        return 0
    for row in rows:
        labels = ", ".join(f"{name}={value}" for name, value in sorted(row.labels.items()))
        print(f"{iso_z(row.at)}  silence {row.silence_id}  {shown(row.source)}: {shown(row.title)} "
              f"[{shown(labels)}]")
    return 0

"""After the incident, from the shell: the root cause analysis, the post-incident review
and the action items (which can become Jira tickets).

  incident-response rca ID [--root-cause T] [--detail T]... [--factor T]... [--impact T]
                           [--customers N] [--cost X] [--export md|html|json] [-o FILE [--force]]
  incident-response review ID [--at ISO] [--attendee NAME]... [--facilitator NAME]
                              [--note ITEM=TEXT]... [--lesson T]... [--held] [--export ...] [-o FILE [--force]]
  incident-response action add ID TITLE... --category immediate|short-term|long-term|process
                                           [--owner NAME] [--due YYYY-MM-DD]
  incident-response action done|reopen|ticket N
  incident-response action edit N [--title T] [--owner NAME] [--due YYYY-MM-DD] [--category C] [--status S]
  incident-response actions [--all] [--json]     # open (and overdue) items across incidents

With no change asked for, `rca` and `review` print the document (Markdown by default).
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from tui.cli_output import printable_json, shown  # light: stored text printed as data

HELP = {
    "rca": "edit or print an incident's root cause analysis (md, html, json)",
    "review": "schedule, note and hold the post-incident review, or print its agenda (md, html, json)",
    "action": "add an action item, or mark one done, reopen, edit it or make it a Jira ticket",
    "actions": "list open and overdue action items across incidents",
}
FORMATS = ("md", "html", "json")
ACTION_VERBS = ("add", "done", "reopen", "ticket", "edit")


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    if name in ("rca", "review"):
        parser.add_argument("id", help="the incident id")
    if name == "rca":
        parser.add_argument("--root-cause", metavar="TEXT", help="the root cause, one sentence")
        parser.add_argument("--detail", action="append", default=[], metavar="TEXT",
                            help="a detail of the root cause (repeat; added to those there)")
        parser.add_argument("--factor", action="append", default=[], metavar="TEXT",
                            help="a contributing factor (repeat; added to those there)")
        parser.add_argument("--impact", metavar="TEXT", help="who or what was affected, e.g. '100%% of users'")
        parser.add_argument("--customers", metavar="N", help="customers affected")
        parser.add_argument("--cost", metavar="X", help="estimated cost, in the policy's currency")
    if name == "review":
        parser.add_argument("--at", metavar="ISO", help="when the review meets, e.g. 2024-01-22T15:00:00Z")
        parser.add_argument("--attendee", action="append", default=[], metavar="NAME", help="an attendee (repeat)")
        parser.add_argument("--facilitator", metavar="NAME", help="who runs the meeting")
        parser.add_argument("--note", action="append", default=[], metavar="ITEM=TEXT",
                            help="notes for agenda item 1-5 (or its name: overview, root, action, learning, follow)")
        parser.add_argument("--lesson", action="append", default=[], metavar="TEXT", help="a lesson learned (repeat)")
        parser.add_argument("--held", action="store_true", help="the review took place now")
    if name in ("rca", "review"):
        parser.add_argument("--export", metavar="FORMAT", help="md, html or json (default: md to standard output)")
        parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE (or DIR/) instead of standard output")
        parser.add_argument("--force", action="store_true", help="replace FILE if it exists")
    if name == "action":
        parser.add_argument("verb", metavar="add|done|reopen|ticket|edit", help="what to do")
        parser.add_argument("words", nargs="*", metavar="ARG", help="add: ID TITLE...; the others: the item number N")
        parser.add_argument("--category", help="immediate, short-term, long-term or process")
        parser.add_argument("--owner", metavar="NAME", help="who does it")
        parser.add_argument("--due", metavar="YYYY-MM-DD", help="due date")
        parser.add_argument("--title", help="edit: a new title")
        parser.add_argument("--status", help="edit: open, in-progress or done")
    if name == "actions":
        parser.add_argument("--all", action="store_true", help="done items too")
        parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(name: str, ctx, args: argparse.Namespace) -> int:
    return {"rca": _rca, "review": _review, "action": _action, "actions": _actions}[name](ctx, args) or 0


def _format(args: argparse.Namespace) -> str:
    from tui.cli import UsageError

    fmt = (args.export or "md").lower()
    if fmt not in FORMATS:
        raise UsageError(f"--export {args.export} is not a format; accepted: {', '.join(FORMATS)}")
    return fmt


def _emit(text: str, args: argparse.Namespace, default_name: str) -> None:
    from tui.cli import UsageError

    if not args.output:
        from tui.cli_output import printable_document

        print(printable_document(text), end="")  # to a terminal: stored text cannot drive it
        return
    try:
        from store.paths import user_path

        from tui.export import write_export

        path = user_path(args.output, "--output")
        if path.is_dir() or args.output.endswith(os.sep):
            path = path / default_name
        # Owner-only and atomic; never through a symbolic link, never over a file without --force.
        write_export(text, path, force=args.force)
    except OSError as exc:
        raise UsageError(f"cannot write {args.output} ({exc.strerror}); accepted: a writable file or folder path") from None
    print(f"Wrote {path}")


def _rca(ctx, args: argparse.Namespace) -> None:
    from store.review import UNSET, update_rca

    fmt = _format(args)
    store = ctx.store
    edits = {key: value for key, value in (("root_cause", args.root_cause), ("impact", args.impact),
                                           ("customers_affected", args.customers), ("estimated_cost", args.cost))
             if value is not None}
    if edits or args.detail or args.factor:
        update_rca(store, args.id, actor=ctx.actor, add_details=args.detail, add_factors=args.factor,
                   **{key: edits.get(key, UNSET) for key in ("root_cause", "impact", "customers_affected",
                                                             "estimated_cost")})
        if not args.export and not args.output:
            print(f"Root cause analysis of {args.id.upper()} updated ({', '.join([*edits, *(['details'] if args.detail else []), *(['factors'] if args.factor else [])]).replace('_', ' ')})")
            return
    from reports.rca import render_rca
    from store.review_queries import read_rca

    with store.db.read() as session:
        detail = read_rca(session, store.policy, args.id, store.now())
    _emit(render_rca(detail, fmt), args, f"{detail.summary.id}-rca.{fmt}")


def _notes(pairs: list[str]) -> dict[str, str]:
    from tui.cli import UsageError

    notes = {}
    for pair in pairs:
        item, sep, text = pair.partition("=")
        if not sep or not item.strip():
            raise UsageError(f"--note {pair!r} is not ITEM=TEXT; accepted: for example --note 2='Pool limits changed'")
        notes[item.strip()] = text
    return notes


def _review(ctx, args: argparse.Namespace) -> None:
    from store.review import UNSET, update_review

    fmt = _format(args)
    store = ctx.store
    notes = _notes(args.note)
    if args.at or args.attendee or args.facilitator or notes or args.lesson or args.held:
        result = update_review(store, args.id, actor=ctx.actor,
                               scheduled_at=args.at if args.at else UNSET,
                               facilitator=args.facilitator if args.facilitator else UNSET,
                               add_attendees=args.attendee, notes=notes, add_lessons=args.lesson, held=args.held)
        if not args.export and not args.output:
            state = f"held {result.held_at:%Y-%m-%d %H:%M} UTC" if result.held_at else (
                f"scheduled {result.scheduled_at:%Y-%m-%d %H:%M} UTC" if result.scheduled_at else "not scheduled")
            print(f"Post-incident review of {result.incident_id} updated ({state})")
            return
    from reports.pir import render_pir
    from store.review_queries import read_pir

    with store.db.read() as session:
        detail = read_pir(session, store.policy, args.id, store.now())
    _emit(render_pir(detail, fmt), args, f"{detail.summary.id}-pir.{fmt}")


def _action(ctx, args: argparse.Namespace) -> None:
    from playbooks.review import CATEGORY_TAGS
    from store import review
    from tui.cli import UsageError

    verb = args.verb.lower()
    if verb not in ACTION_VERBS:
        raise UsageError(f"action {args.verb!r} is not known; accepted: {', '.join(ACTION_VERBS)}")
    store = ctx.store
    if verb == "add":
        if len(args.words) < 2:
            raise UsageError("action add needs an incident id and a title; accepted: action add ID TITLE --category C")
        if not args.category:
            raise UsageError("action add needs --category; accepted: immediate, short-term, long-term, process")
        item = review.add_action_item(store, args.words[0], " ".join(args.words[1:]), actor=ctx.actor,
                                      category=args.category, owner=args.owner, due=args.due)
        print(f"Action item {item.id} added to {item.incident_id}: [{CATEGORY_TAGS[item.category]}] {shown(item.title)}")
        return
    if len(args.words) != 1:
        raise UsageError(f"action {verb} needs one item number; accepted: action {verb} N (numbers from `actions`)")
    number = args.words[0]
    if verb == "done":
        item = review.complete_action_item(store, number, actor=ctx.actor)
        print(f"Action item {item.id} done: {shown(item.title)}")
    elif verb == "reopen":
        item = review.reopen_action_item(store, number, actor=ctx.actor)
        print(f"Action item {item.id} reopened: {shown(item.title)}")
    elif verb == "ticket":
        item = review.ticket_action_item(store, number, actor=ctx.actor)
        print(f"Action item {item.id} is on its way to Jira; its key appears once delivered (watch or the command center)")
    else:
        changes = {key: value for key, value in (("title", args.title), ("owner", args.owner), ("due", args.due),
                                                 ("category", args.category), ("status", args.status))
                   if value is not None}
        item = review.update_action_item(store, number, actor=ctx.actor, **changes)
        print(f"Action item {item.id} updated: [{CATEGORY_TAGS[item.category]}] {shown(item.title)} ({item.status})")


def _actions(ctx, args: argparse.Namespace) -> None:
    from store.review_queries import read_action_items

    store = ctx.store
    with store.db.read() as session:
        rows = read_action_items(session, store.now(), include_done=args.all)
    if args.json:
        print(printable_json([row.as_json() for row in rows]))
        return
    if not rows:
        print("No open action items.")
        return
    overdue = sum(1 for row in rows if row.overdue)
    print(f"{len(rows)} action item(s), {overdue} overdue")
    for row in rows:
        flag = "OVERDUE " if row.overdue else ""
        facts = ", ".join(part for part in (row.owner or "no owner", f"due {row.due_on.isoformat()}" if row.due_on else
                                            "no due date", row.status, row.ticket or "") if part)
        print(f"{row.id:>4}  {flag}{row.incident_id} [{row.tag}] {shown(row.title)} ({shown(facts)})")

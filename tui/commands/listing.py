"""Reading incidents from the shell: the list and one incident in full.

  incident-response list [--status open|all|STATUS] [--severity S] [--type T] [--env E] [--limit N] [--json]
  incident-response show ID [--json]

Both only read; stored text is printed as data (tui/cli_output.py).
"""
from __future__ import annotations

import argparse

HELP = {
    "list": "list incidents",
    "show": "show one incident with its policy, checklist, roles and timeline",
}
MAX_LIST = 1_000_000


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    if name == "list":
        parser.add_argument("--status", default="open", help="open (default), all, or one status")
        parser.add_argument("--severity")
        parser.add_argument("--type")
        parser.add_argument("--env", "--environment", dest="env")
        parser.add_argument("--limit", type=int, default=None)
    else:
        parser.add_argument("id")


def run(name: str, ctx, args: argparse.Namespace) -> int:
    if name == "list":
        return _list(ctx, args)
    return _show(ctx, args)


def _list(ctx, args: argparse.Namespace) -> int:
    from store.queries import list_incidents
    from tui.cli import UsageError
    from tui.cli_output import incident_table, printable_json

    policy = ctx.policy
    status = args.status.lower()
    if status not in ("open", "all"):
        try:
            status = policy.status(status)
        except ValueError as exc:
            raise UsageError(f"{exc}, open, all") from None
    if args.limit is not None and not 1 <= args.limit <= MAX_LIST:
        raise UsageError(f"--limit {args.limit} is out of range; accepted: 1 to {MAX_LIST}")
    filters = {
        "severity": policy.level(args.severity).id if args.severity else None,
        "incident_type": policy.workflow(args.type).type if args.type else None,
        "environment": None if not args.env or args.env == "all" else policy.environment(args.env),
    }
    with ctx.store.db.read() as session:
        rows = list_incidents(session, status=status, limit=args.limit, **filters)
    if args.json:
        print(printable_json([row.as_json() for row in rows]))
    else:
        print(incident_table(rows, ctx.store.now()))
    return 0


def _show(ctx, args: argparse.Namespace) -> int:
    from tui.cli_output import incident_text, printable_json

    detail = ctx.detail(args.id)
    if args.json:
        print(printable_json(detail.as_json()))
    else:
        print(incident_text(detail))
    return 0

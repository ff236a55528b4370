"""`incident-response audit`: verify the timeline's hash chain, or print its head to keep.

  incident-response audit verify [--anchor FILE|HASH] [--json]
  incident-response audit anchor [--output FILE [--force]] [--json]

Keyed with IR_AUDIT_KEY (or IR_AUDIT_KEY_FILE) when one is set. verify exits 1 when the
chain does not hold.
"""
from __future__ import annotations

import argparse

HELP = {"audit": "verify the timeline's hash chain (keyed with IR_AUDIT_KEY), or print its head to keep"}


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("action", choices=("verify", "anchor"))
    parser.add_argument("--anchor", metavar="FILE|HASH", help="verify: the chain must still hold this anchor")
    parser.add_argument("--output", "-o", metavar="FILE", help="anchor: also write it to FILE (owner-only)")
    parser.add_argument("--force", action="store_true", help="anchor: replace FILE if it exists")


def run(name: str, ctx, args: argparse.Namespace) -> int:
    from store.audit import current_anchor, verify_chain
    from tui.cli import UsageError
    from tui.cli_output import printable_json

    if args.action == "anchor":
        if args.anchor:
            raise UsageError("--anchor goes with `audit verify`; accepted: audit anchor [--output FILE [--force]]")
        with ctx.store.db.read() as session:
            anchor = current_anchor(session)
        if args.output:
            from store.files import write_private_file
            from store.paths import user_path

            write_private_file(user_path(args.output, "--output"), anchor.line() + "\n", force=args.force)
        if args.json:
            print(printable_json(anchor.as_json()))
        else:
            print(anchor.line())
        return 0
    if args.output or args.force:
        raise UsageError("--output and --force go with `audit anchor`; accepted: audit verify [--anchor FILE|HASH]")
    anchor = _anchor_argument(args.anchor) if args.anchor else None
    with ctx.store.db.read() as session:
        result = verify_chain(session, key=ctx.audit_key, anchor=anchor)
    if args.json:
        print(printable_json({"ok": result.ok, "events_checked": result.events_checked, "problem": result.problem,
                              "seq": result.seq, "keyed": result.keyed, "incidents_checked": result.incidents_checked,
                              "anchor_seq": result.anchor_seq}))
    else:
        print(result.sentence())
    return 0 if result.ok else 1


def _anchor_argument(value: str):
    """--anchor: a file `audit anchor --output` wrote, the line it printed, or a bare hash."""
    from pathlib import Path

    from store.audit import ANCHOR_FORMS, parse_anchor
    from tui.cli import UsageError

    path = Path(value).expanduser()
    text = value
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8", errors="replace")[:4096]
        except OSError as exc:
            raise UsageError(f"--anchor {value} cannot be read ({exc.strerror}); accepted: {ANCHOR_FORMS}") from None
    try:
        return parse_anchor(text)
    except ValueError:
        raise UsageError(f"--anchor {value!r} holds no anchor; accepted: {ANCHOR_FORMS}") from None

"""An incident out of the store and history into it.

  incident-response export ID [--format json|md|svg|html] [-o FILE|DIR/ [--force]]
  incident-response import FILE

json (re-importable) and md (the handover) go to standard output unless -o names a file;
svg (the war room) and html (both) are written to a file, by default in the current folder.
`import` checks the whole file against the policy before a database is opened.
"""
from __future__ import annotations

import argparse

HELP = {
    "export": "write an incident: json (re-importable), md (handover), svg (war room), html (both)",
    "import": "import historical incidents from a JSON file",
}


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    if name == "import":
        parser.add_argument("file")
        return
    parser.add_argument("id")
    parser.add_argument("--format", choices=("json", "md", "svg", "html"), default="json")
    parser.add_argument("--output", "-o", help="file or folder to write (default: standard output for json and md, "
                        "the current folder for svg and html)")
    parser.add_argument("--force", action="store_true", help="replace the file if it exists")


def run(name: str, ctx, args: argparse.Namespace) -> int:
    if name == "import":
        return _import(ctx, args)
    return _export(ctx, args)


def _export(ctx, args: argparse.Namespace) -> int:
    """json and md go to standard output (or -o FILE); svg and html to a file, by default
    INC-...-war-room.svg / INC-...-handover.html in the current directory."""
    import os

    from tui.cli import UsageError

    detail = ctx.detail(args.id)
    if args.format == "json":
        from store.transfer import export_json

        text, default_name = export_json(detail.as_json()) + "\n", None
    elif args.format == "md":
        from playbooks.clock import iso_z
        from reports.handover import handover_markdown

        text, default_name = handover_markdown(detail, iso_z(ctx.store.now())), None
    else:
        from tui.export import export_files

        text, default_name = export_files(ctx.store, detail.id, args.format, ctx.actor)
    target = args.output or default_name
    if target is None:
        from tui.cli_output import printable_document

        print(printable_document(text), end="")  # to a terminal: stored text cannot drive it
        return 0
    try:
        from store.paths import user_path
        from tui.export import write_export

        path = user_path(target, "--output")
        if path.is_dir() or target.endswith(os.sep):
            path = path / (default_name or f"{detail.id}.{args.format}")
        # Owner-only and atomic; never through a symbolic link, never over a file without --force.
        write_export(text, path, force=args.force)
    except OSError as exc:
        raise UsageError(f"cannot write {target} ({exc.strerror}); accepted: a writable file or folder path") from None
    print(f"Wrote {path}")
    return 0


def _import(ctx, args: argparse.Namespace) -> int:
    from pathlib import Path
    from types import SimpleNamespace

    from store.transfer import import_incidents, read_import
    from tui.cli import clock_from_environment

    # The whole file is checked against the policy before the database is opened (or created).
    records = read_import(SimpleNamespace(policy=ctx.policy, now=clock_from_environment()), Path(args.file))
    ids = import_incidents(ctx.store, records, actor=ctx.actor)
    print(f"Imported {len(ids)} incident(s)" + (f": {ids[0]} .. {ids[-1]}" if ids else ""))
    return 0

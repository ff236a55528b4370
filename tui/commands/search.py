"""`incident-response search`: has this happened before?

  incident-response search TEXT [--json] [--limit N]

Every incident (open, resolved or closed) whose title, a note, a status update or its root
cause analysis holds every word of TEXT, best match first: id, severity, status, title and
the piece of text that matched. Stored text is printed as data (one line per field,
unprintable characters escaped).
"""
from __future__ import annotations

import argparse

HELP = {"search": "full-text search over every incident's title, notes, status updates and root cause"}
MAX_LIMIT = 1000


def _limit(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"--limit {value!r} is not a count; accepted: a whole number "
                                         f"from 1 to {MAX_LIMIT}")
    return number


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", nargs="+", help="words to find (all of them, in any order; stems match)")
    parser.add_argument("--json", action="store_true", help="print the matches as JSON")
    parser.add_argument("--limit", type=_limit, default=20, metavar="N", help="at most N incidents (default 20)")


def search_table(hits) -> list[str]:
    """The matches as aligned lines, every stored field escaped before it is padded."""
    from tui.cli_output import shown

    lines = [f"{'ID':<18} {'SEV':<5} {'STATUS':<13} {'IN':<6}  TITLE"]
    for hit in hits:
        id_, severity, status, kind, title = map(shown, (hit.id, hit.severity, hit.status, hit.kind, hit.title))
        lines.append(f"{id_:<18} {severity:<5} {status:<13} {kind:<6}  {title}")
        if hit.kind != "title":  # a title match is the title: no need to say it twice
            lines.append(f"{'':<18} {shown(hit.snippet)}")
    return lines


def run(name: str, ctx, args: argparse.Namespace) -> int:
    import sys

    from store.search import search_incidents
    from tui.cli_output import printable_json, shown

    query = " ".join(args.text)
    with ctx.store.db.read() as session:
        results = search_incidents(session, query, limit=args.limit)
    if results.note:
        print(f"note: {results.note}", file=sys.stderr)
    if args.json:
        print(printable_json({"query": query, "method": results.method,
                              "incidents": [hit.as_json() for hit in results.hits]}))
        return 0
    if not results.hits:
        print(f"No incident mentions {shown(query)}.")
        return 0
    print("\n".join(search_table(results.hits)))
    return 0

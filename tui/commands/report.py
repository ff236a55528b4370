"""`incident-response report`: the monthly (or yearly) incident report.

  incident-response report [--month YYYY-MM | --year YYYY] [--format text|md|html|json] [--output FILE [--force]]

Without --month or --year it reports the current month to date (by the clock, IR_NOW
included).
"""
from __future__ import annotations

import argparse

HELP = {
    "report": "monthly incident report: counts, MTTD/MTTA/MTTR (mean, median, p90), SLA share, trend, "
              "improvements (default: this month to date)",
}
FORMATS = ("text", "md", "html", "json")


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    period = parser.add_mutually_exclusive_group()
    period.add_argument("--month", metavar="YYYY-MM",
                        help="the UTC month by declaration time (default: the current month to date)")
    period.add_argument("--year", metavar="YYYY", help="a whole UTC year, with a line per month")
    parser.add_argument("--format", default="text",
                        help="text (default), md, html (self-contained, with charts) or json")
    parser.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")
    parser.add_argument("--force", action="store_true", help="replace FILE if it exists")


def run(name: str, ctx, args: argparse.Namespace) -> int:
    from reports.monthly import read_chart_series, read_period_report
    from reports.periods import current_month, parse_month, parse_year
    from reports.report_formats import render
    from tui.cli import UsageError

    if args.format not in FORMATS:
        raise UsageError(f"format {args.format} is not a report format; accepted: {', '.join(FORMATS)}")
    # Check the words before a database is opened.
    if args.year is not None:
        period = parse_year(args.year)
    elif args.month is not None:
        period = parse_month(args.month)
    else:
        period = None
    store = ctx.store
    period = period or current_month(store.now())
    report = read_period_report(store, period)
    charts = read_chart_series(store, period) if args.format == "html" else None
    names = {level.id: level.name for level in store.policy.levels}
    text = render(report, args.format, charts=charts, names=names)
    if args.output:
        from store.paths import user_path
        from tui.export import write_export

        target = user_path(args.output, "--output")
        try:  # owner-only and atomic; never through a symbolic link, never over a file without --force
            write_export(text, target, force=args.force)
        except OSError as exc:
            raise UsageError(f"cannot write {target} ({exc.strerror}); accepted: a writable file path") from None
        print(f"Wrote the {period.label} report ({args.format}) to {target}")
    else:
        from tui.cli_output import printable_document

        print(printable_document(text), end="")  # to a terminal: stored text cannot drive it
    return 0

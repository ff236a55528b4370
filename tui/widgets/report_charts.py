"""The Reports screen's panes, drawn with Rich text: the month's figures, incidents per
week by severity (stacked bars), MTTD/MTTA/MTTR per month, and completed improvements.

Each gets the typed report or chart series of reports.monthly (reports/report_model.py)
through a reactive, and draws to its own size: nothing here reads the store.
"""
from __future__ import annotations

import calendar
from datetime import timedelta
from operator import attrgetter

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from reports.report_model import Improvement, MonthMeans, PeriodReport
from tui.formatting import SPARK
from tui.plain import visible

SEVERITIES = ("SEV-1", "SEV-2", "SEV-3", "SEV-4")
BAR_STYLE = {"SEV-1": "red1", "SEV-2": "dark_orange", "SEV-3": "yellow1", "SEV-4": "dodger_blue1"}
BLOCK = "█"


def num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1f}%"


def month_name(key: str, short: bool = False) -> str:
    year, month = map(int, key.split("-"))
    return calendar.month_abbr[month] if short else f"{calendar.month_name[month]} {year}"


class ReportFigures(Widget):
    """Total, by severity, MTTx mean / median / p90, within SLA, trend."""

    report: reactive[PeriodReport | None] = reactive(None)

    def render(self):
        report = self.report
        if report is None:
            return Text("Loading the report…", style="dim")
        trend, figures = report.trend, report.figures
        vs = month_name(trend.vs, short=True) if len(trend.vs) == 7 else trend.vs
        head = Text.assemble(("Incidents ", "bold"), (str(figures.total), "bold"),
                             (f"  {pct(trend.total_pct)} vs {vs}", "dim"))
        severities = Text()
        for severity in SEVERITIES:
            severities.append(f"{severity} ", style=BAR_STYLE[severity])
            severities.append(f"{figures.count_of(severity)}  ")
        table = Table.grid(padding=(0, 1))
        table.add_column(no_wrap=True)
        for _ in range(4):
            table.add_column(justify="right", no_wrap=True)
        table.add_row(Text(""), Text("mean", style="dim"), Text("median", style="dim"), Text("p90", style="dim"),
                      Text("trend", style="dim"))
        for label, stats, change in (("MTTD min", figures.mttd_minutes, trend.mttd_pct),
                                     ("MTTA min", figures.mtta_minutes, trend.mtta_pct),
                                     ("MTTR h", figures.mttr_hours, trend.mttr_pct)):
            table.add_row(label, num(stats.mean), num(stats.median), num(stats.p90), pct(change))
        sla = figures.within_sla_pct
        sla_text = Text.assemble(("Within SLA ", "bold"), ("-" if sla is None else f"{sla:.1f}%", "bold"),
                                 (" acknowledged in time", "dim"))
        definitions = [Text(line, style="dim", no_wrap=True, overflow="ellipsis") for line in
                       ("MTTD detected−started  MTTA ack−detected", "MTTR resolved−detected  p90 nearest rank")]
        return Group(head, severities, table, sla_text, *definitions)


class WeeklyChart(Widget):
    """Incidents per week, one stacked bar per week (SEV-4 at the bottom, SEV-1 on top)."""

    weeks: reactive[tuple] = reactive(tuple)  # of WeekCounts

    def render(self):
        weeks = list(self.weeks)
        if not weeks:
            return Text("Loading…", style="dim")
        width, height = self.size.width, self.size.height
        gutter = 4
        plot_h = max(2, height - 2)  # under it: month labels and the legend
        room = max(1, width - gutter)
        step = 2 if room >= 2 * len(weeks) else 1
        weeks = weeks[-(room // step):]
        totals = [sum(w.count_of(s) for s in SEVERITIES) for w in weeks]
        peak = max(totals) or 1
        # For each week: the severity filling each row, bottom up.
        columns = []
        for week in weeks:
            cells: list[str | None] = []
            running = 0
            for severity in reversed(SEVERITIES):
                running += week.count_of(severity)
                top = round(running / peak * plot_h)
                cells += [severity] * (top - len(cells))
            columns.append(cells)
        lines = []
        for row in range(plot_h - 1, -1, -1):
            label = f"{peak:>3}┤" if row == plot_h - 1 else ("  0┤" if row == 0 else "   │")
            line = Text(label, style="dim")
            for cells in columns:
                severity = cells[row] if row < len(cells) else None
                line.append(BLOCK if severity else " ", style=BAR_STYLE.get(severity or "", ""))
                if step == 2:
                    line.append(" ")
            lines.append(line)
        axis = [" "] * (gutter + len(weeks) * step)
        previous_month = None
        for i, week in enumerate(weeks):
            month = (week.week + timedelta(days=6)).isoformat()[:7]  # the month its Sunday is in
            if month != previous_month:
                previous_month = month
                name = month_name(month, short=True)
                at = gutter + i * step
                if all(c == " " for c in axis[at:at + len(name) + 1]) and at + len(name) <= len(axis):
                    axis[at:at + len(name)] = name
        lines.append(Text("".join(axis)[:width], style="dim"))
        wide = width >= gutter + 4 * 9
        legend = Text(" " * gutter if wide else "")
        for severity in SEVERITIES:
            legend.append("■ ", style=BAR_STYLE[severity])
            legend.append(f"{severity}  " if wide else f"{severity} ")
        lines.append(legend)
        return Group(*lines)


class MttxChart(Widget):
    """Mean MTTD / MTTA / MTTR per month: a table of months when there is room, else a
    sparkline per metric with the last month's value."""

    months: reactive[tuple] = reactive(tuple)  # of MonthMeans

    METRICS = (("MTTD", attrgetter("mttd_minutes"), "min"), ("MTTA", attrgetter("mtta_minutes"), "min"),
               ("MTTR", attrgetter("mttr_hours"), "h"))

    def render(self):
        months = list(self.months)
        if not months:
            return Text("Loading…", style="dim")
        if self.size.width >= 12 + 9 * len(months):
            return self._table(months)
        return self._sparklines(months)

    @staticmethod
    def _bar(value: float | None, high: float) -> str:
        if value is None or high <= 0:
            return " "
        return SPARK[min(len(SPARK) - 1, int(value / high * (len(SPARK) - 1) + 0.5))]

    def _table(self, months: list[MonthMeans]) -> Table:
        table = Table.grid(padding=(0, 1))
        table.add_column(no_wrap=True)
        for _ in months:
            table.add_column(justify="right", no_wrap=True)
        table.add_row(Text("mean", style="dim"), *(Text(month_name(m.month, short=True), style="dim")
                                                   for m in months))
        for label, metric, unit in self.METRICS:
            values = [metric(m) for m in months]
            high = max((v for v in values if v is not None), default=0)
            table.add_row(f"{label} {unit}", *(Text.assemble((self._bar(v, high), "cyan"), f" {num(v)}")
                                              for v in values))
        return table

    def _sparklines(self, months: list[MonthMeans]) -> Group:
        lines = []
        first, last = month_name(months[0].month, short=True), month_name(months[-1].month, short=True)
        lines.append(Text(f"mean, {first}–{last}", style="dim"))
        for label, metric, unit in self.METRICS:
            values = [metric(m) for m in months]
            high = max((v for v in values if v is not None), default=0)
            spark = "".join(self._bar(v, high) for v in values)
            lines.append(Text.assemble(f"{label} ", (spark, "cyan"), f" {num(values[-1])} {unit}"))
        return Group(*lines)


class ImprovementList(Widget):
    """The action items completed in the month."""

    items: reactive[tuple[Improvement, ...]] = reactive(tuple)
    loaded: reactive[bool] = reactive(False)

    def render(self):
        if not self.loaded:
            return Text("Loading…", style="dim")
        if not self.items:
            return Text("None completed this month.", style="dim")
        lines = []
        for item in self.items:
            # An action item's title is stored text: escaped, never sent to the terminal raw.
            lines.append(Text.assemble("• ", visible(item.title), (f"  {visible(item.incident_id)}, "
                                                                   f"{visible(item.category)}, {item.completed_on}",
                                                                   "dim")))
        return Group(*lines)

"""The dashboard's three smaller panes: System Health, Recent Anomalies, Active Remediation."""
from __future__ import annotations

from datetime import datetime

from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from store.dashboard import AnomalyRow, MetricHealth, RemediationRow
from tui.formatting import METRIC_LABELS, change_from_baseline, clock_time, elapsed, metric_value, sparkline


class HealthPane(Static):
    """Each metric: value, change from baseline with an arrow, and a sparkline."""

    health: reactive[tuple[MetricHealth, ...]] = reactive(tuple, layout=False)

    def render(self):
        if not any(h.value is not None for h in self.health):
            return Text("No metric source is configured yet: live health will appear here "
                        "once a source reports (host metrics, Prometheus, ...).", style="dim")
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True, justify="right")
        table.add_column(no_wrap=True, overflow="ellipsis")
        table.add_column(no_wrap=True, ratio=1)
        spark_width = max(0, self.size.width - 44)
        for h in self.health:
            label, _ = METRIC_LABELS.get(h.metric, (h.metric, ""))
            if h.value is None:
                table.add_row(label, "-", Text("no data", style="dim"), "")
                continue
            change = change_from_baseline(h.metric, h.value, h.baseline)
            style = "red" if change.startswith("⬆") and h.metric != "throughput" else "yellow" if change.startswith("⬇") and h.metric == "throughput" else ""
            table.add_row(label, metric_value(h.metric, h.value), Text(change, style=style),
                          Text(sparkline(h.series, spark_width), style="cyan"))
        return table


class AnomalyPane(Static):
    anomalies: reactive[tuple[AnomalyRow, ...]] = reactive(tuple, layout=False)

    def render(self):
        if not self.anomalies:
            return Text("No anomalies recorded.", style="dim")
        text = Text()
        for index, anomaly in enumerate(self.anomalies):
            if index:
                text.append("\n")
            text.append(clock_time(anomaly.at), style="bold")
            text.append(f" {anomaly.description}")
        text.no_wrap = True
        text.overflow = "ellipsis"
        return text


class RemediationPane(Static):
    remediation: reactive[tuple[RemediationRow, ...]] = reactive(tuple, layout=True)
    now: datetime | None = None

    def render(self):
        if not self.remediation:
            return Text("No remediation in progress.", style="dim")
        text = Text(no_wrap=True, overflow="ellipsis")
        for index, action in enumerate(self.remediation):
            if index:
                text.append("\n")
            text.append(action.incident_id[-8:], style="bold")
            text.append(f" {action.description}")
            text.append(f"  since {clock_time(action.started_at)}", style="dim")
        return text

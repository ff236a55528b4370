"""The dashboard's three smaller panes: System Health, Recent Anomalies, Active Remediation."""
from __future__ import annotations


from datetime import datetime, timedelta
from typing import TYPE_CHECKING


from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

if TYPE_CHECKING:
    from store.dashboard import AnomalyRow, MetricHealth, RemediationRow
from tui.formatting import METRIC_LABELS, SHORT_LABELS, change_from_baseline, clock_time, metric_value, sparkline
from tui.plain import plain


STALE_AFTER = timedelta(minutes=2)  # no fresh sample for this long: the source is not reporting


def this_host() -> str:
    """This machine's name (a function, so tests and snapshots can name a fixed one)."""
    import socket

    return socket.gethostname()


def health_sources_label(health: tuple["MetricHealth", ...], hostname: str) -> str:
    """Where the figures come from: "this host: jump-1" for the host source (a jump host's own
    CPU is not production's), else the sources' names ("prometheus"); "" before any sample."""
    sources = []
    for h in health:
        if h.source and h.source not in sources:
            sources.append(h.source)
    return ", ".join(f"this host: {hostname}" if source == "host" else source for source in sources)


class HealthPane(Static):
    """Each metric: value, change from baseline with an arrow, and a sparkline; a metric
    whose source stopped reporting is marked stale with the age of its last value."""

    now: datetime | None = None
    _stale: frozenset[str] = frozenset()
    _label = ""

    def set_now(self, now: datetime) -> None:
        """Repaint only when a metric goes stale or fresh, not on every load."""
        self.now = now
        stale = frozenset(h.metric for h in self.health if h.at is not None and now - h.at > STALE_AFTER)
        if stale != self._stale:
            self._stale = stale
            self.refresh()

    health: reactive[tuple["MetricHealth", ...]] = reactive(tuple, layout=False)

    def watch_health(self, old: tuple, new: tuple) -> None:
        self._label_pane(new)
        # A new layout only when the number of lines changes; else repaint our lines.
        if (not any(h.value is not None for h in old)) != (not any(h.value is not None for h in new)) \
                or len(old) != len(new):
            self.refresh(layout=True)

    def _label_pane(self, health: tuple) -> None:
        """The pane's title names the source, so nobody reads a jump host's load as production's."""
        pane = self.parent
        if pane is None or not self.is_mounted:
            return
        label = health_sources_label(health, this_host())
        if label == self._label:  # assigning repaints the whole pane, even with the same text
            return
        self._label = label
        # A Text, not a str: a border title string is read as markup, and a source's name is data.
        pane.border_title = Text.assemble("System Health", *((" · ", plain(label)) if label else ()))

    def render(self):
        if not any(h.value is not None for h in self.health):
            from tui.widgets.welcome import metric_sources_text

            # Say what is coming rather than "nothing configured" while the first sample is on its way.
            sources = getattr(getattr(self.app, "settings", None), "metric_sources", ())
            if sources:
                return Text(f"Waiting for the first samples from {metric_sources_text(sources)}.", style="dim")
            return Text("No metric source is configured yet: live health will appear here "
                        "once a source reports (host metrics, Prometheus, ...).", style="dim")
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True, justify="right")
        table.add_column(no_wrap=True, overflow="ellipsis")
        table.add_column(no_wrap=True, ratio=1)
        short = self.size.width < 60  # an 80-column terminal: keep every metric on one line
        spark_width = max(0, self.size.width - (32 if short else 48))
        for h in self.health:
            # A metric's name may come from a source's sample: data, like every stored word.
            label = plain(SHORT_LABELS.get(h.metric, h.metric) if short else METRIC_LABELS.get(h.metric, (h.metric, ""))[0])
            if h.value is None:
                table.add_row(label, "-", Text("no data", style="dim"), "")
                continue
            if self.now is not None and h.at is not None and self.now - h.at > STALE_AFTER:
                table.add_row(plain(label.plain, style="dim"), Text(metric_value(h.metric, h.value, short=short), style="dim"),
                              Text(f"STALE since {clock_time(h.at)}", style="bold yellow"), "")
                continue
            change = change_from_baseline(h.metric, h.value, h.baseline, short=short)
            style = "red" if change.startswith("⬆") and h.metric != "throughput" else "yellow" if change.startswith("⬇") and h.metric == "throughput" else ""
            table.add_row(label, metric_value(h.metric, h.value, short=short), Text(change, style=style),
                          Text(sparkline(h.series, spark_width), style="cyan"))
        return table


class AnomalyPane(Static):
    anomalies: reactive[tuple["AnomalyRow", ...]] = reactive(tuple, layout=False)

    def watch_anomalies(self, old: tuple, new: tuple) -> None:
        if len(old) != len(new):
            self.refresh(layout=True)

    def render(self):
        if not self.anomalies:
            return Text("No anomalies recorded.", style="dim")
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(no_wrap=True, style="bold")
        table.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
        for anomaly in self.anomalies:
            table.add_row(clock_time(anomaly.at), plain(anomaly.description))
        return table


class RemediationPane(Static):
    remediation: reactive[tuple["RemediationRow", ...]] = reactive(tuple, layout=True)

    def render(self):
        if not self.remediation:
            return Text("No remediation in progress.", style="dim")
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(no_wrap=True, style="bold")
        table.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
        table.add_column(no_wrap=True, style="dim")
        for action in self.remediation:
            table.add_row(plain(action.incident_id[-8:]), plain(action.description),
                          f"since {clock_time(action.started_at)}")
        return table

"""The typed monthly/yearly report (reports/report_model.py), pure: built from store columns
without a database, its JSON keys in the document's order, and a stored severity outside
SEV-1..SEV-4 (an older row, a restored backup) still loads and renders."""
from __future__ import annotations

import json
from dataclasses import FrozenInstanceError
from datetime import date, datetime

import pytest

from reports.monthly import build_chart_series, build_period_report
from reports.periods import chart_window, parse_month, parse_year
from reports.report_formats import render
from store.reporting import EMPTY, CompletedAction, PeriodColumns, PeriodTotals

NOTHING_BEFORE = PeriodTotals(0, None, None, None)


def columns(*rows: tuple) -> PeriodColumns:
    return PeriodColumns(*zip(*rows))


def test_a_month_is_built_from_columns_and_its_json_keeps_the_document_order():
    month = columns(("SEV-1", 600.0, 120.0, 7200.0, True, 4.5), ("SEV-3", None, 300.0, None, False, None))
    done = CompletedAction("Alarm on pool saturation", "INC-1", "short-term", datetime(2024, 2, 10, 9, 0, 0))
    report = build_period_report(parse_month("2024-02"), [month], PeriodTotals(4, 300.0, 60.0, 3600.0), [done])
    assert report.figures.total == 2 and report.figures.count_of("SEV-1") == 1 and report.figures.count_of("SEV-2") == 0
    assert report.figures.mtta_minutes.mean == 3.5 and report.figures.mttd_minutes.count == 1
    assert report.trend.vs == "2024-01" and report.trend.total_pct == -50.0
    assert report.improvements[0].completed_at == datetime(2024, 2, 10, 9, 0, 0)
    assert report.improvements[0].completed_on == "2024-02-10"
    document = report.as_json()
    assert list(document) == ["month", "total", "by_severity", "mttd_minutes", "mtta_minutes", "mttr_hours",
                              "within_sla_pct", "trend", "customer_satisfaction", "improvements", "definitions"]
    assert document["improvements"] == [{"title": "Alarm on pool saturation", "incident_id": "INC-1",
                                         "category": "short-term", "completed_at": "2024-02-10T09:00:00Z"}]
    assert json.loads(render(report, "json")) == document
    with pytest.raises(FrozenInstanceError):
        report.figures.total = 3  # type: ignore[misc]


def test_a_year_has_its_months_before_the_definitions():
    report = build_period_report(parse_year("2024"), [EMPTY] * 12, NOTHING_BEFORE, [])
    document = report.as_json()
    assert list(document)[0] == "year" and list(document)[-2:] == ["months", "definitions"]
    assert list(document["months"]) == [f"2024-{m:02d}" for m in range(1, 13)]
    assert [m.month for m in report.months] == list(document["months"])


def test_a_severity_outside_the_four_still_loads_and_renders():
    """A row from an older policy keeps its severity: counted after SEV-1..SEV-4, shown as data."""
    month = columns(("P0", 60.0, 60.0, 3600.0, True, None))
    report = build_period_report(parse_month("2024-02"), [month], NOTHING_BEFORE, [])
    assert report.figures.by_severity[-1] == ("P0", 1) and report.figures.count_of("P0") == 1
    assert report.as_json()["by_severity"] == {"SEV-1": 0, "SEV-2": 0, "SEV-3": 0, "SEV-4": 0, "P0": 1}
    assert "└── P0 (P0): 1 incident" in render(report, "text").splitlines()


def test_chart_series_weeks_are_mondays_with_every_severity():
    window = chart_window(parse_month("2024-02"))
    charts = build_chart_series(window, {date(2024, 2, 5): {"SEV-2": 3}},
                                {"2024-02": PeriodTotals(3, 600.0, 1200.0, 7200.0)})
    week = next(w for w in charts.weeks if w.week == date(2024, 2, 5))
    assert week.count_of("SEV-2") == 3 and week.count_of("SEV-1") == 0
    assert week.as_json() == {"week": "2024-02-05", "SEV-1": 0, "SEV-2": 3, "SEV-3": 0, "SEV-4": 0}
    assert charts.months[-1].as_json() == {"month": "2024-02", "total": 3, "mttd_minutes": 10.0,
                                           "mtta_minutes": 20.0, "mttr_hours": 2.0}
    assert all(w.week.weekday() == 0 for w in charts.weeks)

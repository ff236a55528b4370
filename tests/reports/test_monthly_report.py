"""Acceptance 1 of issue 6: a month of incidents with known timestamps, imported through
the documented JSON form, and every figure of the json report checked against values
worked out by hand (tests/reports/dataset.py shows the arithmetic). Both backends."""
from __future__ import annotations

import json

import pytest

from playbooks.errors import PolicyValueError
from reports.monthly import monthly_report, read_monthly_report, yearly_report
from reports.periods import parse_month, parse_year
from reports.report_formats import render
from tests.reports import dataset


@pytest.fixture
def imported(store, clock):
    """Imported through store/transfer.py (the documented JSON form), plus the action items."""
    return dataset.load(store, clock)


def test_every_figure_of_the_february_report_matches_the_hand_computed_values(store, imported):
    report = monthly_report(store, "2024-02")
    assert set(report) == {"month", "total", "by_severity", "mttd_minutes", "mtta_minutes", "mttr_hours",
                           "within_sla_pct", "trend", "customer_satisfaction", "improvements", "definitions"}
    assert {k: v for k, v in report.items() if k != "definitions"} == dataset.FEBRUARY_JSON
    # The json format is the same document.
    assert json.loads(render(read_monthly_report(store, "2024-02"), "json"))["mtta_minutes"] == {
        "mean": 1660.0, "median": 300.0, "p90": 8640.0, "count": 9}


def test_the_definitions_are_stated(store, imported):
    definitions = monthly_report(store, "2024-02")["definitions"]
    assert "detected_at - started_at" in definitions["mttd"]
    assert "acknowledged_at - detected_at" in definitions["mtta"]
    assert "resolved_at - detected_at" in definitions["mttr"]
    assert "nearest-rank" in definitions["p90"]
    assert "drills excluded" in definitions["period"]
    assert "never acknowledged counts as outside once the deadline has passed" in definitions["within_sla"]


def test_january_and_march_by_hand(store, imported):
    january = monthly_report(store, "2024-01")
    # P1, P2 and M (declared 23:59:59 on the 31st); A (declared 00:00:00 on 1 February) is not January's.
    assert january["total"] == 3
    assert january["by_severity"] == {"SEV-1": 0, "SEV-2": 1, "SEV-3": 1, "SEV-4": 1}
    assert january["mttd_minutes"] == {"mean": 20.25, "median": 20.25, "p90": 30.5, "count": 2}
    assert january["mtta_minutes"] == {"mean": 30.0, "median": 30.0, "p90": 40.0, "count": 2}
    assert january["mttr_hours"] == {"mean": 3.0, "median": 3.0, "p90": 4.0, "count": 2}
    assert january["within_sla_pct"] == 66.7  # 2 of 3: M was never acknowledged
    assert january["trend"] == {"vs": "2023-12", "mttd_pct": None, "mtta_pct": None, "mttr_pct": None,
                                "total_pct": None}
    # The item completed on 25 January is January's; the drill's item is nobody's.
    assert [i["title"] for i in january["improvements"]] == ["Cache warm-up after deploys"]
    # P1 4 and P2 3; M has no score; nothing in December to compare with.
    assert january["customer_satisfaction"] == {"mean": 3.5, "scored_incidents": 2, "previous_mean": None,
                                                "change": None, "vs": "2023-12"}

    march = monthly_report(store, "2024-03")
    # N: detected in February, declared at 00:00:00 on 1 March.
    assert march["total"] == 1 and march["by_severity"]["SEV-2"] == 1
    assert march["mttd_minutes"] == {"mean": None, "median": None, "p90": None, "count": 0}
    assert march["mtta_minutes"] == {"mean": 12.0, "median": 12.0, "p90": 12.0, "count": 1}
    assert march["mttr_hours"] == {"mean": 3.0, "median": 3.0, "p90": 3.0, "count": 1}
    assert march["within_sla_pct"] == 100.0
    # vs February: MTTA (12 - 1660) / 1660 = -99.28%; MTTR (3 - 40.2777..) / 40.2777.. = -92.55%; total -90%.
    assert march["trend"] == {"vs": "2024-02", "mttd_pct": None, "mtta_pct": -99.3, "mttr_pct": -92.6,
                              "total_pct": -90.0}
    assert [i["title"] for i in march["improvements"]] == ["Index on search terms"]
    # N has no score: no mean, so no change, though February has one.
    assert march["customer_satisfaction"] == {"mean": None, "scored_incidents": 0, "previous_mean": 4.1,
                                              "change": None, "vs": "2024-02"}


def test_an_empty_month_has_every_key_with_nothing_in_it(store, imported):
    report = monthly_report(store, "2023-06")
    assert report["total"] == 0
    assert report["by_severity"] == {"SEV-1": 0, "SEV-2": 0, "SEV-3": 0, "SEV-4": 0}
    assert report["within_sla_pct"] is None and report["improvements"] == []
    assert report["mttr_hours"] == {"mean": None, "median": None, "p90": None, "count": 0}


def test_the_year_2024_by_hand(store, imported):
    report = yearly_report(store, "2024")
    assert report["year"] == "2024" and report["total"] == 14
    assert report["by_severity"] == {"SEV-1": 2, "SEV-2": 4, "SEV-3": 5, "SEV-4": 3}
    # MTTD: February's 8 + 10 and 30.5 -> sorted 4 6 10 10 12 20 30 30.5 60 60; sum 242.5
    assert report["mttd_minutes"] == {"mean": 24.25, "median": 16.0, "p90": 60.0, "count": 10}
    # MTTA: February's 9 + 20, 40, 12 -> sorted 10 12 20 20 30 40 90 300 810 1080 3960 8640; sum 15012
    assert report["mtta_minutes"] == {"mean": 1251.0, "median": 65.0, "p90": 3960.0, "count": 12}
    # MTTR: February's 9 + 2, 4, 3 -> sorted 1.5 2 2 3 3 4 4 16 24 24 72 216; sum 371.5
    assert report["mttr_hours"] == {"mean": 30.96, "median": 4.0, "p90": 72.0, "count": 12}
    assert report["within_sla_pct"] == 64.3  # 2 + 6 + 1 of 14
    assert report["trend"] == {"vs": "2023", "mttd_pct": None, "mtta_pct": None, "mttr_pct": None, "total_pct": None}
    assert [i["title"] for i in report["improvements"]] == [
        "Cache warm-up after deploys", "Alarm on connection pool saturation", "Runbook for gateway restarts",
        "Index on search terms"]
    months = report["months"]
    assert list(months) == [f"2024-{m:02d}" for m in range(1, 13)]
    assert [months[m]["total"] for m in months] == [3, 10, 1] + [0] * 9
    # Customer satisfaction: January's 4 and 3, February's 20.5 over 5 -> 27.5 / 7 = 3.928.. -> 3.93.
    assert report["customer_satisfaction"] == {"mean": 3.93, "scored_incidents": 7, "previous_mean": None,
                                               "change": None, "vs": "2023"}
    february = {k: v for k, v in dataset.FEBRUARY_JSON.items()
                if k not in ("month", "trend", "customer_satisfaction", "improvements")}
    assert months["2024-02"] == february


@pytest.mark.parametrize("text", ["2024-13", "2024-00", "24-01", "2024-1", "January", "2024-01-05", ""])
def test_a_month_that_is_not_a_month_is_one_sentence(text):
    with pytest.raises(PolicyValueError) as raised:
        parse_month(text)
    assert str(raised.value) == f"month {text} is not a month; accepted: YYYY-MM"


def test_a_year_that_is_not_a_year_is_one_sentence():
    with pytest.raises(PolicyValueError, match=r"^year 24 is not a year; accepted: YYYY$"):
        parse_year("24")


def test_text_report_looks_like_the_spec_and_states_the_definitions(store, imported):
    text = render(read_monthly_report(store, "2024-02"), "text")
    lines = text.splitlines()
    assert lines[:3] == ["Monthly Incident Report", "=======================", ""]
    assert "📊 Incident Statistics (February 2024)" in lines
    for line in ("├── Total Incidents: 10", "├── SEV-1 (Critical): 2 incidents", "└── SEV-4 (Low): 2 incidents",
                 "├── Mean Time to Detection (MTTD): 25.2 minutes (median 16.0, p90 60.0, n=8)",
                 "├── Mean Time to Response (MTTA): 1660.0 minutes (median 300.0, p90 8640.0, n=9)",
                 "└── Mean Time to Resolution (MTTR): 40.3 hours (median 16.0, p90 216.0, n=9)",
                 "├── Detection time (MTTD) grew by 24.7% vs. January 2024",
                 "├── Incidents: 10 (+233.3% vs. January 2024)",
                 "├── 60.0% of incidents acknowledged within their severity's response time",
                 "└── Customer satisfaction: 4.1/5.0 (+0.6 vs. January 2024)",
                 "├── Alarm on connection pool saturation (INC-2024-0201-001, short-term, 2024-02-10)"):
        assert line in lines, line
    assert "nearest-rank" in text and "acknowledged_at - detected_at" in text


def test_markdown_and_html_carry_the_same_figures(store, imported):
    from reports.monthly import chart_series, read_chart_series
    from reports.periods import parse_month

    report = read_monthly_report(store, "2024-02")
    md = render(report, "md")
    assert "| MTTA, time to response (minutes) | 1660.0 | 300.0 | 8640.0 | 9 |" in md
    assert "| SEV-3 (medium) | 4 |" in md
    assert "- Customer satisfaction: 4.1/5.0 (+0.6 vs. January 2024)\n" in md
    charts = chart_series(store, parse_month("2024-02"))
    # 6 months (September 2023 to February 2024) of weeks; February's four SEV-3s are there.
    assert charts["weeks"][0]["week"] == "2023-08-28" and charts["weeks"][-1]["week"] == "2024-02-26"
    assert sum(w["SEV-3"] for w in charts["weeks"]) == 5  # P2 in January + 4 in February
    assert [m["month"] for m in charts["months"]] == ["2023-09", "2023-10", "2023-11", "2023-12", "2024-01",
                                                      "2024-02"]
    assert charts["months"][-1] == {"month": "2024-02", "total": 10, "mttd_minutes": 25.25, "mtta_minutes": 1660.0,
                                    "mttr_hours": 40.28}
    page = render(report, "html", charts=read_chart_series(store, parse_month("2024-02")))
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 4
    assert "<td class=\"n\">1660.0</td>" in page and "src=" not in page and "<script" not in page
    assert "<li>Customer satisfaction: 4.1/5.0 (+0.6 vs. January 2024)</li>" in page


def test_month_to_date_an_unacknowledged_incident_counts_only_once_its_deadline_passed(store, clock):
    """A SEV-4 declared today has a week to be acknowledged: this month's report does not
    count it against the SLA yet; once the deadline is behind, it counts as outside."""
    acked = store.declare("low", "outage", "staging", actor="alice", title="Search slow")
    store.acknowledge(acked.id, actor="bob")
    waiting = store.declare("low", "outage", "staging", actor="alice", title="Logs delayed")
    month = f"{clock():%Y-%m}"
    assert monthly_report(store, month)["within_sla_pct"] == 100.0  # 1 of 1 judged; the other is pending
    clock.moment = waiting.response_due_at
    assert monthly_report(store, month)["within_sla_pct"] == 100.0  # due now, not yet late
    clock.advance(seconds=1)
    assert monthly_report(store, month)["within_sla_pct"] == 50.0

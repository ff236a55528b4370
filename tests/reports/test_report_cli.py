"""`incident-response report` as a user runs it: import history, then ask for the month."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reports import dataset

IR = str(Path(sys.executable).parent / "incident-response")
NOW = "2024-03-10T12:00:00Z"


def ir(*args, db, now=NOW, check=True):
    result = subprocess.run([IR, "--db", db, *args], capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, IR_NOW=now))
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def history(db_url, tmp_path):
    path = tmp_path / "history.json"
    path.write_text(dataset.import_text())
    assert "Imported 15 incident(s)" in ir("import", str(path), db=db_url).stdout
    return db_url


def test_json_report_of_february(history):
    report = json.loads(ir("report", "--month", "2024-02", "--format", "json", db=history).stdout)
    expected = dict(dataset.FEBRUARY_JSON, improvements=[])  # no action items through the CLI here
    assert {k: v for k, v in report.items() if k != "definitions"} == expected


def test_text_report_of_february(history):
    out = ir("report", "--month", "2024-02", db=history).stdout
    assert out.startswith("Monthly Incident Report\n=======================\n")
    assert "├── Total Incidents: 10\n" in out
    assert "├── Mean Time to Response (MTTA): 1660.0 minutes (median 300.0, p90 8640.0, n=9)\n" in out
    assert "├── 60.0% of incidents acknowledged within their severity's response time\n" in out
    assert "└── Customer satisfaction: 4.1/5.0 (+0.6 vs. January 2024)\n" in out
    assert "MTTR: time to resolution = resolved_at - detected_at" in out


def test_default_is_the_current_month_to_date(history):
    out = ir("report", "--format", "json", db=history, now="2024-02-15T00:00:00Z").stdout
    report = json.loads(out)
    # No --month: the month the clock (IR_NOW) is in.
    assert report["month"] == "2024-02" and report["total"] == 10


def test_year_and_files(history, tmp_path):
    target = tmp_path / "2024.html"
    out = ir("report", "--year", "2024", "--format", "html", "--output", str(target), db=history).stdout
    assert out.strip() == f"Wrote the 2024 report (html) to {target}"
    page = target.read_text()
    assert page.count("<svg") == 4 and "Yearly Incident Report — 2024" in page
    year = json.loads(ir("report", "--year", "2024", "--format", "json", db=history).stdout)
    assert year["total"] == 14 and year["months"]["2024-02"]["total"] == 10


@pytest.mark.parametrize("args,message", [
    (["--month", "2024-13"], "month 2024-13 is not a month; accepted: YYYY-MM"),
    (["--year", "24"], "year 24 is not a year; accepted: YYYY"),
    (["--format", "pdf"], "format pdf is not a report format; accepted: text, md, html, json"),
    (["--month", "2024-01", "--year", "2024"], "not allowed with argument"),
])
def test_bad_words_are_one_line_exit_2(tmp_path, args, message):
    db = f"sqlite:///{tmp_path / 'none.db'}"
    result = ir("report", *args, db=db, check=False)
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
    assert not (tmp_path / "none.db").exists()

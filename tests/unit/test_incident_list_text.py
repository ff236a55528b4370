"""`incident-response list`: TITLE starts at one column on every line, however old an incident
is (an age of 1,000 days and 10 hours is nine characters; it once pushed its title right)."""
from datetime import datetime, timedelta

import pytest

from store.read_models.summary import IncidentSummary
from tui.cli_output import incident_table

NOW = datetime(2026, 12, 5, 1, 30)


def summary(number: int, age: timedelta, title: str) -> IncidentSummary:
    declared = NOW - age
    return IncidentSummary(id=f"INC-2024-0118-00{number}", severity="SEV-2", type="outage", environment="production",
                           status="investigating", title=title, declared_at=declared, acknowledged_at=None,
                           response_due_at=declared + timedelta(hours=1), next_update_due_at=None)


@pytest.mark.parametrize("age", [timedelta(seconds=5), timedelta(days=3, hours=4),
                                 timedelta(days=1051, hours=11), timedelta(days=3649, hours=23)])
def test_the_title_column_is_aligned_whatever_the_age(age):
    text = incident_table([summary(1, age, "Checkout down"), summary(2, timedelta(minutes=3), "Search slow")], NOW)
    header, *rows = text.splitlines()
    column = header.index("TITLE")
    assert [row[column:] for row in rows] == ["Checkout down", "Search slow"], text
    assert all(row[column - 2:column] == "  " for row in rows), text

"""Regulatory clocks from the shell, as an engineer types them (a real subprocess, IR_NOW frozen)."""
import json

import pytest

from tests.e2e.test_cli import ir

DECLARED = "2024-01-18T14:30:00Z"  # a Thursday


@pytest.fixture
def incident(db_url):
    incident_id = ir("high", "data", "production", "--no-tui", "--title", "Customer table dumped",
                     db=db_url, now=DECLARED).stdout.strip()
    return db_url, incident_id


def test_exposure_starts_gdpr_72h_from_awareness_and_comply_stops_it(incident):
    db, incident_id = incident
    out = ir("--as", "alice", "exposure", incident_id, "personal_data", db=db, now="2024-01-18T15:10:00Z").stdout
    assert f"{incident_id}: exposed personal_data" in out
    assert "GDPR     clock started: aware 2024-01-18 14:30 UTC, due 2024-01-21 14:30 UTC (71:20:00 left)" in out
    running = json.loads(ir("compliance", "--json", db=db, now="2024-01-19T14:30:00Z").stdout)
    assert [(r["incident_id"], r["regime"], r["due_at"], r["remaining_seconds"]) for r in running] == [
        (incident_id, "GDPR", "2024-01-21T14:30:00Z", 48 * 3600),
        (incident_id, "SOC2", "2024-01-21T14:30:00Z", 48 * 3600),
    ]
    listed = ir("compliance", db=db, now="2024-01-21T16:30:00Z").stdout
    assert "GDPR     due 2024-01-21 14:30 UTC  OVERDUE 02:00:00" in listed
    out = ir("--as", "bob", "comply", incident_id, "gdpr", "--note", "ICO ref 42", db=db,
             now="2024-01-20T10:00:00Z").stdout
    assert out.strip() == f"GDPR on {incident_id} met at 2024-01-20 10:00 UTC by bob (28:30:00 before the deadline)"
    shown = json.loads(ir("show", incident_id, "--json", db=db, now="2024-01-25T00:00:00Z").stdout)
    gdpr = next(o for o in shown["compliance"] if o["regime"] == "GDPR")
    assert (gdpr["met_at"], gdpr["met_by"], gdpr["note"], gdpr["remaining_seconds"]) == (
        "2024-01-20T10:00:00Z", "bob", "ICO ref 42", None)
    assert [r["regime"] for r in json.loads(ir("compliance", "--json", db=db, now=DECLARED).stdout)] == ["SOC2"]
    one = ir("compliance", incident_id, db=db, now="2024-01-20T10:00:00Z").stdout
    assert "GDPR     met 2024-01-20 10:00 UTC by bob" in one and "SOC2     due 2024-01-21 14:30 UTC  28:30:00 left" in one
    kinds = [e["kind"] for e in shown["timeline"]]
    assert kinds == ["declared", "data_exposed", "compliance_clock_started", "compliance_clock_started",
                     "compliance_met"]
    assert ir("audit", "verify", db=db).returncode == 0


def test_aware_at_and_business_days(incident):
    db, incident_id = incident
    out = ir("exposure", incident_id, "financial-records", "--aware-at", "2024-01-18T16:00:00+01:00", db=db,
             now="2024-01-18T16:00:00Z").stdout
    # 15:00 UTC Thursday + four business days (the weekend skipped) = Wednesday 15:00.
    assert "SOX      clock started: aware 2024-01-18 15:00 UTC, due 2024-01-24 15:00 UTC" in out


BAD = [
    (["exposure", "{id}", "passwords"], "unknown data class 'passwords'; accepted: personal_data, health_data, "
                                        "card_data, financial_records, customer_data"),
    (["exposure", "{id}", "personal_data", "--aware-at", "last tuesday"],
     "awareness time 'last tuesday' is not a timestamp; accepted: ISO 8601 like 2024-01-15T14:30:00Z"),
    (["exposure", "{id}", "personal_data", "--aware-at", "2024-02-01T00:00:00Z"],
     "awareness time 2024-02-01T00:00:00Z is in the future; accepted: a time up to now"),
    (["exposure", "{outage}", "personal_data"], "is of type outage and exposed data is marked on security or data "
                                                "incidents only; accepted: an incident of type security, data"),
    (["comply", "{id}", "GDPR"], "has no 'GDPR' obligation; accepted: none is running (mark exposed data first)"),
    (["exposure", "INC-2024-0118-099", "personal_data"], "no incident 'INC-2024-0118-099'"),
    (["exposure", "{id}"], "the following arguments are required: CLASS"),
]


@pytest.mark.parametrize("argv,message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(incident, argv, message):
    db, incident_id = incident
    outage = ir("high", "outage", "production", "--no-tui", db=db, now=DECLARED).stdout.strip()
    before = json.loads(ir("show", incident_id, "--json", db=db, now=DECLARED).stdout)["timeline"]
    result = ir(*[a.format(id=incident_id, outage=outage) for a in argv], db=db, now=DECLARED, check=False)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert result.stdout == ""
    assert json.loads(ir("show", incident_id, "--json", db=db, now=DECLARED).stdout)["timeline"] == before


def test_met_twice_is_refused(incident):
    db, incident_id = incident
    ir("exposure", incident_id, "card_data", db=db, now=DECLARED)
    ir("--as", "bob", "comply", incident_id, "PCI-DSS", db=db, now="2024-01-18T18:00:00Z")
    again = ir("--as", "carol", "comply", incident_id, "pci-dss", db=db, now="2024-01-18T19:00:00Z", check=False)
    assert again.returncode == 2
    assert again.stderr.strip() == ("incident-response: PCI-DSS on INC-2024-0118-001 was already met at "
                                    "2024-01-18T18:00:00Z by bob; accepted: an obligation still running")
    assert ir("exposure", incident_id, "card_data", db=db, now=DECLARED).stdout.startswith("No change: card_data")

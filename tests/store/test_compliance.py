"""Regulatory clocks in the store (SQLite and PostgreSQL): exposure starts each matching
regime's clock from awareness; meeting an obligation stops it and records who and when."""
from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from playbooks import PolicyValueError, load_policy
from store.audit import verify_chain
from store.compliance import mark_exposure, mark_obligation_met, running_obligations
from store.errors import ChangeRefused
from store.models import ComplianceObligation, DataExposure, TimelineEvent
from store.queries import incident_detail

# The clock fixture: Thursday 2024-01-18 14:30 UTC.


def detail(store, incident_id):
    with store.db.read() as session:
        return incident_detail(session, store.policy, incident_id, store.now())


def kinds(store, incident_id):
    with store.db.read() as session:
        return [e.kind for e in session.exec(select(TimelineEvent).where(TimelineEvent.incident_id == incident_id)
                                             .order_by(TimelineEvent.seq)).all()]


def by_regime(store, incident_id):
    return {o["regime"]: o for o in detail(store, incident_id)["compliance"]}


def chain_ok(store):
    with store.db.read() as session:
        result = verify_chain(session)
    assert result.ok, result.problem


@pytest.fixture
def data_incident(store, clock):
    incident = store.declare("high", "data", "production", actor="alice", title="Customer table dumped")
    clock.advance(minutes=40)  # marked 40 minutes after detection: awareness is still detection
    return incident


def test_gdpr_clock_counts_72_hours_from_awareness(store, clock, data_incident):
    marked = mark_exposure(store, data_incident.id, ["personal_data"], actor="alice")
    assert marked.marked == ("personal_data",)
    assert [o.regime for o in marked.started] == ["GDPR", "SOC2"]
    gdpr = by_regime(store, data_incident.id)["GDPR"]
    assert gdpr["aware_at"] == "2024-01-18T14:30:00Z"          # detection, not the moment of marking
    assert gdpr["due_at"] == "2024-01-21T14:30:00Z"            # 72 hours on
    assert gdpr["remaining_seconds"] == 72 * 3600 - 40 * 60    # now is 15:10
    assert gdpr["deadline_text"] == "Within 72 hours of becoming aware of the breach"
    assert "supervisory authority" in gdpr["notify"]
    assert (gdpr["met_at"], gdpr["met_by"], gdpr["overdue"]) == (None, None, False)
    clock.advance(hours=72)
    gdpr = by_regime(store, data_incident.id)["GDPR"]
    assert gdpr["remaining_seconds"] == -40 * 60 and gdpr["overdue"] is True
    assert detail(store, data_incident.id)["data_exposed"] == [
        {"data_class": "personal_data", "marked_at": "2024-01-18T15:10:00Z", "marked_by": "alice"}]


def test_explicit_awareness_time(store, clock, data_incident):
    mark_exposure(store, data_incident.id, ["card_data"], actor="alice", aware_at=datetime(2024, 1, 18, 15, 0))
    pci = by_regime(store, data_incident.id)["PCI-DSS"]
    assert (pci["aware_at"], pci["due_at"]) == ("2024-01-18T15:00:00Z", "2024-01-19T15:00:00Z")


def test_marking_met_stops_the_clock_and_records_who_and_when(store, clock, data_incident):
    mark_exposure(store, data_incident.id, ["personal_data"], actor="alice")
    clock.advance(hours=5, minutes=2)  # 20:12
    met = mark_obligation_met(store, data_incident.id, "gdpr", actor="bob", note="Reported to the ICO, ref 42")
    assert (met.met_at, met.met_by) == (datetime(2024, 1, 18, 20, 12), "bob")
    clock.advance(days=10)  # long past the deadline: met in time stays met, no countdown
    gdpr = by_regime(store, data_incident.id)["GDPR"]
    assert gdpr["met_at"] == "2024-01-18T20:12:00Z" and gdpr["met_by"] == "bob"
    assert gdpr["remaining_seconds"] is None and gdpr["overdue"] is False and gdpr["on_time"] is True
    assert gdpr["note"] == "Reported to the ICO, ref 42"
    timeline = detail(store, data_incident.id)["timeline"]
    assert timeline[-1]["kind"] == "compliance_met" and timeline[-1]["actor"] == "bob"
    assert "GDPR obligation met by bob with 66:18:00 to spare" in timeline[-1]["summary"]
    with store.db.read() as session:
        running = running_obligations(session, store.policy)
    assert [(r.incident_id, r.regime) for r in running] == [(data_incident.id, "SOC2")]


def test_meeting_twice_is_refused_and_writes_nothing(store, clock, data_incident):
    mark_exposure(store, data_incident.id, ["personal_data"], actor="alice")
    mark_obligation_met(store, data_incident.id, "GDPR", actor="bob")
    before = kinds(store, data_incident.id)
    clock.advance(minutes=5)
    with pytest.raises(ChangeRefused, match=r"^GDPR on INC-2024-0118-001 was already met at 2024-01-18T15:10:00Z "
                                            r"by bob; accepted: an obligation still running$"):
        mark_obligation_met(store, data_incident.id, "GDPR", actor="carol")
    assert kinds(store, data_incident.id) == before
    assert by_regime(store, data_incident.id)["GDPR"]["met_by"] == "bob"


def test_sox_counts_four_business_days(store, clock):
    incident = store.declare("critical", "security", "production", actor="alice", title="Ledger tampering")
    clock.advance(hours=2)
    # Aware on Thursday 16:00: Fri, (weekend), Mon, Tue, Wed -> Wednesday 16:00, not Monday.
    mark_exposure(store, incident.id, ["financial_records"], actor="alice", aware_at=datetime(2024, 1, 18, 16, 0))
    sox = by_regime(store, incident.id)["SOX"]
    assert (sox["aware_at"], sox["due_at"]) == ("2024-01-18T16:00:00Z", "2024-01-24T16:00:00Z")
    # Awareness on a Saturday counts from Monday's opening (the calendar's 09:00).
    clock.advance(days=3)
    other = store.declare("critical", "security", "production", actor="alice")
    mark_exposure(store, other.id, ["financial_records"], actor="alice", aware_at=datetime(2024, 1, 20, 11, 0))
    assert by_regime(store, other.id)["SOX"]["due_at"] == "2024-01-26T09:00:00Z"


def test_business_days_skip_the_calendars_holidays(store, clock, tmp_path):
    user = tmp_path / "playbooks"
    user.mkdir()
    from playbooks.loader import BUILTIN_DIR

    text = (BUILTIN_DIR / "severity.toml").read_text()
    assert text.count("holidays = []") == 1
    (user / "severity.toml").write_text(text.replace("holidays = []", "holidays = [2024-01-22]"))
    store.policy = load_policy(user)
    incident = store.declare("critical", "security", "production", actor="alice")
    mark_exposure(store, incident.id, ["financial_records"], actor="alice")  # aware Thursday 14:30
    # Fri 19, (Mon 22 is a holiday), Tue 23, Wed 24, Thu 25.
    assert by_regime(store, incident.id)["SOX"]["due_at"] == "2024-01-25T14:30:00Z"


def test_second_class_never_restarts_a_running_regime(store, clock, data_incident):
    mark_exposure(store, data_incident.id, ["personal_data"], actor="alice")  # GDPR + SOC2 from 14:30
    clock.advance(hours=3)
    marked = mark_exposure(store, data_incident.id, ["health_data", "personal_data"], actor="bob",
                           aware_at=datetime(2024, 1, 18, 17, 0))
    assert marked.marked == ("health_data",) and marked.already == ("personal_data",)
    assert [o.regime for o in marked.started] == ["HIPAA"]  # SOC2 applies too, but already runs
    regimes = by_regime(store, data_incident.id)
    assert regimes["SOC2"]["aware_at"] == "2024-01-18T14:30:00Z" and regimes["SOC2"]["due_at"] == "2024-01-21T14:30:00Z"
    assert regimes["HIPAA"]["aware_at"] == "2024-01-18T17:00:00Z"
    assert regimes["HIPAA"]["due_at"] == "2024-03-18T17:00:00Z"  # 60 days (2024 is a leap year)
    with store.db.read() as session:
        assert len(session.exec(select(ComplianceObligation)).all()) == 3
    # Marking only classes already marked records nothing.
    before = kinds(store, data_incident.id)
    assert mark_exposure(store, data_incident.id, ["personal_data"], actor="carol").marked == ()
    assert kinds(store, data_incident.id) == before


def test_one_event_per_change_in_the_hash_chain(store, clock, data_incident):
    mark_exposure(store, data_incident.id, ["personal_data", "card_data"], actor="alice")
    mark_obligation_met(store, data_incident.id, "PCI-DSS", actor="bob")
    assert kinds(store, data_incident.id) == [
        "declared",
        "data_exposed", "compliance_clock_started", "compliance_clock_started",  # personal_data: GDPR, SOC2
        "data_exposed", "compliance_clock_started",                              # card_data: PCI-DSS
        "compliance_met",
    ]
    chain_ok(store)


@pytest.mark.parametrize("itype", ["outage", "performance", "integration"])
def test_only_security_and_data_incidents_take_exposure(store, itype):
    incident = store.declare("high", itype, "production", actor="alice")
    with pytest.raises(ChangeRefused, match=rf"^{incident.id} is of type {itype} and exposed data is marked on "
                                            r"security or data incidents only; accepted: an incident of type "
                                            r"security, data$"):
        mark_exposure(store, incident.id, ["personal_data"], actor="alice")
    assert kinds(store, incident.id) == ["declared"]


def test_refusals_name_what_is_accepted_and_write_nothing(store, clock, data_incident):
    accepted = "personal_data, health_data, card_data, financial_records, customer_data"
    with pytest.raises(PolicyValueError, match=rf"^unknown data class 'passwords'; accepted: {accepted}$"):
        mark_exposure(store, data_incident.id, ["personal_data", "passwords"], actor="alice")
    with pytest.raises(PolicyValueError, match=rf"^no data class given; accepted: {accepted}$"):
        mark_exposure(store, data_incident.id, [], actor="alice")
    with pytest.raises(PolicyValueError, match=r"^awareness time 2024-01-19T15:10:00Z is in the future; "
                                               r"accepted: a time up to now$"):
        mark_exposure(store, data_incident.id, ["personal_data"], actor="alice", aware_at=clock() + timedelta(days=1))
    with pytest.raises(PolicyValueError, match=r"^INC-2024-0118-001 has no 'GDPR' obligation; accepted: none is "
                                               r"running \(mark exposed data first\)$"):
        mark_obligation_met(store, data_incident.id, "GDPR", actor="bob")
    with store.db.read() as session:
        assert session.exec(select(DataExposure)).all() == []
        assert session.exec(select(ComplianceObligation)).all() == []
    assert kinds(store, data_incident.id) == ["declared"]
    mark_exposure(store, data_incident.id, ["Personal data"], actor="alice")  # the way people type it
    with pytest.raises(PolicyValueError, match=r"has no 'HIPAA' obligation; accepted: GDPR, SOC2$"):
        mark_obligation_met(store, data_incident.id, "HIPAA", actor="bob")


def test_closed_incident_takes_no_exposure_but_its_obligation_can_be_met(store, clock):
    data_incident = store.declare("low", "data", "staging", actor="alice")  # closes without a review
    mark_exposure(store, data_incident.id, ["personal_data"], actor="alice")
    store.resolve(data_incident.id, actor="alice")
    store.close(data_incident.id, actor="alice")
    with pytest.raises(ChangeRefused, match="is closed, so it cannot have exposed data marked"):
        mark_exposure(store, data_incident.id, ["card_data"], actor="alice")
    with store.db.read() as session:  # a closed incident's deadline still runs
        assert [r.regime for r in running_obligations(session, store.policy)] == ["GDPR", "SOC2"]
    mark_obligation_met(store, data_incident.id, "GDPR", actor="bob")
    assert by_regime(store, data_incident.id)["GDPR"]["met_by"] == "bob"
    chain_ok(store)


def test_running_obligations_across_incidents_soonest_first(store, clock):
    first = store.declare("high", "security", "production", actor="alice")
    mark_exposure(store, first.id, ["health_data"], actor="alice")            # HIPAA 60d, SOC2 72h
    clock.advance(hours=1)
    second = store.declare("critical", "data", "production", actor="bob", title="Card numbers in logs")
    mark_exposure(store, second.id, ["card_data"], actor="bob")              # PCI-DSS 24h, SOC2 72h
    with store.db.read() as session:
        running = running_obligations(session, store.policy)
    assert [(r.incident_id, r.regime, r.due_at) for r in running] == [
        (second.id, "PCI-DSS", datetime(2024, 1, 19, 15, 30)),
        (first.id, "SOC2", datetime(2024, 1, 21, 14, 30)),
        (second.id, "SOC2", datetime(2024, 1, 21, 15, 30)),
        (first.id, "HIPAA", datetime(2024, 3, 18, 14, 30)),
    ]
    assert running[0].title == "Card numbers in logs" and running[0].severity == "SEV-1"
    assert running[0].notify == ("acquiring bank", "card brands")


def test_export_carries_the_obligations_and_still_imports(store, clock, data_incident, tmp_path):
    import json

    from store.transfer import export_json, import_file

    mark_exposure(store, data_incident.id, ["personal_data"], actor="alice")
    exported = json.loads(export_json(detail(store, data_incident.id)))
    assert exported[0]["compliance"][0]["regime"] == "GDPR"
    assert exported[0]["data_exposed"][0]["data_class"] == "personal_data"
    exported[0]["id"] = "INC-2024-0117-001"
    path = tmp_path / "export.json"
    path.write_text(json.dumps(exported))
    assert import_file(store, path, actor="alice") == ["INC-2024-0117-001"]

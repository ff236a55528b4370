"""Regulatory clocks: what a security or data incident exposed, and the notification
deadlines that exposure starts (GDPR's 72 hours, HIPAA's 60 days, SOX's four business days ...).

Marking a data class exposed writes a DataExposure row and starts one ComplianceObligation
per regime of the compliance policy that applies to it; each obligation is due its
regime's deadline after awareness (when the organisation became aware of the breach:
the incident's detection unless told otherwise). Recording that an obligation was met
stops its clock. Every change is a timeline event in the same transaction, so the hash
chain is the audit trail of who marked what, and when.

Rules worth knowing:
- A regime already running for the incident is never restarted: marking a second data
  class that maps to it leaves its clock (and its awareness time) alone.
- Marking a class already marked records nothing (two people marking it land once).
- Marking an obligation met twice is refused, naming when and by whom it was met.
- Exposure is not marked on closed incidents (closed is final), but an obligation can be
  met after closing: a regulator's deadline does not end with the incident.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from sqlmodel import Session, select

from playbooks.errors import PolicyValueError
from playbooks.policy import Policy
from playbooks.schema import DATA_CLASSES, ComplianceRegime
from playbooks.clock import iso_z, to_utc_naive
from playbooks.timeline import TimelineKind
from store.errors import ChangeRefused
from store.models import ComplianceObligation, DataExposure, Incident
from store.read_models.incident import ComplianceObligation as Obligation, DataExposure as Exposure
from playbooks.validation import checked_text

FUTURE_SLACK = timedelta(minutes=5)  # clocks disagree a little; awareness beyond this is a typo


@dataclass(frozen=True)
class ExposureMarked:
    """What one mark_exposure call changed."""

    incident_id: str
    marked: tuple[str, ...]            # data classes newly marked
    already: tuple[str, ...]           # data classes that were marked before
    started: tuple[ComplianceObligation, ...]  # obligations whose clocks this call started


@dataclass(frozen=True)
class RunningObligation:
    """An unmet obligation, for the dashboard's compliance clocks."""

    incident_id: str
    severity: str
    title: str
    regime: str
    name: str
    notify: tuple[str, ...]
    aware_at: datetime
    due_at: datetime


def data_class(value: str) -> str:
    """The data class a user typed ("Personal data", "personal-data" ...), or a refusal."""
    key = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    if key not in DATA_CLASSES:
        raise PolicyValueError(f"unknown data class {value!r}; accepted: {', '.join(DATA_CLASSES)}")
    return key


def parse_aware_at(text: str) -> datetime:
    """An ISO 8601 awareness time, as naive UTC (a time without zone is taken as UTC)."""
    try:
        return to_utc_naive(datetime.fromisoformat(str(text).strip().replace("Z", "+00:00")))
    except ValueError:
        raise PolicyValueError(f"awareness time {text!r} is not a timestamp; "
                               "accepted: ISO 8601 like 2024-01-15T14:30:00Z") from None


def regime_of(policy: Policy, regime_id: str) -> ComplianceRegime | None:
    key = str(regime_id).strip().upper()
    return next((r for r in policy.compliance.regimes if r.id.upper() == key), None)


def _check_type(policy: Policy, incident: Incident) -> None:
    types = policy.compliance.incident_types
    if incident.type not in types:
        raise ChangeRefused(f"{incident.id} is of type {incident.type} and exposed data is marked on "
                            f"{' or '.join(types)} incidents only; accepted: an incident of type {', '.join(types)}")


def _clock_start(regime: ComplianceRegime, incident: Incident, aware_at: datetime) -> datetime:
    if regime.clock_starts == "declared":
        return incident.declared_at
    if regime.clock_starts == "detected":
        return incident.detected_at
    return aware_at


def mark_exposure(store, incident_id: str, data_classes: Iterable[str], *, actor: str,
                  aware_at: datetime | None = None) -> ExposureMarked:
    """Mark data classes exposed on a security or data incident and start the clocks of
    the regimes they bring into play. `aware_at` (naive or aware UTC) defaults to the
    incident's detection time."""
    classes = list(dict.fromkeys(data_class(c) for c in data_classes))
    if not classes:
        raise PolicyValueError(f"no data class given; accepted: {', '.join(DATA_CLASSES)}")
    now = store.now()
    if aware_at is not None:
        aware_at = to_utc_naive(aware_at)
        if aware_at > now + FUTURE_SLACK:
            raise PolicyValueError(f"awareness time {iso_z(aware_at)} is in the future; accepted: a time up to now")
    policy = store.policy
    with store.db.write() as session:
        incident = store.load(session, incident_id)
        _check_type(policy, incident)
        store.refuse_if_closed(incident, "have exposed data marked")
        aware = aware_at or incident.detected_at
        marked_before = set(session.exec(select(DataExposure.data_class)
                                         .where(DataExposure.incident_id == incident.id)).all())
        running = {o.regime.upper(): o for o in _obligations(session, incident.id)}
        new = [c for c in classes if c not in marked_before]
        started: list[ComplianceObligation] = []
        for cls in new:
            session.add(DataExposure(incident_id=incident.id, data_class=cls, marked_at=now, marked_by=actor))
            regimes = policy.compliance.regimes_for([cls])
            starting = [r for r in regimes if r.id.upper() not in running and r.deadline is not None]
            store.record_event(session, incident, now, actor, TimelineKind.DATA_EXPOSED,
                               f"Exposed data marked: {cls.replace('_', ' ')}"
                               + (f" (starts {', '.join(r.id for r in starting)})" if starting else ""),
                               {"data_class": cls, "regimes": [r.id for r in regimes],
                                "aware_at": iso_z(aware)})
            for regime in starting:
                start = _clock_start(regime, incident, aware)
                obligation = ComplianceObligation(incident_id=incident.id, regime=regime.id, aware_at=start,
                                                  due_at=regime.due(start, policy.calendar))
                session.add(obligation)
                running[regime.id.upper()] = obligation
                started.append(obligation)
                store.record_event(session, incident, now, actor, TimelineKind.COMPLIANCE_CLOCK_STARTED,
                                   f"{regime.id} clock started: {regime.deadline_text} "
                                   f"(due {iso_z(obligation.due_at)})",
                                   {"regime": regime.id, "data_class": cls, "aware_at": iso_z(start),
                                    "due_at": iso_z(obligation.due_at), "deadline": regime.deadline,
                                    "deadline_clock": regime.deadline_clock})
        session.flush()
        return ExposureMarked(incident.id, tuple(new), tuple(c for c in classes if c in marked_before),
                              tuple(started))


def mark_obligation_met(store, incident_id: str, regime: str, *, actor: str,
                        note: str | None = None) -> ComplianceObligation:
    """Record that a regime's notification was made now, by `actor`; its clock stops.
    Met twice is refused (naming when and by whom), never recorded twice."""
    note = checked_text(note, "note", required=False)
    with store.db.write() as session:
        incident = store.load(session, incident_id)
        obligations = _obligations(session, incident.id)
        key = str(regime).strip().upper()
        obligation = next((o for o in obligations if o.regime.upper() == key), None)
        if obligation is None:
            running = ", ".join(o.regime for o in obligations if o.met_at is None)
            raise PolicyValueError(f"{incident.id} has no {regime!r} obligation; accepted: "
                                   + (running or "none is running (mark exposed data first)"))
        if obligation.met_at is not None:
            raise ChangeRefused(f"{obligation.regime} on {incident.id} was already met at {iso_z(obligation.met_at)} "
                                f"by {obligation.met_by}; accepted: an obligation still running")
        now = store.now()
        obligation.met_at, obligation.met_by, obligation.note = now, actor, note
        session.add(obligation)
        late = now > obligation.due_at
        margin = format_remaining((obligation.due_at - now).total_seconds())
        store.record_event(session, incident, now, actor, TimelineKind.COMPLIANCE_MET,
                           f"{obligation.regime} obligation met by {actor} "
                           + (f"{margin} after the deadline" if late else f"with {margin} to spare")
                           + (f": {note}" if note else ""),
                           {"regime": obligation.regime, "met_at": iso_z(now), "due_at": iso_z(obligation.due_at),
                            "on_time": not late, "note": note})
        return obligation


def _obligations(session: Session, incident_id: str) -> list[ComplianceObligation]:
    return list(session.exec(select(ComplianceObligation).where(ComplianceObligation.incident_id == incident_id)
                             .order_by(ComplianceObligation.due_at, ComplianceObligation.regime)).all())


def read_exposures(session: Session, incident_id: str) -> tuple[Exposure, ...]:
    """The data classes marked exposed on an incident, oldest mark first."""
    rows = session.exec(select(DataExposure).where(DataExposure.incident_id == incident_id)
                        .order_by(DataExposure.marked_at, DataExposure.data_class)).all()
    return tuple(Exposure(r.data_class, r.marked_at, r.marked_by) for r in rows)


def read_obligations(session: Session, policy: Policy, incident_id: str, now: datetime) -> tuple[Obligation, ...]:
    """An incident's obligations, soonest due first, with the policy's words and the time
    left (`remaining_seconds`, negative when overdue; None once met)."""
    result = []
    for o in _obligations(session, incident_id):
        regime = regime_of(policy, o.regime)  # a regime removed from the policy keeps its record
        result.append(Obligation(
            regime=o.regime, name=regime.name if regime else o.regime,
            deadline_text=regime.deadline_text if regime else None,
            requires=tuple(regime.requires) if regime else (), notify=tuple(regime.notify) if regime else (),
            aware_at=o.aware_at, due_at=o.due_at, met_at=o.met_at, met_by=o.met_by, note=o.note,
            remaining_seconds=None if o.met_at else int((o.due_at - now).total_seconds()),
            overdue=o.met_at is None and now > o.due_at,
            on_time=None if o.met_at is None else o.met_at <= o.due_at,
        ))
    return tuple(result)


def running_obligations(session: Session, policy: Policy) -> list[RunningObligation]:
    """Every unmet obligation, soonest due first. Closed and resolved incidents are
    included: a regulator's deadline does not end with the incident."""
    rows = session.exec(select(ComplianceObligation, Incident.severity, Incident.title)
                        .join(Incident, Incident.id == ComplianceObligation.incident_id)
                        .where(ComplianceObligation.met_at.is_(None))
                        .order_by(ComplianceObligation.due_at, ComplianceObligation.incident_id,
                                  ComplianceObligation.regime)).all()
    result = []
    for o, severity, title in rows:
        regime = regime_of(policy, o.regime)
        result.append(RunningObligation(o.incident_id, severity, title, o.regime, regime.name if regime else o.regime,
                                        tuple(regime.notify) if regime else (), o.aware_at, o.due_at))
    return result


def format_remaining(seconds: int) -> str:
    """A countdown as people read it: "71:58:12", or "59d 23:59:58" beyond 99 hours; no sign."""
    seconds = abs(int(seconds))
    hours, rest = divmod(seconds, 3600)
    clock = f"{rest // 60:02d}:{rest % 60:02d}"
    if hours > 99:
        return f"{hours // 24}d {hours % 24:02d}:{clock}"
    return f"{hours:02d}:{clock}"

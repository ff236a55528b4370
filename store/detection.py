"""What detection writes: metric samples, anomalies, and incidents kept one per firing
condition (a rule, an Alertmanager group, a Grafana alert) by their dedup key."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from sqlmodel import select

from playbooks.statuses import OPEN_STATUSES
from playbooks.clock import iso_z, to_utc_naive
from playbooks.samples import Sample
from playbooks.timeline import TimelineKind
from store.models import Anomaly, Incident
from store.operations import IncidentStore


SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DateTime in SQLite


def record_samples(store: IncidentStore, samples: Iterable[Sample]) -> int:
    """Store samples in one transaction; returns how many.

    The hot path of detection: one driver-level executemany (the ORM's per-row work
    costs more than the insert itself), the same row format SQLAlchemy reads back.
    """
    sqlite = store.db.is_sqlite
    rows = [(s.source, s.metric, to_utc_naive(s.at).strftime(SQLITE_TIME) if sqlite else to_utc_naive(s.at),
             float(s.value)) for s in samples]
    if not rows:
        return 0
    mark = "?" if sqlite else "%s"
    with store.db.write_engine.begin() as conn:  # samples are not chained: no chain lock needed
        conn.exec_driver_sql(
            f"INSERT INTO metric_sample (source, metric, at, value) VALUES ({mark}, {mark}, {mark}, {mark})", rows)
    return len(rows)


def record_anomaly(store: IncidentStore, *, at: datetime, metric: str, description: str, value: float | None = None,
                   baseline: float | None = None, rule: str | None = None, incident_id: str | None = None) -> Anomaly:
    anomaly = Anomaly(at=to_utc_naive(at), metric=metric, value=value, baseline=baseline, rule=rule,
                      description=description, incident_id=incident_id)
    with store.db.write() as session:
        session.add(anomaly)
    return anomaly


def open_incident_for(session, dedup_key: str) -> Incident | None:
    return session.exec(select(Incident).where(Incident.dedup_key == dedup_key,
                                               Incident.status.in_(OPEN_STATUSES))).first()


def raise_condition(store: IncidentStore, dedup_key: str, *, severity: str, incident_type: str, environment: str,
                    title: str, actor: str, service: str | None = None, detected_at: datetime | None = None,
                    is_drill: bool = False, detail: dict[str, Any] | None = None) -> tuple[Incident, bool]:
    """Open an incident for a firing condition, or note on the open one that it fires again.

    Returns (incident, created). The check and the write share the write lock, so two
    processes raising the same condition open one incident.
    """
    declaration = store.prepare_declaration(severity, incident_type, environment, actor=actor, title=title,
                                            service=service, detected_at=detected_at, is_drill=is_drill,
                                            dedup_key=dedup_key, detail={"dedup_key": dedup_key, **(detail or {})})
    with store.db.write() as session:
        existing = open_incident_for(session, dedup_key)
        if existing is not None:
            store.record_event(session, existing, store.now(), actor, TimelineKind.CONDITION_FIRING,
                               f"Still firing: {title}", {"dedup_key": dedup_key, **(detail or {})})
            return existing, False
        return store.write_declaration(session, declaration), True


def clear_condition(store: IncidentStore, dedup_key: str, *, actor: str, resolve: bool = False,
                    detail: dict[str, Any] | None = None) -> Incident | None:
    """The condition cleared: a 'condition_cleared' event, and optionally resolve the incident.

    The check, the event and the resolution are one transaction under the write lock, so a
    resolved notification delivered twice (or by two receivers at once) resolves once: the
    second finds no open incident and changes nothing (None), never half a change."""
    with store.db.write() as session:
        incident = open_incident_for(session, dedup_key)
        if incident is None:
            return None
        store.record_event(session, incident, store.now(), actor, TimelineKind.CONDITION_CLEARED,
                           "Condition cleared" + (" (all alerts resolved)" if resolve else ""),
                           {"dedup_key": dedup_key, "cleared_at": iso_z(store.now()), **(detail or {})})
        if resolve:
            store.move_status(session, incident, "resolved", actor)
    return incident

"""The outbox: every notification is a row first, written in the same transaction as the
change that caused it, and delivered afterwards (automation/delivery.py). Nothing is lost
when a vendor is down; the delivery state per integration is readable for the screen."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select as sa_select, update
from sqlmodel import Session, select

from playbooks.clock import iso_z
from playbooks.comms import RULE_ACTION_EVENTS, Router, facts_of, outbox_event
from playbooks.timeline import TimelineKind
from store.models import Incident, Notification

MAX_ATTEMPTS = 12
BACKOFF_CAP = timedelta(minutes=10)

STATES = ("pending", "sent", "dead", "skipped")


def payload_of(incident: Incident, event: str, summary: str, kind: str = "", data: dict | None = None,
               headline: str | None = None) -> dict:
    """What a message says. A status update carries the engineer's words as they typed them
    (message, affected, next update): the channels that publish it use those, never the
    internal summary of a status change. `public_headline` is what a public page may call the
    incident: the playbook's headline for its type (`headline`), or the one the engineer chose
    for an update; the internal title is never it unless they chose it."""
    payload = {"id": incident.id, "title": incident.title, "severity": incident.severity, "type": incident.type,
               "environment": incident.environment, "service": incident.service, "status": incident.status,
               "event": event, "summary": summary, "declared_at": iso_z(incident.declared_at),
               "public_headline": headline}
    if kind in RULE_ACTION_EVENTS:  # which rule asked, why it fired, and the page status it named
        data = data or {}
        payload["rule"] = {key: data[key] for key in ("rule", "action", "conditions", "address") if key in data}
        if data.get("page_status"):
            payload["page_status"] = data["page_status"]
    if kind == "status_update":
        data = data or {}
        payload.update(message=summary, affected=data.get("affected"),
                       next_update_due_at=data.get("next_update_due_at"))
        if data.get("headline"):  # chosen by the engineer for this update: the page is renamed
            payload.update(headline=data["headline"], public_headline=data["headline"])
    elif kind in ("compliance_clock_started", "compliance_reminder"):  # who must act by when
        data = data or {}
        payload["compliance"] = {key: data.get(key) for key in ("regime", "data_class", "aware_at", "due_at",
                                                                 "deadline", "stage") if key in data}
    return payload


def enqueue(session: Session, router: Router, incident: Incident, kind: str, data: dict, summary: str,
            seq: int, now: datetime, headline: str | None = None) -> int:
    """Add the outbox rows a timeline event calls for (inside the caller's transaction)."""
    event = outbox_event(kind, data)
    if event is None:
        return 0
    count = 0
    said = payload_of(incident, event, summary, kind, data, headline)
    for integration, group, *rest in router(facts_of(incident), event):
        skipped = rest[0] if rest else None
        # Who this row is for: the groups one message names, the addresses it goes to.
        addressed = rest[1] if len(rest) > 1 and rest[1] else {}
        session.add(Notification(
            incident_id=incident.id, integration=integration, stakeholder_group=group, event=event,
            idempotency_key=f"{incident.id}:{seq}:{integration}:{group or '-'}"[:128],
            payload=json.dumps({**said, **addressed}, sort_keys=True),
            state="skipped" if skipped else "pending", attempts=0, next_attempt_at=None if skipped else now,
            last_error=skipped, created_at=now))
        count += 1
    return count


def enqueue_addressed(session: Session, incident: Incident, kind: str, data: dict, summary: str, seq: int,
                      now: datetime, rows: list[tuple[str, str, str | None, list[str]]],
                      headline: str | None = None) -> int:
    """Add outbox rows for a timeline event addressed to people the caller chose rather than the
    comms matrix (an escalation step's persons): each row is (integration, person,
    reason it may not go out or None, that person's addresses on it), in the caller's transaction."""
    said = payload_of(incident, kind, summary, kind, data, headline)
    for integration, person, skipped, recipients in rows:
        session.add(Notification(
            incident_id=incident.id, integration=integration, stakeholder_group=person, event=kind,
            idempotency_key=f"{incident.id}:{seq}:{integration}:{person}"[:128],
            payload=json.dumps({**said, "recipients": recipients, "groups": [person]}, sort_keys=True),
            state="skipped" if skipped else "pending", attempts=0, next_attempt_at=None if skipped else now,
            last_error=skipped, created_at=now))
    return len(rows)


def due(session: Session, now: datetime, limit: int = 100) -> list[Notification]:
    return list(session.exec(select(Notification).where(Notification.state == "pending",
                                                        Notification.next_attempt_at <= now)
                             .order_by(Notification.id).limit(limit)).all())


def _claimable(now: datetime):
    """Not claimed, or claimed by someone whose time ran out (a process that died mid-batch)."""
    return or_(Notification.claimed_until.is_(None), Notification.claimed_until <= now)


def claim_due(session: Session, claimer: str, now: datetime, until: datetime, limit: int = 100) -> list[Notification]:
    """Take up to `limit` due messages for `claimer` until `until`, in the caller's short
    transaction, and return them. FOR UPDATE SKIP LOCKED lets deliverers on other hosts claim
    at the same moment without waiting on each other or taking the same row (SQLite has no row
    locks: its BEGIN IMMEDIATE serialises the claims instead, and the clause is left out)."""
    ids = list(session.execute(sa_select(Notification.id).where(
        Notification.state == "pending", Notification.next_attempt_at <= now, _claimable(now))
        .order_by(Notification.id).limit(limit).with_for_update(skip_locked=True)).scalars())
    if not ids:
        return []
    session.execute(update(Notification).where(Notification.id.in_(ids))
                    .values(claimed_by=claimer, claimed_until=until))
    return list(session.exec(select(Notification).where(Notification.id.in_(ids))
                             .order_by(Notification.id).execution_options(populate_existing=True)).all())


def take(session: Session, notification_id: int, claimer: str, now: datetime, until: datetime) -> bool:
    """Hold one message for `claimer` until `until` (right before sending it): true if it is
    still pending, due, and unclaimed, expired or already ours. One conditional UPDATE, so of
    two deliverers racing for it exactly one wins (PostgreSQL re-checks the condition on the
    row a concurrent writer left; SQLite runs one writer at a time)."""
    return session.execute(update(Notification).where(
        Notification.id == notification_id, Notification.state == "pending",
        Notification.next_attempt_at <= now,
        or_(_claimable(now), Notification.claimed_by == claimer))
        .values(claimed_by=claimer, claimed_until=until)).rowcount == 1


def let_go(session: Session, notification_id: int, claimer: str) -> None:
    """Give back a message this deliverer claimed but will not try now (it waits for an
    earlier one, or its vendor asked for a pause): another deliverer may take it at once."""
    session.execute(update(Notification).where(
        Notification.id == notification_id, Notification.claimed_by == claimer, Notification.state == "pending")
        .values(claimed_until=None))


def backoff(attempts: int, retry_after: float | None) -> timedelta:
    """Exponential (2, 4, 8 ... s, capped at 10 min); a vendor's Retry-After wins if longer."""
    delay = min(timedelta(seconds=2 ** max(1, attempts)), BACKOFF_CAP)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=min(retry_after, 3600)))
    return delay


@dataclass(frozen=True)
class IntegrationBacklog:
    integration: str
    pending: int
    dead: int
    sent: int
    last_error: str | None


def backlog(session: Session) -> list[IntegrationBacklog]:
    """Delivery state per integration, for the dashboard and the war room."""
    rows = session.execute(sa_select(Notification.integration, Notification.state, func.count())
                           .group_by(Notification.integration, Notification.state)).all()
    counts: dict[str, dict[str, int]] = {}
    for integration, state, count in rows:
        counts.setdefault(integration, {})[state] = count
    result = []
    for integration, states in sorted(counts.items()):
        error = session.execute(sa_select(Notification.last_error).where(
            Notification.integration == integration, Notification.state.not_in(("sent", "skipped")),
            Notification.last_error.is_not(None)).order_by(Notification.id.desc()).limit(1)).scalar()
        result.append(IntegrationBacklog(integration, states.get("pending", 0), states.get("dead", 0),
                                         states.get("sent", 0), error))
    return result


def retry_dead(session: Session, notification_id: int, now: datetime) -> Notification | None:
    """The manual retry: a dead-lettered message goes back to pending."""
    row = session.get(Notification, notification_id)
    if row is None or row.state != "dead":
        return None
    row.state, row.attempts, row.next_attempt_at = "pending", 0, now
    session.add(row)
    return row


STATES = ("pending", "dead", "sent")
# Dead letters first (they need a person), then what is waiting, then what went out.
_STATE_ORDER = {"dead": 0, "pending": 1, "sent": 2, "skipped": 3}


def messages(session: Session, *, incident_id: str | None = None, state: str | None = None,
             limit: int = 500) -> list[Notification]:
    """The outbox as a person reads it: dead letters first, then waiting, then sent (newest first)."""
    query = select(Notification)
    if incident_id is not None:
        query = query.where(Notification.incident_id == incident_id)
    if state is not None:
        query = query.where(Notification.state == state)
    rows = list(session.exec(query.order_by(Notification.id.desc()).limit(limit)).all())
    return sorted(rows, key=lambda row: _STATE_ORDER.get(row.state, 3))


def retry_by_person(store, notification_ids: list[int], *, actor: str) -> list[int]:
    """A person sends dead-lettered messages again: each goes back to pending, and the
    retry is on its incident's timeline (who, which message). Returns the ids retried;
    messages that are not dead are left as they are."""
    now = store.now()
    retried: list[int] = []
    with store.db.write() as session:
        for notification_id in notification_ids:
            row = retry_dead(session, notification_id, now)
            if row is None:
                continue
            retried.append(row.id)
            incident = session.get(Incident, row.incident_id) if row.incident_id else None
            store.record_event(session, incident, now, actor, TimelineKind.NOTIFICATION_RETRIED,
                               f"{actor} sent the {row.event} message to {row.integration}"
                               + (f" ({row.stakeholder_group})" if row.stakeholder_group else "") + " again",
                               {"notification": row.id, "integration": row.integration, "event": row.event})
    return retried

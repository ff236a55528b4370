"""Silences (maintenance windows) and the alerts they suppressed (`incident-response silence`).

A silence belongs to no incident, yet it decides what declares and pages, so adding or
expiring one is a timeline event of no incident on the audit chain
(IncidentStore.record_event with None), as on-call overrides are. What matches is
playbooks/silences.py's question, asked at the instant an alert arrives: a silence past its
end is simply no longer active, with nothing to run. An expired silence is kept
(`expired_at`, `expired_by`). Each alert a silence kept from declaring is a row of
`suppressed_alert`, so what was silenced stays visible (`silence list` counts,
`silence suppressed` lists).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping

from sqlalchemy import func
from sqlmodel import select

from playbooks.clock import iso_z, to_utc_naive
from playbooks.errors import PolicyValueError
from playbooks.silences import Matcher, silencing
from playbooks.silences import Silence as ActiveSilence
from playbooks.timeline import TimelineKind
from playbooks.validation import MAX_LINE, checked_text
from store.errors import ChangeRefused
from store.models import Silence, SuppressedAlert

MAX_LABELS_JSON = 20_000  # an alert's labels as kept: enough for any real alert, bounded for a hostile one


@dataclass(frozen=True)
class SilenceRow:
    """A silence as listed: the row, its matchers, and how many alerts it suppressed."""

    id: int
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str
    created_at: datetime
    expired_at: datetime | None
    expired_by: str | None
    suppressed: int

    def state(self, at: datetime) -> str:
        """active, pending (starts later), expired (by hand) or ended (by itself)."""
        if self.expired_at is not None and self.expired_at <= at:
            return "expired"
        if at >= self.ends_at:
            return "ended"
        return "active" if at >= self.starts_at else "pending"


def _encode_matchers(matchers: tuple[Matcher, ...]) -> str:
    return json.dumps([[m.label, "=" if m.equal else "!=", m.value] for m in matchers], separators=(",", ":"),
                      ensure_ascii=False)


def _decode_matchers(text: str) -> tuple[Matcher, ...]:
    return tuple(Matcher(label, value, equal=operator == "=") for label, operator, value in json.loads(text))


def add_silence(store, matchers: tuple[Matcher, ...], starts_at: datetime, ends_at: datetime, *, reason: str,
                actor: str) -> SilenceRow:
    """Silence what `matchers` (from playbooks.silences.parse_matchers) match from `starts_at`
    until `ends_at` (aware, or naive UTC). Raises PolicyValueError for a span or reason refused."""
    reason = checked_text(reason, "silence's reason")
    if not matchers:
        raise PolicyValueError("a silence needs at least one matcher; accepted: --match label=value")
    starts_at, ends_at = to_utc_naive(starts_at), to_utc_naive(ends_at)
    if ends_at <= starts_at:
        raise PolicyValueError(f"the silence ends ({iso_z(ends_at)}) before it starts ({iso_z(starts_at)}); "
                               "accepted: an end after the start")
    with store.db.write() as session:
        now = store.now()
        if ends_at <= now:
            raise PolicyValueError(f"the silence would end at {iso_z(ends_at)}, already past; accepted: an end "
                                   "in the future")
        row = Silence(matchers=_encode_matchers(matchers), starts_at=starts_at, ends_at=ends_at, reason=reason,
                      created_by=actor, created_at=now)
        session.add(row)
        session.flush()  # the id, for the event
        shown = ", ".join(str(m) for m in matchers)
        store.record_event(session, None, now, actor, TimelineKind.SILENCE_ADDED,
                           f"Silenced {shown} from {iso_z(starts_at)} until {iso_z(ends_at)}: {reason}",
                           {"silence": row.id, "matchers": json.loads(row.matchers), "reason": reason,
                            "starts_at": iso_z(starts_at), "ends_at": iso_z(ends_at)})
        return _listed(row, 0)


def expire_silence(store, silence_id: int, *, actor: str) -> SilenceRow:
    """End a silence now: it is kept, marked expired, and silences nothing more."""
    with store.db.write() as session:
        row = session.get(Silence, silence_id)
        if row is None:
            raise ChangeRefused(f"there is no silence {silence_id}; accepted: an id that "
                                "`incident-response silence list --all` lists")
        now = store.now()
        if row.expired_at is not None:
            raise ChangeRefused(f"silence {silence_id} was already expired at {iso_z(row.expired_at)}; "
                                "accepted: a silence still active or pending")
        if row.ends_at <= now:
            raise ChangeRefused(f"silence {silence_id} ended by itself at {iso_z(row.ends_at)}; "
                                "accepted: a silence still active or pending")
        row.expired_at = now
        row.expired_by = actor
        session.add(row)
        store.record_event(session, None, now, actor, TimelineKind.SILENCE_EXPIRED,
                           f"Expired silence {row.id}: {', '.join(str(m) for m in _decode_matchers(row.matchers))}",
                           {"silence": row.id, "ends_at": iso_z(row.ends_at)})
        session.flush()
        return _listed(row, _suppressed_count(session, row.id))


def list_silences(store, at: datetime, *, include_past: bool = False) -> list[SilenceRow]:
    """Silences active or pending at `at` (with `include_past`, every one), oldest first."""
    at = to_utc_naive(at)
    query = select(Silence).order_by(Silence.id)
    if not include_past:
        query = query.where(Silence.expired_at.is_(None), Silence.ends_at > at)
    with store.db.read() as session:
        rows = session.exec(query).all()
        counts = dict(session.exec(select(SuppressedAlert.silence_id, func.count())
                                   .group_by(SuppressedAlert.silence_id)).all())
        return [_listed(row, counts.get(row.id, 0)) for row in rows]


def active_silences(store, at: datetime) -> list[ActiveSilence]:
    """The silences in force at `at`, as matching takes them."""
    at = to_utc_naive(at)
    with store.db.read() as session:
        rows = session.exec(select(Silence).where(Silence.expired_at.is_(None), Silence.ends_at > at,
                                                  Silence.starts_at <= at).order_by(Silence.id)).all()
        return [ActiveSilence(row.id, _decode_matchers(row.matchers), row.starts_at, row.ends_at, row.expired_at)
                for row in rows]


def suppress_if_silenced(store, labels: Mapping[str, str], *, source: str, title: str,
                         dedup_key: str | None = None, silences: list[ActiveSilence] | None = None,
                         at: datetime | None = None) -> int | None:
    """When a silence in force now matches `labels`, record the alert as suppressed and answer
    the silence's id; otherwise None and nothing is written. `silences` spares a read when the
    caller already holds the active ones of this instant."""
    at = to_utc_naive(at) if at is not None else store.now()
    found = silencing(silences if silences is not None else active_silences(store, at), labels, at)
    if found is None:
        return None
    record_suppressed(store, [Suppression(found.id, labels, source, title, dedup_key)], at=at)
    return found.id


@dataclass(frozen=True)
class Suppression:
    """One alert a silence kept from declaring, as recorded."""

    silence_id: int
    labels: Mapping[str, str]
    source: str
    title: str
    dedup_key: str | None = None


def record_suppressed(store, suppressions: list[Suppression], *, at: datetime | None = None) -> None:
    """The alerts silences kept from declaring, in one transaction."""
    if not suppressions:
        return
    rows = []
    for item in suppressions:
        text = json.dumps(dict(sorted(item.labels.items())), separators=(",", ":"), ensure_ascii=False)
        if len(text) > MAX_LABELS_JSON:
            text = json.dumps({"labels_omitted": f"{len(text)} characters"})
        title = " ".join(str(item.title).split())[:MAX_LINE] or "Alert"
        rows.append((item, title, text))
    with store.db.write() as session:
        moment = to_utc_naive(at) if at is not None else store.now()
        for item, title, text in rows:
            session.add(SuppressedAlert(silence_id=item.silence_id, at=moment, source=item.source[:32],
                                        dedup_key=item.dedup_key, title=title, labels=text))


@dataclass(frozen=True)
class SuppressedRow:
    id: int
    silence_id: int
    at: datetime
    source: str
    dedup_key: str | None
    title: str
    labels: dict[str, str]


def suppressed_alerts(store, *, silence_id: int | None = None, limit: int = 200) -> list[SuppressedRow]:
    """The alerts silences suppressed, newest first (of one silence when given)."""
    query = select(SuppressedAlert).order_by(SuppressedAlert.id.desc()).limit(limit)
    if silence_id is not None:
        query = query.where(SuppressedAlert.silence_id == silence_id)
    with store.db.read() as session:
        return [SuppressedRow(row.id, row.silence_id, row.at, row.source, row.dedup_key, row.title,
                              json.loads(row.labels)) for row in session.exec(query).all()]


def _suppressed_count(session, silence_id: int) -> int:
    return session.exec(select(func.count()).select_from(SuppressedAlert)
                        .where(SuppressedAlert.silence_id == silence_id)).one()


def _listed(row: Silence, suppressed: int) -> SilenceRow:
    return SilenceRow(row.id, _decode_matchers(row.matchers), row.starts_at, row.ends_at, row.reason, row.created_by,
                      row.created_at, row.expired_at, row.expired_by, suppressed)


def silences_in_force(session, now: datetime) -> tuple[int, datetime | None]:
    """For the dashboard's header, in its own read: how many silences are in force at `now`
    and when the first of them ends (None when none is)."""
    now = to_utc_naive(now)
    count, first_end = session.exec(
        select(func.count(), func.min(Silence.ends_at))
        .where(Silence.expired_at.is_(None), Silence.starts_at <= now, Silence.ends_at > now)).one()
    return int(count), first_end

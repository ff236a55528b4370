"""A change made from the shell tells people at once: right after its commit, the command
makes one bounded attempt to deliver the messages it queued (a few seconds at most), and
says what went where. Whatever is left waits for `watch` or a command center, which retry
it; the claim in the deliverer keeps them from sending a message twice."""
from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import func, select as sa_select
from sqlmodel import select

from automation.delivery import Deliverer
from store.activity_log import ActivityLog
from store.models import Notification
from store.operations import IncidentStore

BUDGET_S = 5.0


@dataclass(frozen=True)
class Told:
    """What became of one message this command queued."""

    integration: str
    group: str | None
    state: str      # sent | skipped | pending (queued for watch) | dead
    detail: str | None


def outbox_mark(store: IncidentStore) -> int:
    """The newest outbox row before a command: its own rows come after it."""
    with store.db.read() as session:
        return session.execute(sa_select(func.max(Notification.id))).scalar() or 0


def deliver_now(store: IncidentStore, notifiers: dict, after: int, budget_s: float = BUDGET_S,
                activity: ActivityLog | None = None) -> list[Told]:
    """Try the messages queued after row `after` once each, within `budget_s` seconds; each
    attempt goes to the activity log like any other delivery."""
    deadline = time.monotonic() + budget_s
    with store.db.read() as session:
        mine = list(session.exec(select(Notification).where(Notification.id > after)
                                 .order_by(Notification.id)).all())
    if not mine:
        return []
    deliverer = Deliverer(store, notifiers, timeout=max(0.5, min(budget_s, 5.0)), activity=activity)
    try:
        for row in mine:
            if row.state != "pending" or time.monotonic() >= deadline:
                continue
            deliverer.deliver_one(row)  # one attempt; a failure is rescheduled with backoff as always
    finally:
        deliverer.close()
    with store.db.read() as session:
        rows = session.exec(select(Notification).where(Notification.id.in_([r.id for r in mine]))
                            .order_by(Notification.id)).all()
        return [Told(r.integration, r.stakeholder_group, r.state, r.last_error) for r in rows]


def told_lines(told: list[Told]) -> list[str]:
    """One line per message: "pagerduty (On-Call Engineers): sent"."""
    words = {"sent": "sent", "skipped": "skipped", "pending": "queued for watch", "dead": "failed"}
    lines = []
    for each in told:
        why = f" — {each.detail}" if each.detail and each.state != "sent" else ""
        lines.append(f"{each.integration} ({each.group or '-'}): {words.get(each.state, each.state)}{why}")
    return lines

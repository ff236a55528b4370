"""What an understood alert does to the record of incidents: the intake the alert receiver
is handed (`integrations.intake.Intake`).

A firing change raises its condition (`store.detection.raise_condition`: one open incident
per dedup key; firing again adds a 'condition_firing' event); a cleared one clears it
(`clear_condition`, resolving the incident when every alert of the group cleared), in one
transaction, so a resolve delivered twice changes nothing the second time. Every check
the declaration makes runs before anything is written. The store's clock and policy are
the ones alerts are judged by. An incident the alert opened is handed to
`on_opened(incident_id, change)` when the caller gives one
(`automation.rule_actions.for_alerts` carries out the actions of the rule the alert names).

Grouping and silences come first: with `group_by` (config [alerts]) a Grafana or generic
alert is keyed by those labels (integrations/alert_payloads/grouping.py); a firing alert an
active silence matches is recorded as suppressed (store/silences.py) and declares nothing —
when every firing alert of the notification is silenced, nothing is declared at all.

Errors become the receiver's vocabulary: a value the policy refuses -> IntakeRefused, a
change the store refuses -> IntakeConflict, an unavailable database -> IntakeUnavailable.
"""
from __future__ import annotations

import logging
from datetime import datetime
from dataclasses import replace
from typing import Callable, Collection, Sequence

from integrations.alert_payloads import ConditionChange, plan
from integrations.alert_payloads.grouping import grouped
from integrations.intake import IntakeConflict, IntakeOutcome, IntakeRefused, IntakeUnavailable, IntakeUnknown
from playbooks.clock import to_utc_naive
from playbooks.errors import PolicyValueError
from playbooks.policy import Policy
from playbooks.silences import silencing
from playbooks.validation import check_actor
from store.detection import clear_condition, raise_condition
from store.errors import DatabaseUnavailable, StoreError
from store.heartbeats import record_beat
from store.operations import IncidentStore
from store.silences import Suppression, active_silences, record_suppressed

log = logging.getLogger(__name__)


class AlertIntake:
    """Alerts into incidents through one IncidentStore, written as `actor`.

    Raises PolicyValueError (one sentence) for an actor name the store would refuse."""

    def __init__(self, store: IncidentStore, *, actor: str = "alertmanager",
                 on_opened: Callable[[str, ConditionChange], None] | None = None,
                 heartbeats: Collection[str] = (), group_by: Sequence[str] = ()) -> None:
        self.store = store
        self.group_by = tuple(group_by)  # [alerts] group_by: the labels Grafana and generic alerts group on
        self.heartbeats = frozenset(heartbeats)  # the [heartbeats.NAME] names a beat may name
        self.actor = check_actor(actor)
        self.on_opened = on_opened

    @property
    def policy(self) -> Policy:
        return self.store.policy

    def now(self) -> datetime:
        return self.store.now()

    def take(self, change: ConditionChange) -> IntakeOutcome:
        try:
            change = self._grouped(change)
            if change.firing:
                change = self._unsilenced(change)
                if change is None:  # every firing alert silenced: recorded as suppressed, nothing declared
                    return IntakeOutcome(None)
            detected = self._detected_at(change)
            if change.firing:
                # Every check raise_condition makes, before anything is written.
                self.store.prepare_declaration(
                    change.severity, change.incident_type, change.environment, actor=self.actor,
                    title=change.title, service=change.service, detected_at=detected,
                    dedup_key=change.dedup_key, detail=change.detail)
        except DatabaseUnavailable as exc:
            raise IntakeUnavailable(str(exc)) from None
        except PolicyValueError as exc:  # a StoreError here too: the declaration is refused as sent
            raise IntakeRefused(str(exc)) from None
        try:
            return self._apply(change, detected)
        except DatabaseUnavailable as exc:
            raise IntakeUnavailable(str(exc)) from None
        except StoreError as exc:
            raise IntakeConflict(str(exc)) from None

    def beat(self, name: str) -> IntakeOutcome:
        """A beat of heartbeat `name`: recorded, and the incident its silence opened cleared and
        resolved (store/heartbeats.py)."""
        if name not in self.heartbeats:
            configured = ", ".join(sorted(self.heartbeats)) or "none is configured"
            raise IntakeUnknown(f"there is no heartbeat {name!r}; accepted: a [heartbeats.NAME] of config.toml "
                                f"({configured})")
        try:
            beat = record_beat(self.store, name)
        except DatabaseUnavailable as exc:
            raise IntakeUnavailable(str(exc)) from None
        except StoreError as exc:
            raise IntakeConflict(str(exc)) from None
        return IntakeOutcome(beat.cleared)

    def _grouped(self, change: ConditionChange) -> ConditionChange:
        """Keyed by the [alerts] group_by labels (Grafana, generic; Alertmanager keeps its groupKey)."""
        if not self.group_by or change.notification is None:
            return change
        notification = grouped(change.notification, self.group_by)
        if notification is change.notification:
            return change
        return replace(change, dedup_key=notification.dedup_key, notification=notification,
                       detail={**change.detail, "group_by": notification.extra["group_by"]})

    def _unsilenced(self, change: ConditionChange) -> ConditionChange | None:
        """The change without the firing alerts an active silence matches (each recorded as
        suppressed); None when no firing alert is left. Checked at this instant, so a silence
        past its end silences nothing."""
        notification = change.notification
        if notification is None:
            return change
        now = self.now()
        silences = active_silences(self.store, now)
        if not silences:
            return change
        kept, suppressed = [], []
        for alert in notification.alerts:
            found = silencing(silences, alert.label_map, now) if alert.status == "firing" else None
            if found is None:
                kept.append(alert)
            else:
                suppressed.append(Suppression(found.id, alert.label_map, notification.source, alert.title,
                                              notification.dedup_key))
        if not suppressed:
            return change
        record_suppressed(self.store, suppressed, at=now)
        if not any(alert.status == "firing" for alert in kept):
            return None
        # The rest of the group declares as if the silenced alerts had not been sent.
        planned = plan(replace(notification, alerts=tuple(kept)), self.policy, received_at=now)
        return replace(planned, detail={**planned.detail, "alerts_silenced": len(suppressed)})

    def _detected_at(self, change: ConditionChange) -> datetime | None:
        """When monitoring saw it first; never later than the store's now (a plausible startsAt
        a little ahead of our clock is taken as now)."""
        if change.detected_at is None:
            return None
        detected = to_utc_naive(change.detected_at)
        return detected if detected <= self.store.now() else None

    def _apply(self, change: ConditionChange, detected: datetime | None) -> IntakeOutcome:
        if change.firing:
            incident, created = raise_condition(
                self.store, change.dedup_key, severity=change.severity, incident_type=change.incident_type,
                environment=change.environment, title=change.title, actor=self.actor, service=change.service,
                detected_at=detected, detail=change.detail)
            if created and self.on_opened is not None:
                try:
                    self.on_opened(incident.id, change)
                except Exception:  # the incident is open: what its rule does after must not lose the answer
                    log.exception("the actions for %s failed", incident.id)
            return IntakeOutcome(incident.id, created)
        incident = clear_condition(self.store, change.dedup_key, actor=self.actor, resolve=change.resolve,
                                   detail=change.detail)
        return IntakeOutcome(None if incident is None else incident.id)

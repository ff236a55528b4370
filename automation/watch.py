"""The detection loop: poll sources, store samples, apply rules. Run headless by
`incident-response watch`, or inside the command center."""
from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Callable

from sqlalchemy import delete

from automation.detector import Detector
from automation.compliance_reminders import remind_compliance
from automation.escalation import escalate_overdue, nudge_overdue_updates
from automation.heartbeats import HeartbeatCheck
from automation.sources import PolledSource, SourcePoller
from store.activity_log import ActivityLog
from store.models import MetricSample
from store.operations import IncidentStore

RETENTION = timedelta(days=8)  # a week of baseline and a day to spare
PRUNE_EVERY_S = 3600.0
ESCALATION_CHECK_S = 15.0
# Escalation policies' steps are pages due to the second (a SEV-1's "at once"): with any
# [escalation.*] configured the loop looks for due steps every second (a read of the open,
# unacknowledged incidents a policy covers), the other checks still every ESCALATION_CHECK_S.
POLICY_CHECK_S = 1.0
# How often a `watch` that does not lead tries to (PostgreSQL: any number of hosts), so one
# takes over within seconds of the leader's death.
LEADERSHIP_TRY_S = 1.0


class Watch:
    def __init__(self, store: IncidentStore, sources: list[PolledSource], *, environment: str = "production",
                 on_event: Callable[[str], None] | None = None, log_sources: dict | None = None,
                 notifiers: dict | None = None, activity: ActivityLog | None = None,
                 heartbeats: dict | None = None, oncall_escalation=None) -> None:
        self.store = store
        self.activity = activity
        shown = on_event or (lambda line: None)

        def on_event(line: str) -> None:
            shown(line)
            if activity is not None:
                activity.write("automation", message=line)

        self.show = shown  # the screen only: deliveries log their own structured records
        self.on_event = on_event
        self.notifiers = notifiers or {}
        self.detector = Detector(store, environment=environment, on_event=on_event)
        self.detector.log_sources = log_sources or {}
        self.poller = SourcePoller(sources, self._ingest, clock=store.now)
        # Detection, escalation and nudges run in the leader only (automation/lease.py); a
        # Watch run without a lease leads, as one on its own always has.
        self.leading = True
        self._polling = False
        # [heartbeats.*] silent too long open incidents; checked with escalation (its clock: the store's).
        self.heartbeats = HeartbeatCheck(store, heartbeats or {}, on_event=on_event)
        # [escalation.*] policies (automation/oncall_escalation.py); None: none configured.
        self.oncall_escalation = oncall_escalation
        self.stop = self.poller.stop

    def run(self, stop: threading.Event | None = None, lease=None) -> None:
        """Poll until `stop` (or self.stop) is set. With a `lease` (automation/lease.py), detect,
        escalate and nudge only while holding it, trying for it every LEADERSHIP_TRY_S; every
        Watch delivers the outbox either way (the claims keep deliverers apart: delivery.py)."""
        stop = stop or self.stop
        if lease is not None:
            self.leading = False
        self._lead(lease)
        last_check = float("-inf")  # a new leader checks at once: the old one may have died mid-wait
        deliverer = None
        if self.notifiers:
            from automation.delivery import Deliverer

            # Deliveries are logged with their fields, not as the line shown on screen.
            deliverer = Deliverer(self.store, self.notifiers, on_event=self.show,
                                  activity=self.activity)
            threading.Thread(target=deliverer.run, args=(stop,), name="outbox", daemon=True).start()
        last_prune = 0.0
        try:
            # A step due "after 0s" goes out when the loop starts, not one check interval later.
            if self.leading and self.oncall_escalation is not None:
                self._escalate_by_policy()
            policies = self.oncall_escalation is not None
            tick = min(ESCALATION_CHECK_S, POLICY_CHECK_S if policies else ESCALATION_CHECK_S,
                       LEADERSHIP_TRY_S if lease is not None else ESCALATION_CHECK_S)
            while not stop.wait(tick):
                if lease is not None and not self._lead(lease):
                    continue
                if policies:
                    self._escalate_by_policy()
                if time.monotonic() - last_check < ESCALATION_CHECK_S:
                    continue
                last_check = time.monotonic()
                covered = self.oncall_escalation.covers if policies else None
                for incident_id in escalate_overdue(self.store, covered=covered):
                    self.on_event(f"escalated {incident_id}")
                for incident_id in nudge_overdue_updates(self.store):
                    self.on_event(f"status update overdue on {incident_id}")
                for incident_id, regime, stage in remind_compliance(self.store):
                    self.on_event(f"{regime} reminder ({stage}) on {incident_id}")
                self.heartbeats.check()
                if time.monotonic() - last_prune > PRUNE_EVERY_S:
                    self.prune()
                    last_prune = time.monotonic()
        finally:
            self.poller.close()
            if deliverer is not None:
                deliverer.close()

    def _escalate_by_policy(self) -> None:
        for incident_id, number, persons in self.oncall_escalation.check():
            self.on_event(f"escalation step {number} on {incident_id}: {', '.join(persons) or 'no one'}")

    def _lead(self, lease) -> bool:
        """Try for the lead (without waiting); start detecting on gaining it, and say when
        it is gained or lost."""
        leading = lease is None or lease.acquire()
        if leading and not self._polling:
            self.poller.start()
            self._polling = True
        if lease is not None and leading != self.leading:
            self.on_event("leading: detection, escalation and nudges run here" if leading else
                          "not leading any more (the database connection was lost); delivering still")
        self.leading = leading
        return leading

    def _ingest(self, samples) -> None:
        if self.leading:  # a leader that lost its lock stops detecting until it leads again
            self.detector.ingest(samples)

    def prune(self) -> int:
        cutoff = self.store.now() - RETENTION
        with self.store.db.write_engine.begin() as conn:
            return conn.execute(delete(MetricSample).where(MetricSample.at < cutoff)).rowcount or 0


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


class Watch:
    def __init__(self, store: IncidentStore, sources: list[PolledSource], *, environment: str = "production",
                 on_event: Callable[[str], None] | None = None, log_sources: dict | None = None,
                 notifiers: dict | None = None, activity: ActivityLog | None = None,
                 heartbeats: dict | None = None) -> None:
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
        self.poller = SourcePoller(sources, self.detector.ingest, clock=store.now)
        # [heartbeats.*] silent too long open incidents; checked with escalation (its clock: the store's).
        self.heartbeats = HeartbeatCheck(store, heartbeats or {}, on_event=on_event)
        self.stop = self.poller.stop

    def run(self, stop: threading.Event | None = None) -> None:
        """Poll until `stop` (or self.stop) is set."""
        stop = stop or self.stop
        self.poller.start()
        deliverer = None
        if self.notifiers:
            from automation.delivery import Deliverer

            # Deliveries are logged with their fields, not as the line shown on screen.
            deliverer = Deliverer(self.store, self.notifiers, on_event=self.show,
                                  activity=self.activity)
            threading.Thread(target=deliverer.run, args=(stop,), name="outbox", daemon=True).start()
        last_prune = 0.0
        try:
            while not stop.wait(ESCALATION_CHECK_S):
                for incident_id in escalate_overdue(self.store):
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

    def prune(self) -> int:
        cutoff = self.store.now() - RETENTION
        with self.store.db.write_engine.begin() as conn:
            return conn.execute(delete(MetricSample).where(MetricSample.at < cutoff)).rowcount or 0


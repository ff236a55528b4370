"""Samples in, anomalies and incidents out: the rules of playbooks/rules.toml applied to
every sample as it arrives. One open incident per firing rule (dedup key `rule:NAME`).
A rule that fires while a silence matches its labels (playbooks.silences.rule_labels) is
recorded as suppressed and declares nothing; still firing when the silence ends, it declares then."""
from __future__ import annotations

import threading
from datetime import datetime
from typing import Callable, Iterable

from automation.rule_actions import Facts, RuleActions
from playbooks.rules import RuleEvent, RuleTracker, incident_spec, rule_actions
from playbooks.clock import utc_now
from playbooks.samples import Sample
from playbooks.silences import rule_labels, silencing
from store.detection import clear_condition, raise_condition, record_anomaly, record_samples
from store.operations import IncidentStore
from store.silences import Suppression, active_silences, record_suppressed

# Actions that open the incident itself; automation/rule_actions.py carries out the rest
# (pages, status page, war room, security alert, log collection, proposed runbooks).
OPENING_ACTIONS = {"create_incident", "create_security_incident"}


class Detector:
    def __init__(self, store: IncidentStore, *, actor: str = "automation", environment: str = "production",
                 is_drill: bool = False, keep_samples: bool = True,
                 on_event: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.actor = actor
        self.environment = environment
        self.is_drill = is_drill
        self.keep_samples = keep_samples
        self.on_event = on_event or (lambda line: None)
        self.rules = list(store.policy.rules.rules)
        self.log_sources: dict = {}  # set by the caller when logs are configured
        self.tracker = RuleTracker(still_firing=False)
        self.observations: dict[str, float] = {}
        self.incidents: dict[str, str] = {}  # rule name -> incident id it opened
        # Rules that fired while a silence held them: declared when the silence ends while they
        # still fire (the breach does not fire twice), forgotten when they clear.
        self.silenced: dict[str, RuleEvent] = {}
        self._lock = threading.Lock()  # sources deliver from their own threads

    def dedup_key(self, rule_name: str) -> str:
        return f"{'drill' if self.is_drill else 'rule'}:{rule_name}"

    def ingest(self, samples: Iterable[Sample], now: datetime | None = None) -> list[RuleEvent]:
        samples = list(samples)
        with self._lock:
            if self.keep_samples:
                record_samples(self.store, samples)
            for sample in samples:
                self.observations[sample.metric] = sample.value
            moment = now or max((s.at for s in samples), default=None) or utc_now()
            return self.evaluate(moment)

    def evaluate(self, now: datetime) -> list[RuleEvent]:
        events = []
        for rule in self.rules:
            for event in self.tracker.update(rule, self.observations, now):
                self._handle(rule, event)
                events.append(event)
            held = self.silenced.get(rule.name)
            if held is not None and not self._silenced(rule, held, record=False):
                del self.silenced[rule.name]
                self._handle(rule, held)  # the silence ended while the rule still fires
        return events

    def _silenced(self, rule, event: RuleEvent, *, record: bool = True) -> int | None:
        """The silence in force now that matches the rule's labels (recorded as suppressed when
        `record`), or None. Drills are never silenced: they test what would page."""
        if self.is_drill:
            return None
        spec = incident_spec(rule)
        opening = next((a for a in rule_actions(rule) if a.name in OPENING_ACTIONS), None)
        args = opening.args if opening is not None else {}
        labels = rule_labels(rule.name, service=args.get("service") or getattr(rule, "service", None),
                             environment=args.get("environment", self.environment),
                             severity=spec[0] if spec else None, incident_type=spec[1] if spec else None)
        now = self.store.now()
        found = silencing(active_silences(self.store, now), labels, now)
        if found is not None and record:
            record_suppressed(self.store, [Suppression(found.id, labels, "rule", event.describe(),
                                                       self.dedup_key(rule.name))], at=now)
        return None if found is None else found.id

    def _handle(self, rule, event: RuleEvent) -> None:
        key = self.dedup_key(rule.name)
        if event.kind == "breach_started":
            first = event.holding[0] if event.holding else None
            record_anomaly(self.store, at=event.at, metric=first.metric if first else rule.name,
                           value=first.value if first else None, baseline=None, rule=rule.name,
                           description=event.describe(), incident_id=self.incidents.get(rule.name))
            self.on_event(f"anomaly: {event.describe()}")
        elif event.kind == "fired":
            spec = incident_spec(rule)
            if spec is None:
                self.on_event(f"fired (no incident action): {event.describe()}")
                return
            severity, incident_type = spec
            silence = self._silenced(rule, event) if rule.name not in self.silenced else None
            if silence is not None:
                self.silenced[rule.name] = event
                self.on_event(f"silenced by silence {silence}: {event.describe()}")
                return
            title = (rule.description.rstrip(".") if rule.description else rule.name.replace("_", " ").capitalize())
            if self.is_drill:
                title = f"[DRILL] {title}"
            detail = {"rule": rule.name, "conditions": [str(h) for h in event.holding],
                      "actions": [str(a) for a in rule_actions(rule)]}
            opening = next(a for a in rule_actions(rule) if a.name in OPENING_ACTIONS)
            incident, created = raise_condition(
                self.store, key, severity=severity, incident_type=incident_type,
                environment=opening.args.get("environment", self.environment),
                service=opening.args.get("service") or getattr(rule, "service", None),
                title=opening.args.get("title", title), actor=self.actor, detected_at=event.since if isinstance(event.since, datetime) else None,
                is_drill=self.is_drill, detail=detail)
            self.incidents[rule.name] = incident.id
            if created:  # log collection runs off the sampling thread: a slow source must not delay detection
                RuleActions(self.store, actor=self.actor, log_sources=self.log_sources, on_event=self.on_event) \
                    .carry_out(incident.id, rule, Facts(conditions=tuple(str(h) for h in event.holding)))
            self.on_event(f"{'opened' if created else 'still open'} {incident.id}: {event.describe()}")
        elif event.kind == "cleared":
            self.silenced.pop(rule.name, None)
            incident = clear_condition(self.store, key, actor=self.actor, detail={"rule": rule.name})
            self.on_event(f"cleared {rule.name}" + (f" on {incident.id}" if incident else ""))

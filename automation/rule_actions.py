"""A fired rule's actions, carried out for the incident it opened: a rule of rules.toml fired
by the detector, or named by an inbound alert (its `rule` label, else its alertname).

Each action is a timeline event on the incident, so it is on the audit trail and, for those
that tell people, an outbox message the router sends like any other (store/outbox.py
RULE_ACTION_EVENTS, automation/routing.py):

  page_oncall_engineer()            "oncall_page" -> page: the On-Call Engineers' pagers now,
                                    whatever the severity's matrix row
  update_status_page('identified')  "status_page_update" -> status_page: the public incident
                                    opened or moved to the status named
  start_war_room()                  "war_room_start" -> war_room: Slack opens the incident's channel
  alert_security_team()             "security_alert" -> security_alert: the Security Team's channels
  begin_log_collection()            the logs collected into an evidence bundle, off the caller's
                                    thread (a slow log source must not hold up detection or an
                                    alert's answer)
  isolate_suspicious_sources()      "runbook_proposed": the exact command with the alert's source
                                    address, for a person to confirm (`runbook` or the war room's
                                    `e`); never run here

A drill and the environment's policy still decide what may go out: a drill's page is written
skipped ("drill"), never sent. The actions' arguments come from the action itself
(`begin_log_collection(service='login', log_query='failed password')`), else the rule's
`service` / `log_query`, else what the alert said (its labels), else the incident's service.
An action that cannot be carried out is a note saying why; it never stops the others.
"""
from __future__ import annotations

import ipaddress
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping

from playbooks.errors import PolicyValueError
from playbooks.rules import INCIDENT_ACTIONS, Action, RuleLike, rule_actions
from store.errors import StoreError
from store.operations import IncidentStore
from store.queries import get_incident
from playbooks.timeline import TimelineKind

if TYPE_CHECKING:
    from integrations.alert_payloads import ConditionChange

# The timeline event each telling action writes (and, through store/outbox.py, the message it becomes).
TIMELINE_KINDS = {"page_oncall_engineer": TimelineKind.ONCALL_PAGE,
                  "update_status_page": TimelineKind.STATUS_PAGE_UPDATE,
                  "start_war_room": TimelineKind.WAR_ROOM_START, "alert_security_team": TimelineKind.SECURITY_ALERT}
WHAT = {"page_oncall_engineer": "paging the On-Call Engineers group now",
        "start_war_room": "opening the incident's war-room channel",
        "alert_security_team": "alerting the Security Team"}
PROPOSED = TimelineKind.RUNBOOK_PROPOSED
ISOLATE_RUNBOOK = "isolate_suspicious_sources"
DEFAULT_PAGE_STATUS = "investigating"


@dataclass(frozen=True)
class Facts:
    """What the firing condition said about itself: an alert's labels (service, log_query, its
    source address), the conditions that held. Empty for a rule fired by metrics alone."""

    service: str | None = None
    log_query: str | None = None
    address: str | None = None
    conditions: tuple[str, ...] = ()


class RuleActions:
    """Carries out rules' actions on the incidents they open, for one store."""

    def __init__(self, store: IncidentStore, *, actor: str = "automation", log_sources: Mapping | None = None,
                 on_event: Callable[[str], None] | None = None, evidence_root=None) -> None:
        self.store = store
        self.actor = actor
        self.log_sources = dict(log_sources or {})
        self.on_event = on_event or (lambda line: None)
        self.evidence_root = evidence_root  # None: the data dir's evidence folder

    def carry_out(self, incident_id: str, rule: RuleLike, facts: Facts = Facts()) -> list[threading.Thread]:
        """Every action of `rule` but the one that opened the incident, in the rule's order.
        Returns the log collections started (threads), for a caller that wants to wait."""
        started: list[threading.Thread] = []
        for action in rule_actions(rule):
            if action.name in INCIDENT_ACTIONS:
                continue
            try:
                if action.name in TIMELINE_KINDS:
                    self._tell(incident_id, rule, action, facts)
                elif action.name == "begin_log_collection":
                    collection = self._collect(incident_id, rule, action, facts)
                    if collection is not None:
                        started.append(collection)
                elif action.name == "isolate_suspicious_sources":
                    self._propose_isolation(incident_id, rule, action, facts)
            except (StoreError, PolicyValueError) as exc:  # one sentence for people; the others go on
                self._note(incident_id, f"Rule {rule.name}: {action} was not carried out: {exc}")
        return started

    # -- the actions ----------------------------------------------------------------------
    def _tell(self, incident_id: str, rule: RuleLike, action: Action, facts: Facts) -> None:
        data = {"rule": rule.name, "action": str(action), "conditions": list(facts.conditions)}
        if action.name == "update_status_page":
            status = action.args.get("status", action.args.get("0", DEFAULT_PAGE_STATUS))
            data["page_status"] = status
            what = f"the status page incident {status}"
        else:
            what = WHAT[action.name]
        if action.name == "alert_security_team" and facts.address:
            data["address"] = facts.address
        self._record(incident_id, TIMELINE_KINDS[action.name], f"Rule {rule.name}: {action}, {what}", data)
        self.on_event(f"{incident_id}: {action}")

    def _collect(self, incident_id: str, rule: RuleLike, action: Action, facts: Facts) -> threading.Thread | None:
        if not self.log_sources:
            self._note(incident_id, f"Rule {rule.name}: {action} collected nothing: no log source is configured "
                                    "([logs.splunk] or [logs.elasticsearch] in config.toml)")
            return None
        service = action.args.get("service") or getattr(rule, "service", None) or facts.service
        query = action.args.get("log_query") or getattr(rule, "log_query", None) or facts.log_query
        if not service:
            with self.store.db.read() as session:
                service = get_incident(session, incident_id).service
        if not service:
            self._note(incident_id, f"Rule {rule.name}: {action} collected nothing: neither the rule, the alert "
                                    "nor the incident names a service whose logs to collect")
            return None

        def run() -> None:
            from automation.log_collection import collect_logs

            try:
                bundle = collect_logs(self.store, incident_id, self.log_sources, actor=self.actor, service=service,
                                      query=query, evidence_root=self.evidence_root)
                self.on_event(f"collected {bundle.lines} log lines for {incident_id}")
            except Exception as exc:  # recorded for people; detection goes on
                self._note(incident_id, f"Log collection failed: {exc}")
                self.on_event(f"log collection failed for {incident_id}")

        collection = threading.Thread(target=run, name=f"log-collection:{incident_id}", daemon=True)
        collection.start()
        return collection

    def _propose_isolation(self, incident_id: str, rule: RuleLike, action: Action, facts: Facts) -> None:
        from playbooks.runbooks import find, prepare

        raw = action.args.get("address") or facts.address
        if not raw:
            self._note(incident_id, f"Rule {rule.name}: {action} proposed nothing: no source address was given "
                                    "(an alert's source_ip, client_ip or instance label names it)")
            return
        runbook = find(self.store.policy, ISOLATE_RUNBOOK)
        command = prepare(runbook, {"address": address_of(raw)})
        address = command.params["address"]
        confirm = f"incident-response runbook {incident_id} {runbook.name} address={address}"
        self._record(incident_id, PROPOSED,
                     f"Rule {rule.name} proposes: {command.shown()} (not run; a person confirms it with "
                     f"`{confirm}` or the war room's e key)",
                     {"rule": rule.name, "action": str(action), "runbook": runbook.name,
                      "params": dict(command.params), "argv": list(command.argv), "command": command.shown(),
                      "confirm": confirm})
        self.on_event(f"{incident_id}: proposed {runbook.name} address={address} (needs a person)")

    # -- writing ----------------------------------------------------------------------------
    def _record(self, incident_id: str, kind: TimelineKind, summary: str, data: dict) -> None:
        with self.store.db.write() as session:
            incident = get_incident(session, incident_id)
            self.store.record_event(session, incident, self.store.now(), self.actor, kind, summary, data)

    def _note(self, incident_id: str, text: str) -> None:
        try:
            self.store.add_note(incident_id, text, actor=self.actor)
        except (StoreError, PolicyValueError):
            self.on_event(f"{incident_id}: {text}")  # the incident is gone or closed: say it where we can


def address_of(text: str) -> str:
    """The IP address in an address label: as it is, or without the port of `host:port` /
    `[v6]:port` (Prometheus's `instance`). Anything else is returned as it came, for the
    runbook's own check to refuse in one sentence."""
    text = text.strip()
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if "/" in text:
        return text  # a network: the runbook's ip parameter checks it
    host = text[1:].partition("]")[0] if text.startswith("[") else text.rpartition(":")[0]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return text


def facts_of(change: "ConditionChange") -> Facts:
    """What an alert said, for the actions of the rule it names."""
    return Facts(service=change.service, log_query=change.log_query, address=change.address)


def for_alerts(store: IncidentStore, *, log_sources: Mapping | None = None, actor: str = "alertmanager",
               on_event: Callable[[str], None] | None = None,
               evidence_root=None) -> Callable[[str, "ConditionChange"], None]:
    """The alert receiver's `on_opened`: an incident an alert opened gets the actions of the
    rule the alert names (nothing when it names none)."""
    actions = RuleActions(store, actor=actor, log_sources=log_sources, on_event=on_event,
                          evidence_root=evidence_root)

    def on_opened(incident_id: str, change: "ConditionChange") -> None:
        rule = next((r for r in store.policy.rules.rules if r.name == change.rule), None) if change.rule else None
        if rule is not None:
            actions.carry_out(incident_id, rule, facts_of(change))
    return on_opened

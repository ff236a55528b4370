"""One builder for the automation loop (metric sources, rules, log collection, outbox
delivery, escalation), so `incident-response watch` and the command center run the same
thing from the same configuration."""
from __future__ import annotations

from typing import Callable

from automation.config import log_sources_from_config, sources_from_config
from automation.notifiers import notifiers_from_config
from automation.oncall_escalation import OncallEscalation
from automation.watch import Watch
from playbooks.config import Configuration
from store.activity_log import activity_log_from_config
from store.operations import IncidentStore


def build_watch(store: IncidentStore, configuration: Configuration, *, environment: str = "production",
                on_event: Callable[[str], None] | None = None, notifiers: dict | None = None) -> Watch:
    """The loop for `store` as `configuration` says. `notifiers` already built from the same
    configuration (the CLI builds them when it opens the store) are used as they are."""
    return Watch(store, sources_from_config(configuration), environment=environment, on_event=on_event,
                 log_sources=log_sources_from_config(configuration),
                 notifiers=notifiers_from_config(configuration) if notifiers is None else notifiers,
                 activity=activity_log_from_config(configuration, clock=store.now),
                 heartbeats=configuration.heartbeats,
                 oncall_escalation=OncallEscalation(store, configuration) if configuration.escalation else None)


def has_work(watch: Watch) -> bool:
    """False when nothing is configured to poll, deliver or check (no source, no integration, no
    heartbeat)."""
    return bool(watch.poller.sources or watch.notifiers or watch.heartbeats or watch.oncall_escalation)

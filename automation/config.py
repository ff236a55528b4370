"""Which metric and log sources run, built from the checked configuration's [sources.*] and
[logs.*] tables (playbooks/config/ documents every key). This host's metrics are on with
no configuration at all (the embedded default)."""
from __future__ import annotations

import importlib
from typing import Any

from automation.sources import PolledSource
from playbooks.config import Configuration
from playbooks.errors import PlaybookError

VENDORS = {  # [sources.NAME] -> the class that reads it (each has from_config)
    "datadog": ("integrations.datadog", "DatadogSource"),
    "newrelic": ("integrations.newrelic", "NewRelicSource"),
    "cloudwatch": ("integrations.cloudwatch", "CloudWatchSource"),
}
LOG_SOURCES = {
    "splunk": ("integrations.splunk", "SplunkSource"),
    "elasticsearch": ("integrations.elasticsearch", "ElasticsearchSource"),
}


def sources_from_config(configuration: Configuration) -> list[PolledSource]:
    """The sources to poll. What the model cannot check (a vendor's own rules) is one
    sentence naming the table."""
    tables = configuration.sources
    sources: list[PolledSource] = []
    if tables.host.enabled:
        from integrations.host import HostMetrics

        sources.append(PolledSource("host", HostMetrics().sample, tables.host.interval, timeout=10))

    if tables.prometheus is not None:
        from integrations.prometheus import PrometheusSource

        table = tables.prometheus
        source = PrometheusSource(table.url, dict(table.queries), table.timeout)
        sources.append(PolledSource("prometheus", source.sample, table.interval,
                                    timeout=table.timeout * max(1, len(table.queries)) + 1))

    for name, (module_name, class_name) in VENDORS.items():
        table = getattr(tables, name)
        if table is None:
            continue
        vendor_class = getattr(importlib.import_module(module_name), class_name)
        try:
            source = vendor_class.from_config(table.model_dump(exclude={"interval"}, exclude_none=True))
        except ValueError as exc:  # its message names the key (sources.NAME.KEY)
            raise PlaybookError(f"{configuration.path or 'config'}: {exc}") from None
        sources.append(PolledSource(name, source.sample, table.interval,
                                    timeout=float(getattr(source, "timeout", 10)) + 2))

    if tables.health is not None and tables.health.checks:
        from integrations.health_checks import HealthCheck, run_health_checks

        checks = [HealthCheck(**check.model_dump()) for check in tables.health.checks]
        sources.append(PolledSource("health", lambda: run_health_checks(checks), tables.health.interval,
                                    timeout=max(c.timeout for c in checks) + 2))
    return sources


def log_sources_from_config(configuration: Configuration) -> dict[str, Any]:
    """Configured log sources by name ({} when none): Splunk and/or Elasticsearch."""
    found: dict[str, Any] = {}
    for name, (module_name, class_name) in LOG_SOURCES.items():
        table = getattr(configuration.logs, name)
        if table is not None:
            found[name] = getattr(importlib.import_module(module_name), class_name)(**table.model_dump())
    return found

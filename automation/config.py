"""Which metric sources run, from config.toml's [sources] table. This host's metrics are
on with no configuration at all (the embedded default).

  [sources.host]
  enabled = true
  interval = 5
  [sources.prometheus]
  url = "http://127.0.0.1:9090"
  interval = 15
  timeout = 5
  [sources.prometheus.queries]
  error_rate = '...PromQL in percent...'
  [sources.health]
  interval = 30
  [[sources.health.checks]]
  name = "api"
  url = "https://api.example.com/healthz"
  expect_status = 200
  timeout = 5

  [logs.splunk]                       # for log collection (war-room key l, rule action)
  url = "https://splunk.example.com:8089"
  token_env = "SPLUNK_TOKEN"
  index = "main"
  [logs.elasticsearch]
  url = "https://es.example.com:9200"
  index = "logs-*"
  api_key_env = "ES_API_KEY"
  service_field = "service.name"
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from automation.sources import PolledSource
from playbooks.errors import PlaybookError
from store.paths import config_path, load_config_file

KNOWN = {"host", "prometheus", "health", "datadog", "newrelic", "cloudwatch"}
VENDORS = {  # [sources.NAME] -> the class that reads it (each has from_config)
    "datadog": ("integrations.datadog", "DatadogSource"),
    "newrelic": ("integrations.newrelic", "NewRelicSource"),
    "cloudwatch": ("integrations.cloudwatch", "CloudWatchSource"),
}


def _number(table: dict, key: str, default: float, where: str, low: float, high: float) -> float:
    value = table.get(key, default)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not low <= value <= high:
        raise PlaybookError(f"{where}.{key} is {value!r}; accepted: a number of seconds from {low:g} to {high:g}")
    return float(value)


def sources_from_config(config: dict[str, Any] | None = None, path: Path | None = None) -> list[PolledSource]:
    """The sources to poll. Config errors are one sentence naming the field."""
    path = path or config_path()
    config = load_config_file(path) if config is None else config
    sources_table = config.get("sources", {})
    if not isinstance(sources_table, dict):
        raise PlaybookError(f"{path}: field sources is not a table; accepted: [sources.host], [sources.prometheus], ...")
    unknown = set(sources_table) - KNOWN
    if unknown:
        raise PlaybookError(f"{path}: field sources.{sorted(unknown)[0]} is not known; accepted: {', '.join(sorted(KNOWN))}")
    for name, table in sources_table.items():
        if not isinstance(table, dict):
            raise PlaybookError(f"{path}: field sources.{name} is not a table; accepted: [sources.{name}] with its keys")
    sources: list[PolledSource] = []

    host = sources_table.get("host", {})
    if not isinstance(host.get("enabled", True), bool):
        raise PlaybookError(f"{path}: field sources.host.enabled is {host['enabled']!r}; accepted: true or false")
    if host.get("enabled", True):
        from integrations.host import HostMetrics

        sampler = HostMetrics()
        sources.append(PolledSource("host", sampler.sample, _number(host, "interval", 5, f"{path}: sources.host", 1, 3600),
                                    timeout=10))

    prometheus = sources_table.get("prometheus")
    if prometheus is not None:
        from integrations.prometheus import PrometheusSource

        where = f"{path}: sources.prometheus"
        url, queries = prometheus.get("url"), prometheus.get("queries", {})
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise PlaybookError(f"{where}.url is {url!r}; accepted: an http:// or https:// URL")
        if not isinstance(queries, dict) or not queries or not all(isinstance(v, str) for v in queries.values()):
            raise PlaybookError(f"{where}.queries must map metric names to PromQL; accepted: error_rate = '...'")
        timeout = _number(prometheus, "timeout", 5, where, 0.1, 60)
        source = PrometheusSource(url, dict(queries), timeout)
        sources.append(PolledSource("prometheus", source.sample, _number(prometheus, "interval", 15, where, 0.2, 3600),
                                    timeout=timeout * max(1, len(queries)) + 1))

    for name, (module_name, class_name) in VENDORS.items():
        table = sources_table.get(name)
        if table is None:
            continue
        import importlib

        where = f"{path}: sources.{name}"
        vendor_class = getattr(importlib.import_module(module_name), class_name)
        try:
            source = vendor_class.from_config(table)
        except ValueError as exc:
            raise PlaybookError(f"{where}: {exc}") from None
        sources.append(PolledSource(name, source.sample, _number(table, "interval", 60, where, 1, 3600),
                                    timeout=float(getattr(source, "timeout", 10)) + 2))

    health = sources_table.get("health")
    if health is not None:
        from integrations.health_checks import health_checks_from_config, run_health_checks

        where = f"{path}: sources.health"
        try:
            checks = health_checks_from_config(health.get("checks", []))
        except ValueError as exc:
            raise PlaybookError(f"{where}.checks: {exc}") from None
        if checks:
            sources.append(PolledSource("health", lambda: run_health_checks(checks),
                                        _number(health, "interval", 30, where, 1, 3600),
                                        timeout=max(c.timeout for c in checks) + 2))
    return sources


def log_sources_from_config(config: dict[str, Any] | None = None, path: Path | None = None) -> dict[str, Any]:
    """Configured log sources by name ({} when none): Splunk and/or Elasticsearch."""
    path = path or config_path()
    config = load_config_file(path) if config is None else config
    logs = config.get("logs", {})
    if not isinstance(logs, dict) or set(logs) - {"splunk", "elasticsearch"}:
        raise PlaybookError(f"{path}: field logs accepts [logs.splunk] and [logs.elasticsearch] only")
    found: dict[str, Any] = {}
    for name, table in logs.items():
        url = table.get("url") if isinstance(table, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise PlaybookError(f"{path}: logs.{name}.url is {url!r}; accepted: an http:// or https:// URL")
        options = {k: v for k, v in table.items() if k != "url"}
        try:
            if name == "splunk":
                from integrations.splunk import SplunkSource

                found[name] = SplunkSource(url, **options)
            else:
                from integrations.elasticsearch import ElasticsearchSource

                found[name] = ElasticsearchSource(url, **options)
        except TypeError as exc:
            raise PlaybookError(f"{path}: logs.{name} has an unknown field ({exc}); accepted: url, index and the "
                                "secret's environment variable name") from None
    return found

"""Which notifiers are configured, from config.toml's [integrations.*] tables. Secrets are
never in the file: each table names the environment variable that holds its secret.

  [integrations.pagerduty]
  url = "https://events.pagerduty.com"       # default; the Events API v2 base URL
  routing_key_env = "PAGERDUTY_ROUTING_KEY"
  [integrations.slack]
  mode = "web_api"                           # or "webhook" (webhook_url_env)
  token_env = "SLACK_BOT_TOKEN"
  incident_channel = "#incidents"
  war_room_creation = true
  status_updates = true

Every key of a table is a parameter of its notifier's class (see integrations/NAME.py),
except two every integration has: `enabled = false` switches it off, and
`max_per_second = N` paces deliveries below the vendor's documented rate limit.
"""
from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

from playbooks.errors import PlaybookError
from store.paths import config_path, load_config_file

# [integrations.NAME] -> (module, class). The comms matrix names these in `integrations`.
NOTIFIERS = {
    "pagerduty": ("integrations.pagerduty", "PagerDutyNotifier"),
    "slack": ("integrations.slack", "SlackNotifier"),
    "statuspage": ("integrations.statuspage", "StatuspageNotifier"),
    "opsgenie": ("integrations.opsgenie", "OpsgenieNotifier"),
    "jira": ("integrations.jira", "JiraNotifier"),
    "servicenow": ("integrations.servicenow", "ServiceNowNotifier"),
    "email": ("integrations.email", "EmailNotifier"),
    "sms": ("integrations.sms", "TwilioNotifier"),
    "webhook": ("integrations.webhook", "WebhookNotifier"),
}


def _build(name: str, table: dict[str, Any], where: str):
    module_name, class_name = NOTIFIERS[name]
    try:
        notifier_class = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        raise PlaybookError(f"{where}: the {name} integration is not available in this version; "
                            f"accepted: {', '.join(n for n in NOTIFIERS if _available(n))}") from None
    parameters = {n: p for n, p in inspect.signature(notifier_class).parameters.items() if n != "self"}
    accepted = list(parameters)
    unknown = sorted(set(table) - set(accepted))
    if unknown:
        raise PlaybookError(f"{where}.{unknown[0]} is not known; accepted: {', '.join(accepted)}")
    for key, value in table.items():
        wanted = _wrong_type(parameters[key].annotation, value)
        if wanted:
            raise PlaybookError(f"{where}.{key} is {value!r}; accepted: {wanted}")
    try:
        return notifier_class(**table)
    except (TypeError, ValueError, AttributeError) as exc:
        raise PlaybookError(f"{where}: {exc}") from None


# Plain parameter types, checked before a notifier is built (its code may assume them).
_PLAIN_TYPES = {"str": ((str,), "a string"), "int": ((int,), "a whole number"),
                "float": ((int, float), "a number"), "bool": ((bool,), "true or false")}


def _wrong_type(annotation: object, value: Any) -> str | None:
    """What a value of a plainly typed parameter ('str', 'float | None', ...) should have
    been, or None when it fits (or the type is not a plain one)."""
    kinds = [part.strip() for part in str(annotation).split("|") if part.strip() != "None"]
    if not kinds or not all(kind in _PLAIN_TYPES for kind in kinds):
        return None
    fits = any(isinstance(value, _PLAIN_TYPES[kind][0]) for kind in kinds)
    if isinstance(value, bool) and "bool" not in kinds:
        fits = False
    return None if fits else " or ".join(_PLAIN_TYPES[kind][1] for kind in kinds)


def _available(name: str) -> bool:
    try:
        module_name, class_name = NOTIFIERS[name]
        return hasattr(importlib.import_module(module_name), class_name)
    except ImportError:
        return False


def notifiers_from_config(config: dict[str, Any] | None = None, path: Path | None = None) -> dict[str, Any]:
    path = path or config_path()
    config = load_config_file(path) if config is None else config
    tables = config.get("integrations", {})
    if not isinstance(tables, dict):
        raise PlaybookError(f"{path}: field integrations is not a table; accepted: [integrations.pagerduty], ...")
    notifiers: dict[str, Any] = {}
    for name, table in tables.items():
        where = f"{path}: integrations.{name}"
        if name not in NOTIFIERS:
            raise PlaybookError(f"{where} is not known; accepted: {', '.join(NOTIFIERS)}")
        if not isinstance(table, dict):
            raise PlaybookError(f"{where} is not a table; accepted: [integrations.{name}] with its keys")
        if table.get("enabled", True) is False:
            continue
        pace = table.get("max_per_second")
        if pace is not None and (isinstance(pace, bool) or not isinstance(pace, (int, float)) or pace <= 0):
            raise PlaybookError(f"{where}.max_per_second is {pace!r}; accepted: a positive number of requests "
                                "per second (the vendor's documented limit)")
        notifier = _build(name, {k: v for k, v in table.items() if k not in ("enabled", "max_per_second")}, where)
        if pace is not None:
            notifier.max_per_second = pace  # read by the deliverer, which paces below it
        notifiers[name] = notifier
    return notifiers

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

Every key of a table is a parameter of its notifier's class (see integrations/NAME.py).
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
    accepted = [p for p in inspect.signature(notifier_class).parameters if p != "self"]
    unknown = sorted(set(table) - set(accepted))
    if unknown:
        raise PlaybookError(f"{where}.{unknown[0]} is not known; accepted: {', '.join(accepted)}")
    try:
        return notifier_class(**table)
    except (TypeError, ValueError) as exc:
        raise PlaybookError(f"{where}: {exc}") from None


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
        notifiers[name] = _build(name, {k: v for k, v in table.items() if k != "enabled"}, where)
    return notifiers

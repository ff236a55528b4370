"""The configured notifiers, built from the checked configuration's [integrations.*] tables
(playbooks/config/ documents every key). Secrets are never in the file: each table names
the environment variable that holds its secret.

Every key of a table is a parameter of its notifier's class (a test holds the two equal),
except two every integration has: `enabled = false` switches it off, and
`max_per_second = N` paces deliveries below the vendor's documented rate limit.
"""
from __future__ import annotations

import importlib
from typing import Any

from playbooks.config import Configuration, Integration
from playbooks.errors import PlaybookError

# [integrations.NAME] -> (module, class). The comms matrix names these in `integrations`.
NOTIFIERS = {
    "pagerduty": ("integrations.pagerduty", "PagerDutyNotifier"),
    "slack": ("integrations.slack", "SlackNotifier"),
    "statuspage": ("integrations.statuspage", "StatuspageNotifier"),
    "opsgenie": ("integrations.opsgenie", "OpsgenieNotifier"),
    "jira": ("integrations.jira", "JiraNotifier"),
    "servicenow": ("integrations.servicenow", "ServiceNowNotifier"),
    "remedy": ("integrations.remedy", "RemedyNotifier"),
    "cherwell": ("integrations.cherwell", "CherwellNotifier"),
    "email": ("integrations.email", "EmailNotifier"),
    "sms": ("integrations.sms", "TwilioNotifier"),
    "webhook": ("integrations.webhook", "WebhookNotifier"),
    "teams": ("integrations.teams", "TeamsNotifier"),
    "voice": ("integrations.voice", "VoiceNotifier"),
}
COMMON_KEYS = frozenset(Integration.model_fields)


def notifier_class(name: str) -> type:
    module_name, class_name = NOTIFIERS[name]
    return getattr(importlib.import_module(module_name), class_name)


def notifier_parameters(table: Integration) -> dict[str, Any]:
    """The table's keys that are its notifier's parameters."""
    return table.model_dump(exclude=set(COMMON_KEYS))


def notifiers_from_config(configuration: Configuration) -> dict[str, Any]:
    """The enabled integrations' notifiers by name. What the model cannot check (a notifier's
    own rules) is one sentence naming the table."""
    notifiers: dict[str, Any] = {}
    for name, table in configuration.integrations.configured().items():
        try:
            notifier = notifier_class(name)(**notifier_parameters(table))
        except (TypeError, ValueError) as exc:
            raise PlaybookError(f"{configuration.path or 'config'}: integrations.{name}: {exc}") from None
        if table.max_per_second is not None:
            notifier.max_per_second = table.max_per_second  # read by the deliverer, which paces below it
        notifiers[name] = notifier
    return notifiers

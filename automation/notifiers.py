"""Which notifiers are configured, from config.toml's [integrations.*] tables. Secrets are
never in the file: each table names the environment variable that holds its secret.

  [integrations.pagerduty]
  url = "https://events.pagerduty.com"       # default; the Events API v2 base URL
  routing_key_env = "PAGERDUTY_ROUTING_KEY"
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from playbooks.errors import PlaybookError
from store.paths import config_path, load_config_file


def notifiers_from_config(config: dict[str, Any] | None = None, path: Path | None = None) -> dict[str, Any]:
    path = path or config_path()
    config = load_config_file(path) if config is None else config
    tables = config.get("integrations", {})
    if not isinstance(tables, dict):
        raise PlaybookError(f"{path}: field integrations is not a table; accepted: [integrations.pagerduty], ...")
    notifiers: dict[str, Any] = {}
    pagerduty = tables.get("pagerduty")
    if pagerduty is not None:
        from integrations.pagerduty import PagerDutyNotifier

        unknown = set(pagerduty) - {"url", "routing_key_env", "source"}
        if unknown:
            raise PlaybookError(f"{path}: integrations.pagerduty.{sorted(unknown)[0]} is not known; "
                                "accepted: url, routing_key_env, source")
        url = pagerduty.get("url", "https://events.pagerduty.com")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise PlaybookError(f"{path}: integrations.pagerduty.url is {url!r}; accepted: an http(s) URL")
        notifiers["pagerduty"] = PagerDutyNotifier(url=url, **{k: v for k, v in pagerduty.items() if k != "url"})
    return notifiers

"""Which open incident an alert belongs to: its group. Pure: no I/O, no store.

- Alertmanager groups alerts itself (its route's `group_by`) and names the group in
  `groupKey`; every notification of a group, whichever alerts it carries and however many
  posts a burst takes, keys one incident `am:<groupKey>` (notification.py). Nothing here
  changes that.
- Grafana and the generic form: with `[alerts] group_by` configured (label names, e.g.
  ["alertname", "service"]), the group is those labels' values on the notification's first
  firing alert (its first alert when none fires), a label it lacks counting as empty, so
  alerts that agree on them attach to one open incident. Without it they keep their own
  keys (Grafana's fingerprint, the generic `key`).

Never the summary or title: two alerts that read alike are different groups when their
labels differ, and one group whose summaries differ is one incident.
"""
from __future__ import annotations

import json
from dataclasses import replace
from typing import Sequence

from integrations.alert_payloads.notification import Notification, dedup_key

GROUPED_SOURCES = ("grafana", "generic")


def group_labels(notification: Notification, group_by: Sequence[str]) -> dict[str, str]:
    """The values of the `group_by` labels that decide the notification's group."""
    firing = [alert for alert in notification.alerts if alert.status == "firing"]
    anchor = (firing or list(notification.alerts))[0]
    labels = anchor.label_map
    return {name: labels.get(name, "") for name in group_by}


def grouped(notification: Notification, group_by: Sequence[str]) -> Notification:
    """The notification keyed by its `group_by` labels (Grafana, generic), or as it came."""
    if not group_by or notification.source not in GROUPED_SOURCES:
        return notification
    values = group_labels(notification, group_by)
    raw = "group:" + json.dumps(values, separators=(",", ":"), ensure_ascii=False)
    return replace(notification, dedup_key=dedup_key(notification.source, raw),
                   extra={**notification.extra, "group_by": values})

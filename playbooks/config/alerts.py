"""[alerts]: how inbound alerts (`serve`) attach to incidents."""
from __future__ import annotations

from pydantic import Field, field_validator

from playbooks.config.table import Table
from playbooks.silences import LABEL_NAME

MAX_GROUP_BY = 20


class AlertsTable(Table):
    """Inbound alerts. Alertmanager groups its own alerts (its route's group_by) and names the
    group in groupKey: one incident per groupKey whatever is set here."""

    group_by: list[str] = Field(default_factory=list, description=(
        "label names whose values group Grafana and generic alerts into one open incident (a label an "
        "alert lacks counts as empty); the generic form's labels are its `labels` object plus key, "
        "service, severity, type, environment and rule; empty: each keeps its own key (Grafana's "
        "fingerprint, the generic `key`). Never grouped by summary text"),
        examples=[["alertname", "service"]])

    @field_validator("group_by")
    @classmethod
    def _label_names(cls, names: list[str]) -> list[str]:
        bad = next((name for name in names if not LABEL_NAME.match(name)), None)
        if bad is not None:
            raise ValueError(f"{bad!r} is not a label name; accepted: letters, digits and _, not starting with a "
                             "digit (alertname, service)")
        if len(set(names)) != len(names):
            raise ValueError("a label is named twice; accepted: each label once")
        if len(names) > MAX_GROUP_BY:
            raise ValueError(f"{len(names)} labels; accepted: at most {MAX_GROUP_BY}")
        return names

"""One row of the incident list, as the dashboard, `list` and the palette read it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from playbooks.clock import iso_z


@dataclass(frozen=True)
class IncidentSummary:
    """One row of the incident list."""

    id: str
    severity: str
    type: str
    environment: str
    status: str
    title: str
    declared_at: datetime
    acknowledged_at: datetime | None
    response_due_at: datetime
    next_update_due_at: datetime | None
    service: str | None = None  # what the dashboard's / filter matches besides id, title, severity, status
    commander: str | None = None  # the incident commander now, read only when asked for (with_commander)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "severity": self.severity, "type": self.type, "environment": self.environment,
            "status": self.status, "title": self.title, "declared_at": iso_z(self.declared_at),
            "acknowledged_at": iso_z(self.acknowledged_at), "response_due_at": iso_z(self.response_due_at),
            "next_update_due_at": iso_z(self.next_update_due_at),
        }

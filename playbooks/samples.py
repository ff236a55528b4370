"""A metric sample: what every source (this host, Prometheus, Datadog, ...) returns and what
detection reads. Pure vocabulary, so sources need nothing of the store to produce one."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Sample:
    source: str
    metric: str
    at: datetime  # naive UTC (playbooks.clock)
    value: float

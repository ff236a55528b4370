"""Prometheus HTTP API as a metric source: one PromQL expression per dashboard metric.

  [sources.prometheus]
  url = "http://127.0.0.1:9090"
  interval = 15        # seconds between polls
  timeout = 5          # seconds a query may take
  [sources.prometheus.queries]
  error_rate = 'sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) * 100'

Expressions must produce the canonical units of the rules (percent, seconds, per hour).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

import httpx

from integrations.errors import SourceUnavailable
from playbooks.clock import utc_now
from playbooks.samples import Sample


@dataclass(frozen=True)
class PrometheusSource:
    url: str
    queries: dict[str, str]
    timeout: float = 5.0

    def sample(self, client: httpx.Client | None = None, clock: Callable[[], datetime] = utc_now) -> list[Sample]:
        """Run every instant query; a vector result contributes the sum of its series."""
        own = client is None
        client = client or httpx.Client(timeout=self.timeout)
        try:
            samples = []
            for metric, expression in self.queries.items():
                value = self.instant(client, expression)
                if value is not None:
                    samples.append(Sample("prometheus", metric, clock(), value))
            return samples
        finally:
            if own:
                client.close()

    def instant(self, client: httpx.Client, expression: str) -> float | None:
        try:
            response = client.get(f"{self.url.rstrip('/')}/api/v1/query", params={"query": expression})
        except httpx.HTTPError as exc:
            raise SourceUnavailable(f"Prometheus at {self.url} is unreachable ({type(exc).__name__})") from None
        try:
            body = response.json()
        except ValueError:
            raise SourceUnavailable(f"Prometheus at {self.url} answered {response.status_code} without JSON") from None
        if response.status_code != 200 or body.get("status") != "success":
            raise SourceUnavailable(f"Prometheus rejected {expression!r}: {body.get('error', response.status_code)}")
        return _value_of(body.get("data", {}))

    def range(self, client: httpx.Client, expression: str, start: datetime, end: datetime,
              step: float) -> list[tuple[datetime, float]]:
        """A range query, summed across series per timestamp (for baselines and drills)."""
        params = {"query": expression, "start": _unix(start), "end": _unix(end), "step": step}
        try:
            response = client.get(f"{self.url.rstrip('/')}/api/v1/query_range", params=params)
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SourceUnavailable(f"Prometheus range query failed ({type(exc).__name__})") from None
        if body.get("status") != "success":
            raise SourceUnavailable(f"Prometheus rejected {expression!r}: {body.get('error')}")
        totals: dict[float, float] = {}
        for series in body["data"].get("result", []):
            for at, value in series.get("values", []):
                number = float(value)
                if math.isfinite(number):
                    totals[float(at)] = totals.get(float(at), 0.0) + number
        return [(datetime.fromtimestamp(at, timezone.utc).replace(tzinfo=None), v) for at, v in sorted(totals.items())]


def _unix(moment: datetime) -> float:
    return moment.replace(tzinfo=timezone.utc).timestamp()


def _value_of(data: dict) -> float | None:
    kind = data.get("resultType")
    result = data.get("result")
    if kind == "scalar" and isinstance(result, list) and len(result) == 2:
        values = [float(result[1])]
    elif kind == "vector" and isinstance(result, list):
        values = [float(series["value"][1]) for series in result if "value" in series]
    else:
        return None
    values = [v for v in values if math.isfinite(v)]
    return sum(values) if values else None

"""Datadog metrics query (API v1 "Query timeseries points") as a metric source.

  [sources.datadog]
  url = "https://api.datadoghq.com"   # your site's API host: api.datadoghq.eu, api.us5.datadoghq.com, ...
  api_key_env = "DD_API_KEY"          # names of environment variables, never the keys themselves
  app_key_env = "DD_APP_KEY"
  window = 300                        # seconds of history each query asks for (from = now - window)
  interval = 30                       # seconds between polls
  timeout = 10                        # seconds a query may take
  [sources.datadog.queries]
  error_rate = "sum:trace.http.request.errors{service:api}.as_rate() / sum:trace.http.request.hits{service:api}.as_rate() * 100"
  response_time = "avg:trace.http.request.duration{service:api}"

Queries must produce the canonical units of the rules (percent, seconds, per hour).
Each metric takes the latest non-null point of its series; a query answering several
series (a `by {...}` grouping) contributes the sum of their latest points, as the
Prometheus source sums a vector.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import httpx

from integrations.errors import SourceUnavailable
from integrations.http import checked_config, env_secret, redact
from playbooks.clock import utc_now
from playbooks.samples import Sample

DEFAULT_URL = "https://api.datadoghq.com"


@dataclass(frozen=True)
class DatadogSource:
    queries: dict[str, str]
    url: str = DEFAULT_URL
    api_key_env: str = "DD_API_KEY"
    app_key_env: str = "DD_APP_KEY"
    window: float = 300.0
    timeout: float = 10.0

    @classmethod
    def from_config(cls, table: dict[str, Any]) -> "DatadogSource":
        """Build from a [sources.datadog] table; `interval` belongs to the poller and is ignored.

        Raises ValueError, one sentence naming the key and what is accepted.
        """
        values = checked_config("sources.datadog", table, cls, url_key="url")
        if not all(isinstance(query, str) and query.strip() for query in values["queries"].values()):
            raise ValueError("sources.datadog.queries must map metric names to Datadog query strings; "
                             "accepted: error_rate = 'sum:...{service:api}'")
        return cls(**values)

    def sample(self, client: httpx.Client | None = None, clock: Callable[[], datetime] = utc_now) -> list[Sample]:
        """Run every query over the last `window` seconds; one sample per metric that has a point."""
        headers = {
            "DD-API-KEY": env_secret(self.api_key_env, "Datadog"),
            "DD-APPLICATION-KEY": env_secret(self.app_key_env, "Datadog"),
            "Accept": "application/json",
        }
        secrets = (headers["DD-API-KEY"], headers["DD-APPLICATION-KEY"])
        own = client is None
        client = client or httpx.Client(timeout=self.timeout)
        try:
            samples = []
            for metric, query in self.queries.items():
                now = clock()
                value = self.query(client, query, now - timedelta(seconds=self.window), now, headers, secrets)
                if value is not None:
                    samples.append(Sample("datadog", metric, now, value))
            return samples
        finally:
            if own:
                client.close()

    def query(self, client: httpx.Client, query: str, start: datetime, end: datetime,
              headers: dict[str, str], secrets: tuple[str, ...] = ()) -> float | None:
        params = {"from": str(_unix(start)), "to": str(max(_unix(end), _unix(start) + 1)), "query": query}
        try:
            response = client.get(f"{self.url.rstrip('/')}/api/v1/query", params=params, headers=headers,
                                  timeout=self.timeout)
        except httpx.TimeoutException:
            raise SourceUnavailable(f"Datadog at {self.url} did not answer within {self.timeout:g}s") from None
        except httpx.HTTPError as exc:
            raise SourceUnavailable(f"Datadog at {self.url} is unreachable ({type(exc).__name__})") from None
        status = response.status_code
        if status == 429:
            reset = response.headers.get("X-RateLimit-Reset")
            after = f" (resets in {reset}s)" if reset and reset.isdigit() else ""
            raise SourceUnavailable(f"Datadog rate limit reached for metric queries{after}")
        if status in (401, 403):
            raise SourceUnavailable(f"Datadog rejected the API or application key ({status}); check "
                                    f"{self.api_key_env} and {self.app_key_env}")
        try:
            body = response.json()
        except ValueError:
            raise SourceUnavailable(f"Datadog at {self.url} answered {status} without JSON") from None
        if not isinstance(body, dict):
            raise SourceUnavailable(f"Datadog at {self.url} answered {status} with an unexpected body")
        if status != 200:
            raise SourceUnavailable(f"Datadog rejected query {query!r} ({status}): "
                                    f"{redact(_errors_text(body), secrets) or 'no reason given'}")
        if body.get("status") != "ok":
            reason = body.get("error") or _errors_text(body) or f"status {body.get('status')!r}"
            raise SourceUnavailable(f"Datadog rejected query {query!r}: {redact(str(reason), secrets)}")
        series = body.get("series")
        if not isinstance(series, list):
            raise SourceUnavailable(f"Datadog answered query {query!r} without a series list")
        try:
            latest = [_latest_point(entry["pointlist"]) for entry in series]
        except (KeyError, TypeError, ValueError, IndexError):
            raise SourceUnavailable(f"Datadog answered query {query!r} with malformed points") from None
        values = [value for value in latest if value is not None]
        return sum(values) if values else None


def _latest_point(pointlist: list) -> float | None:
    """The value of the newest point whose value is a finite number ([ms, value] pairs)."""
    best: tuple[float, float] | None = None
    for at, value in pointlist:
        if value is None or isinstance(value, bool) or isinstance(at, bool):
            continue
        at, value = float(at), float(value)
        if math.isfinite(value) and (best is None or at >= best[0]):
            best = (at, value)
    return None if best is None else best[1]


def _errors_text(body: dict) -> str:
    errors = body.get("errors")
    if isinstance(errors, list):
        return "; ".join(str(error) for error in errors)
    return str(errors) if errors else ""


def _unix(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp())

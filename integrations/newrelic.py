"""New Relic NerdGraph (GraphQL) NRQL queries as a metric source.

  [sources.newrelic]
  url = "https://api.newrelic.com"      # EU region: https://api.eu.newrelic.com
  account_id = 1234567
  api_key_env = "NEW_RELIC_API_KEY"     # the variable holding a User key (NRAK-...), never the key
  interval = 60                         # seconds between polls
  timeout = 10                          # seconds a query may take
  [sources.newrelic.queries]
  error_rate = "SELECT percentage(count(*), WHERE error IS true) FROM Transaction WHERE appName = 'api' SINCE 5 minutes ago"
  response_time = "SELECT average(duration) FROM Transaction WHERE appName = 'api' SINCE 5 minutes ago"

NRQL must produce the canonical units of the rules (percent, seconds, per hour). The
value is the first number of the first result row (nested objects such as percentile
results are searched in order); for a TIMESERIES query, the newest bucket holding a
number. The NRQL text travels as a GraphQL variable, never spliced into the document.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

import httpx

from integrations.errors import SourceUnavailable
from integrations.http import checked_config, env_secret, redact
from playbooks.clock import utc_now
from playbooks.samples import Sample

DEFAULT_URL = "https://api.newrelic.com"

# The NRQL and the account travel as variables: nothing from config is formatted into GraphQL.
NRQL_DOCUMENT = (
    "query IncidentResponseSample($accountId: Int!, $nrql: Nrql!) "
    "{ actor { account(id: $accountId) { nrql(query: $nrql) { results } } } }"
)

_NOT_VALUES = {"beginTimeSeconds", "endTimeSeconds", "timestamp", "facet", "comparison"}


@dataclass(frozen=True)
class NewRelicSource:
    account_id: int
    queries: dict[str, str]
    url: str = DEFAULT_URL
    api_key_env: str = "NEW_RELIC_API_KEY"
    timeout: float = 10.0

    @classmethod
    def from_config(cls, table: dict[str, Any]) -> "NewRelicSource":
        """Build from a [sources.newrelic] table; `interval` belongs to the poller and is ignored.

        Raises ValueError, one sentence naming the key and what is accepted.
        """
        values = checked_config("sources.newrelic", table, cls, url_key="url")
        account = values.get("account_id")
        if not isinstance(account, int) or isinstance(account, bool) or account <= 0:
            raise ValueError(f"sources.newrelic.account_id is {account!r}; accepted: your numeric account id")
        if not all(isinstance(nrql, str) and nrql.strip() for nrql in values["queries"].values()):
            raise ValueError("sources.newrelic.queries must map metric names to NRQL strings; "
                             "accepted: error_rate = 'SELECT ... FROM Transaction SINCE 5 minutes ago'")
        return cls(**values)

    def sample(self, client: httpx.Client | None = None, clock: Callable[[], datetime] = utc_now) -> list[Sample]:
        """Run every NRQL query; one sample per metric whose result holds a number."""
        key = env_secret(self.api_key_env, "New Relic")
        own = client is None
        client = client or httpx.Client(timeout=self.timeout)
        try:
            samples = []
            for metric, nrql in self.queries.items():
                value = self.nrql(client, nrql, key)
                if value is not None:
                    samples.append(Sample("newrelic", metric, clock(), value))
            return samples
        finally:
            if own:
                client.close()

    def nrql(self, client: httpx.Client, nrql: str, key: str) -> float | None:
        payload = {"query": NRQL_DOCUMENT, "variables": {"accountId": int(self.account_id), "nrql": nrql}}
        headers = {"API-Key": key, "Content-Type": "application/json", "Accept": "application/json"}
        try:
            response = client.post(f"{self.url.rstrip('/')}/graphql", json=payload, headers=headers,
                                   timeout=self.timeout)
        except httpx.TimeoutException:
            raise SourceUnavailable(f"New Relic at {self.url} did not answer within {self.timeout:g}s") from None
        except httpx.HTTPError as exc:
            raise SourceUnavailable(f"New Relic at {self.url} is unreachable ({type(exc).__name__})") from None
        status = response.status_code
        if status == 429:
            raise SourceUnavailable("New Relic rate limit reached for NerdGraph queries")
        if status in (401, 403):
            raise SourceUnavailable(f"New Relic rejected the API key ({status}); check {self.api_key_env}")
        try:
            body = response.json()
        except ValueError:
            raise SourceUnavailable(f"New Relic at {self.url} answered {status} without JSON") from None
        if not isinstance(body, dict):
            raise SourceUnavailable(f"New Relic at {self.url} answered {status} with an unexpected body")
        errors = body.get("errors")
        if status >= 500:
            reason = f" ({redact(_error_text(errors), (key,))})" if errors else ""
            raise SourceUnavailable(f"New Relic at {self.url} answered {status}{reason}")
        if errors:
            raise SourceUnavailable(f"New Relic rejected NRQL {nrql!r}: {redact(_error_text(errors), (key,))}")
        if status != 200:
            raise SourceUnavailable(f"New Relic at {self.url} answered {status}")
        try:
            results = body["data"]["actor"]["account"]["nrql"]["results"]
        except (KeyError, TypeError):
            raise SourceUnavailable(f"New Relic answered NRQL {nrql!r} without data.actor.account.nrql.results") from None
        if not isinstance(results, list) or not all(isinstance(row, dict) for row in results):
            raise SourceUnavailable(f"New Relic answered NRQL {nrql!r} with malformed results")
        return _value_of(results)


def _value_of(results: list[dict]) -> float | None:
    if not results:
        return None
    if any("beginTimeSeconds" in row for row in results):  # TIMESERIES: newest bucket with a number
        buckets = sorted(results, key=lambda row: _number(row.get("beginTimeSeconds")) or 0.0, reverse=True)
        for row in buckets:
            value = _first_number(row)
            if value is not None:
                return value
        return None
    return _first_number(results[0])


def _first_number(row: Any) -> float | None:
    if not isinstance(row, dict):
        return None
    for key, value in row.items():
        if key in _NOT_VALUES:
            continue
        number = _first_number(value) if isinstance(value, dict) else _number(value)
        if number is not None:
            return number
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _error_text(errors: Any) -> str:
    if isinstance(errors, list):
        messages = [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors]
        return "; ".join(messages) or "an error with no message"
    return str(errors)

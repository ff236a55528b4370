"""Elasticsearch as a log source: `_search` for one service and time window.

  [logs.elasticsearch]
  url = "https://es.example.com:9200"
  index = "logs-*"                 # index, alias or pattern searched
  service_field = "service.name"   # the field naming the service (ECS)
  api_key_env = "ES_API_KEY"       # environment variable holding the encoded API key
  timeout = 30                     # seconds the whole search may take

The service name goes into a JSON `term` filter, never into a query string, so any
value is safe to send. A log query (a rule's or an alert's `log_query`) is a
`simple_query_string` filter: Elasticsearch's forgiving syntax, which never fails the search
and cannot run scripts.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import httpx

from integrations.errors import SourceUnavailable
from integrations.http import LOG_USER_AGENT, checked_limit, where
from integrations.secrets import secret_from_env
from playbooks.errors import PolicyValueError

INDEX_PATTERN = re.compile(r"[A-Za-z0-9_.:*,+-]{1,255}")
FIELD_PATTERN = re.compile(r"[A-Za-z0-9_.@-]{1,200}")


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a Z; naive datetimes are UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds") + "Z"


def search_body(service_field: str, service: str, start: datetime, end: datetime, limit: int,
                query: str | None = None) -> dict[str, Any]:
    filters: list[dict[str, Any]] = [
        {"term": {service_field: service}},
        {"range": {"@timestamp": {"gte": iso(start), "lte": iso(end)}}},
    ]
    if query and str(query).strip():
        filters.append({"simple_query_string": {"query": str(query).strip(), "default_operator": "and"}})
    return {
        "query": {"bool": {"filter": filters}},
        "size": checked_limit(limit),
        "sort": [{"@timestamp": {"order": "asc"}}],
    }


@dataclass(frozen=True)
class ElasticsearchSource:
    url: str
    index: str = "logs-*"
    api_key_env: str = "ES_API_KEY"
    service_field: str = "service.name"
    timeout: float = 30.0

    def search(self, service: str, start: datetime, end: datetime, limit: int = 10000,
               client: httpx.Client | None = None, query: str | None = None) -> list[dict]:
        """The `_source` of each matching document, oldest first. Raises SourceUnavailable
        (one sentence) when Elasticsearch cannot answer."""
        if not INDEX_PATTERN.fullmatch(str(self.index)) or str(self.index).startswith(("_", "-", "+")):
            raise PolicyValueError(f"the Elasticsearch index {str(self.index)[:60]!r} is not an index name or pattern; "
                                   "accepted: letters, digits, asterisk, underscore, dot, colon, comma and hyphen")
        if not FIELD_PATTERN.fullmatch(str(self.service_field)):
            raise PolicyValueError(f"the Elasticsearch service field {str(self.service_field)[:60]!r} is not a field name; "
                                   "accepted: letters, digits, underscore, dot, at sign and hyphen")
        if service is None or not str(service).strip():
            raise PolicyValueError("the service name is empty; accepted: the incident's service")
        body = search_body(self.service_field, str(service), start, end, limit, query)
        key = secret_from_env(self.api_key_env).strip()
        site = where(self.url)
        if not key:
            raise SourceUnavailable(f"Elasticsearch at {site} has no API key: "
                                    f"the environment variable {self.api_key_env} is not set")
        deadline = time.monotonic() + self.timeout
        own = client is None
        client = client or httpx.Client(timeout=self.timeout, headers={"User-Agent": LOG_USER_AGENT})
        target = f"{self.url.rstrip('/')}/{quote(self.index, safe='*,:+')}/_search"
        try:
            with client.stream("POST", target, content=json.dumps(body).encode(),
                               headers={"Authorization": f"ApiKey {key}",
                                        "Content-Type": "application/json"}) as response:
                raw = bytearray()
                for chunk in response.iter_bytes():
                    raw += chunk
                    if time.monotonic() > deadline:
                        raise SourceUnavailable(f"Elasticsearch at {site} did not finish within {self.timeout:g} s")
                status = response.status_code
        except httpx.TimeoutException:
            raise SourceUnavailable(f"Elasticsearch at {site} did not answer within {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise SourceUnavailable(f"Elasticsearch at {site} is unreachable ({type(exc).__name__})") from None
        finally:
            if own:
                client.close()
        if status in (401, 403):
            raise SourceUnavailable(f"Elasticsearch at {site} refused the API key from {self.api_key_env} (HTTP {status})")
        try:
            answer = json.loads(raw)
        except ValueError:
            raise SourceUnavailable(f"Elasticsearch at {site} answered HTTP {status} without JSON") from None
        if status != 200:
            error = answer.get("error") if isinstance(answer, dict) else None
            kind = error.get("type") if isinstance(error, dict) else None
            raise SourceUnavailable(f"Elasticsearch at {site} answered HTTP {status}"
                                    + (f" ({str(kind)[:80]})" if kind else "") + f" to the search of {self.index}")
        hits = answer.get("hits", {}).get("hits") if isinstance(answer, dict) and isinstance(answer.get("hits"), dict) else None
        if not isinstance(hits, list):
            raise SourceUnavailable(f"Elasticsearch at {site} answered without a hits list")
        return [hit["_source"] for hit in hits if isinstance(hit, dict) and isinstance(hit.get("_source"), dict)]

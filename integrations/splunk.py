"""Splunk as a log source: the REST search export, for one service and time window.

  [logs.splunk]
  url = "https://splunk.example.com:8089"
  index = "main"            # the index searched
  token_env = "SPLUNK_TOKEN"  # the environment variable holding an authentication token
  timeout = 30              # seconds the whole export may take

The export endpoint streams newline-delimited JSON objects as the search runs; each
``{"result": {...}, "preview": false}`` line is one event. The service name comes from
incident data, so it is checked against a narrow alphabet instead of being escaped into
SPL (a quote or a pipe there would change the search). A log query (a rule's or an alert's
`log_query`) is searched as one quoted phrase, its quotes and backslashes escaped, so it
narrows the events and can never become a command.
"""
from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import httpx

from integrations.errors import SourceUnavailable
from integrations.http import LOG_USER_AGENT, checked_limit, where
from integrations.secrets import secret_from_env
from integrations.text import one_line
from playbooks.errors import PolicyValueError

SERVICE_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,200}")
INDEX_PATTERN = re.compile(r"[A-Za-z0-9_.:*-]{1,200}")


def checked_service(service: Any) -> str:
    """The service name, if it is safe to put into a search; else a one-sentence refusal."""
    text = str(service or "")
    if not SERVICE_PATTERN.fullmatch(text):
        raise PolicyValueError(f"the service name {text[:60]!r} cannot be searched safely; "
                               "accepted: letters, digits, underscore, dot, colon and hyphen only")
    return text


def epoch(moment: datetime) -> float:
    """Seconds since the epoch; naive datetimes are UTC (the store's convention)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def phrase(query: str) -> str:
    """A log query as one SPL quoted phrase: control characters become spaces, backslashes and
    quotes are escaped, so nothing in it can end the phrase or start a command."""
    text = one_line(query)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def search_string(index: str, service: str, start: datetime, end: datetime, limit: int,
                  query: str | None = None) -> str:
    """The SPL sent to Splunk. `latest` is exclusive in Splunk, so it is the second after `end`."""
    earliest = math.floor(epoch(start))
    latest = math.floor(epoch(end)) + 1
    narrowed = f"{phrase(query)} " if query and str(query).strip() else ""
    return (f'search index={index} service="{checked_service(service)}" {narrowed}'
            f"earliest={earliest} latest={latest} | head {checked_limit(limit)}")


@dataclass(frozen=True)
class SplunkSource:
    url: str
    token_env: str = "SPLUNK_TOKEN"
    index: str = "main"
    timeout: float = 30.0

    def search(self, service: str, start: datetime, end: datetime, limit: int = 10000,
               client: httpx.Client | None = None, query: str | None = None) -> list[dict]:
        """Events of `service` between `start` and `end` (at most `limit`; holding the phrase
        `query` when given), oldest first as Splunk streams them. Raises SourceUnavailable (one
        sentence) when Splunk cannot answer."""
        if not INDEX_PATTERN.fullmatch(str(self.index)):
            raise PolicyValueError(f"the Splunk index {str(self.index)[:60]!r} is not a plain index name; "
                                   "accepted: letters, digits, asterisk, underscore, dot, colon and hyphen")
        query = search_string(self.index, service, start, end, limit, query)
        token = secret_from_env(self.token_env).strip()
        site = where(self.url)
        if not token:
            raise SourceUnavailable(f"Splunk at {site} has no token: the environment variable {self.token_env} is not set")
        deadline = time.monotonic() + self.timeout
        own = client is None
        client = client or httpx.Client(timeout=self.timeout, headers={"User-Agent": LOG_USER_AGENT})
        try:
            with client.stream("POST", f"{self.url.rstrip('/')}/services/search/jobs/export",
                               data={"search": query, "output_mode": "json"},
                               headers={"Authorization": f"Bearer {token}"}) as response:
                if response.status_code in (401, 403):
                    raise SourceUnavailable(f"Splunk at {site} refused the token from {self.token_env} "
                                            f"(HTTP {response.status_code})")
                if response.status_code != 200:
                    raise SourceUnavailable(f"Splunk at {site} answered HTTP {response.status_code} to the export")
                return _read_results(response, deadline, limit, site, self.timeout)
        except httpx.TimeoutException:
            raise SourceUnavailable(f"Splunk at {site} did not answer within {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise SourceUnavailable(f"Splunk at {site} is unreachable ({type(exc).__name__})") from None
        finally:
            if own:
                client.close()


def _read_results(response: httpx.Response, deadline: float, limit: int, site: str, timeout: float) -> list[dict]:
    results: list[dict] = []
    for line in response.iter_lines():
        if time.monotonic() > deadline:
            raise SourceUnavailable(f"Splunk at {site} did not finish the export within {timeout:g} s")
        line = line.strip()
        if not line:
            continue
        try:
            item = json.loads(line)
        except ValueError:
            raise SourceUnavailable(f"Splunk at {site} answered something other than JSON lines") from None
        if not isinstance(item, dict):
            raise SourceUnavailable(f"Splunk at {site} answered something other than JSON objects")
        problems = [m for m in item.get("messages") or [] if isinstance(m, dict)
                    and str(m.get("type", "")).upper() in ("FATAL", "ERROR")]
        if problems:
            text = " ".join(str(problems[0].get("text", "")).split())[:200].rstrip(".")
            raise SourceUnavailable(f"Splunk at {site} reported a search error: {text or 'no detail'}")
        result = item.get("result")
        if isinstance(result, dict) and not item.get("preview"):
            results.append(result)
            if len(results) >= limit:
                break
    return results

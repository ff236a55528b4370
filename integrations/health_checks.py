"""HTTP health checks: the spec's "System Health Checks" as a metric source.

Each check GETs a URL and expects one exact status code (redirects are not
followed unless the caller's client follows them, so a check can expect 301).
``run_health_checks`` runs every check at once in its own thread, so a dead URL
costs the run no more than its own timeout, and turns the outcome into samples
(source ``"health"``):

- ``health.<name>.up``: 1.0 when the expected status came back, else 0.0;
- ``health.<name>.latency``: seconds until the response headers arrived, or until
  the failure (the timeout, for a check that timed out);
- ``availability``: percent of checks up (0-100), when there is at least one check.
"""
from __future__ import annotations

import re
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Iterable
from urllib.parse import urlsplit

import httpx

from playbooks.clock import Clock, utc_now
from playbooks.samples import Sample

SOURCE = "health"
USER_AGENT = "incident-response-health-check"
MAX_TIMEOUT = 60.0
# How long past a check's own timeout the run waits before giving it up as timed out
# (httpx applies its timeout per phase, so a trickling server could take longer).
DEADLINE_GRACE = 0.25

_NAME = re.compile(r"[a-z0-9_-]+")
_CONFIG_KEYS = ("name", "url", "expect_status", "timeout")


def _problem(name: Any, url: Any, expect_status: Any, timeout: Any) -> str | None:
    """What is wrong with these fields, as a sentence fragment, or None."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return f"name must be lowercase letters, digits, '_' or '-' (got {name!r})"
    if not isinstance(url, str):
        return f"url must be an http:// or https:// URL with a host (got {url!r})"
    try:
        parts = urlsplit(url)
        has_host = bool(parts.hostname)
    except ValueError:
        has_host = False
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not has_host:
        return f"url must be an http:// or https:// URL with a host (got {url!r})"
    if isinstance(expect_status, bool) or not isinstance(expect_status, int) \
            or not 100 <= expect_status <= 599:
        return f"expect_status must be an integer HTTP status from 100 to 599 (got {expect_status!r})"
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
            or not 0 < timeout <= MAX_TIMEOUT:
        return f"timeout must be a number of seconds above 0 and at most 60 (got {timeout!r})"
    return None


@dataclass(frozen=True)
class HealthCheck:
    """One URL to GET, the status it must answer, and how long to wait (seconds)."""

    name: str
    url: str
    expect_status: int = 200
    timeout: float = 5.0

    def __post_init__(self) -> None:
        problem = _problem(self.name, self.url, self.expect_status, self.timeout)
        if problem:
            raise ValueError(f"Health check {self.name!r}: {problem}.")


@dataclass(frozen=True)
class HealthResult:
    """What one check found: up or not, how long it took, and why it is down."""

    check: HealthCheck
    up: bool
    latency: float
    status: int | None = None
    error: str | None = None


def health_checks_from_config(items: list[dict]) -> list[HealthCheck]:
    """Build checks from config entries like ``{"name": "api", "url": "https://..."}``.

    ``expect_status`` (default 200) and ``timeout`` (seconds, default 5) are optional.
    Raises ValueError, one sentence naming the entry and what is accepted.
    """
    if not isinstance(items, list):
        raise ValueError(f"Health checks must be a list of tables, got {type(items).__name__}.")
    checks: list[HealthCheck] = []
    seen: set[str] = set()
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise ValueError(
                f"Health check #{index} must be a table with name and url, got {type(item).__name__}."
            )
        label = f"Health check #{index}" + (f" ({item['name']!r})" if "name" in item else "")
        unknown = sorted(str(key) for key in item if key not in _CONFIG_KEYS)
        if unknown:
            raise ValueError(
                f"{label} has unknown key(s) {', '.join(unknown)}; accepted keys are "
                f"{', '.join(_CONFIG_KEYS)}."
            )
        missing = [key for key in ("name", "url") if key not in item]
        if missing:
            raise ValueError(f"{label} is missing {' and '.join(missing)}, which every check needs.")
        fields = {"expect_status": 200, "timeout": 5.0, **item}
        problem = _problem(fields["name"], fields["url"], fields["expect_status"], fields["timeout"])
        if problem:
            raise ValueError(f"{label}: {problem}.")
        if fields["name"] in seen:
            raise ValueError(f"{label} repeats a name already used; each check needs its own name.")
        seen.add(fields["name"])
        checks.append(HealthCheck(name=fields["name"], url=fields["url"],
                                  expect_status=fields["expect_status"],
                                  timeout=float(fields["timeout"])))
    return checks


def _run_one(client: httpx.Client, check: HealthCheck) -> HealthResult:
    started = time.perf_counter()
    try:
        with client.stream("GET", check.url, timeout=httpx.Timeout(check.timeout),
                           headers={"User-Agent": USER_AGENT}) as response:
            latency = time.perf_counter() - started
            status = response.status_code
    except httpx.TimeoutException:
        return HealthResult(check, up=False, latency=time.perf_counter() - started,
                            error=f"no answer within {check.timeout:g}s")
    except httpx.HTTPError as exc:
        return HealthResult(check, up=False, latency=time.perf_counter() - started,
                            error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    if status != check.expect_status:
        return HealthResult(check, up=False, latency=latency, status=status,
                            error=f"status {status}, expected {check.expect_status}")
    return HealthResult(check, up=True, latency=latency, status=status)


def check_health(checks: Iterable[HealthCheck],
                 client: httpx.Client | None = None) -> list[HealthResult]:
    """Run every check concurrently; results in the order of ``checks``.

    A check still running past its timeout (plus a small grace) is reported down
    with latency = its timeout, and the run returns without waiting for it.
    A client passed in is used as is and left open.
    """
    checks = list(checks)
    if not checks:
        return []
    own_client = client is None
    if client is None:
        client = httpx.Client(limits=httpx.Limits(max_connections=max(len(checks), 10)))
    pool = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="health-check")
    started = time.monotonic()
    futures: list[Future[HealthResult]] = [pool.submit(_run_one, client, c) for c in checks]
    results: list[HealthResult] = []
    pending: list[Future[HealthResult]] = []
    try:
        for check, future in zip(checks, futures):
            remaining = started + check.timeout + DEADLINE_GRACE - time.monotonic()
            done, _ = wait([future], timeout=max(0.0, remaining))
            if done:
                try:
                    results.append(future.result())
                except Exception as exc:  # noqa: BLE001 - a bad check never sinks the run
                    results.append(HealthResult(check, up=False,
                                                latency=time.monotonic() - started,
                                                error=f"{type(exc).__name__}: {exc}"))
            else:
                pending.append(future)
                results.append(HealthResult(check, up=False, latency=check.timeout,
                                            error=f"no answer within {check.timeout:g}s"))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        if own_client:
            if pending:
                # Close our client only once the stragglers have given up by themselves.
                def _close_later() -> None:
                    wait(pending)
                    client.close()
                threading.Thread(target=_close_later, name="health-check-close", daemon=True).start()
            else:
                client.close()
    return results


def results_to_samples(results: Iterable[HealthResult], at) -> list[Sample]:
    """Samples for these results: up and latency per check, then availability."""
    samples: list[Sample] = []
    results = list(results)
    for result in results:
        prefix = f"health.{result.check.name}"
        samples.append(Sample(SOURCE, f"{prefix}.up", at, 1.0 if result.up else 0.0))
        samples.append(Sample(SOURCE, f"{prefix}.latency", at, float(result.latency)))
    if results:
        up = sum(1 for result in results if result.up)
        samples.append(Sample(SOURCE, "availability", at, up / len(results) * 100.0))
    return samples


def run_health_checks(checks: Iterable[HealthCheck], client: httpx.Client | None = None,
                      clock: Clock = utc_now) -> list[Sample]:
    """Run the checks concurrently and return their samples, all stamped when the run began."""
    at = clock()
    return results_to_samples(check_health(checks, client), at)

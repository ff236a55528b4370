"""A contract fake of PagerDuty's Events API v2: a real HTTP server on 127.0.0.1.

  with PagerDutyFake() as fake:                   # knows ROUTING_KEY
      notifier = PagerDutyNotifier(url=fake.url)
      ...
      fake.requests      # every accepted event (the parsed JSON bodies), in order
      fake.received      # every request that reached the server, accepted or not
      fake.alerts        # dedup_key -> "triggered" | "acknowledged" | "resolved"

What it enforces, from PagerDuty/api-schema reference/events-v2/openapiv3.json and the
Events API v2 docs (the answers copy PagerDuty's wording and shape):
- POST /v2/enqueue only (404 elsewhere, 405 for another method), Content-Type
  application/json (400 otherwise), a JSON object body (400 "Unrecognized object").
- routing_key required, 32 alphanumeric characters, and one of `routing_keys`
  (400 "invalid event" with PagerDuty's messages: "Length of 'routing_key' is incorrect
  (should be 32 characters)", "Invalid routing key", ...).
- event_action in trigger / acknowledge / resolve; dedup_key a string of at most 255
  characters, required unless triggering; on trigger a payload with summary (at most 1024
  characters), source and severity (critical / error / warning / info), component / group /
  class / timestamp strings and custom_details an object when present; links need href and
  images need src. All errors of a body are listed at once, as PagerDuty does.
- State per dedup_key: trigger opens an alert (or updates the open one; a trigger after a
  resolve opens a new one), acknowledge and resolve apply to the open alert sent through the
  same routing key and are accepted but dropped otherwise (unknown or resolved dedup_key).
- 202 {"status": "success", "message": "Event processed", "dedup_key": ...}; a trigger
  without dedup_key gets a generated one.

Failure switches: `fail_next(n, status=500 | 429 | 400..., retry_after=None, body=None)`,
`down()` / `up()` (refuse connections; `down(refuse=False)` answers 503 instead),
`garbage = True` (200 with an HTML page), `delay = seconds` (answer late, for timeouts).
"""
from __future__ import annotations

import json
import re
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterable
from urllib.parse import urlsplit

from tests.support.postgres import free_port

ROUTING_KEY = "R0UTINGKEY0123456789012345678901"
ENQUEUE_PATH = "/v2/enqueue"
EVENT_ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "warning", "error", "info")
SUMMARY_MAX = 1024
DEDUP_KEY_MAX = 255

_ALNUM = re.compile(r"^[A-Za-z0-9]*$")
_GARBAGE_BODY = b"<html><body><h1>502 Bad Gateway</h1>upstream connect error</body></html>"

Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Received:
    """One request as it reached the fake."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    status: int = 0          # what the fake answered

    def json(self) -> Any:
        return json.loads(self.body)


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body).encode()


def _invalid(errors: list[str]) -> Answer:
    return _json(400, {"status": "invalid event", "message": "Event object is invalid", "errors": errors})


def validate_event(event: Any) -> list[str]:
    """Everything wrong with an Events API v2 body, in PagerDuty's words; [] if valid.

    The routing key's membership is checked separately (it needs the fake's keys).
    """
    if not isinstance(event, dict):
        return ["Event object format is unrecognized"]
    errors: list[str] = []
    key = event.get("routing_key")
    if not isinstance(key, str) or not key.strip():
        errors.append("'routing_key' is missing or blank")
    else:
        if len(key) != 32:
            errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
        if not _ALNUM.match(key):
            errors.append("'routing_key' cannot contain non-alphanumeric characters.")
    action = event.get("event_action")
    if action in (None, ""):
        errors.append("'event_action' is missing or blank")
    elif action not in EVENT_ACTIONS:
        errors.append("'event_action' is invalid (must be one of trigger, acknowledge, resolve)")
    dedup_key = event.get("dedup_key")
    if dedup_key is not None:
        if not isinstance(dedup_key, str) or not dedup_key.strip():
            errors.append("'dedup_key' must be a non-blank string")
        elif len(dedup_key) > DEDUP_KEY_MAX:
            errors.append(f"'dedup_key' is too long (maximum is {DEDUP_KEY_MAX} characters)")
    elif action in ("acknowledge", "resolve"):
        errors.append("'dedup_key' is missing or blank")
    for name in ("client", "client_url"):
        if event.get(name) is not None and not isinstance(event[name], str):
            errors.append(f"'{name}' must be a string")
    errors += _check_list(event.get("links"), "links", "href")
    errors += _check_list(event.get("images"), "images", "src")
    if action == "trigger":
        errors += _check_payload(event.get("payload"))
    return errors


def _check_list(value: Any, name: str, required: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        return [f"'{name}' must be an array"]
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get(required), str) or not item[required]:
            return [f"'{name}' entries need a '{required}'"]
    return []


def _check_payload(payload: Any) -> list[str]:
    if payload is None:
        return ["'payload' is missing"]
    if not isinstance(payload, dict):
        return ["'payload' must be an object"]
    errors = []
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        errors.append("'payload.summary' is missing or blank")
    elif len(summary) > SUMMARY_MAX:
        errors.append(f"'payload.summary' is too long (maximum is {SUMMARY_MAX} characters)")
    source = payload.get("source")
    if not isinstance(source, str) or not source.strip():
        errors.append("'payload.source' is missing or blank")
    severity = payload.get("severity")
    if severity in (None, ""):
        errors.append("'payload.severity' is missing or blank")
    elif severity not in SEVERITIES:
        errors.append("'payload.severity' is invalid (must be one of critical, error, warning, info)")
    for name in ("component", "group", "class", "timestamp"):
        if payload.get(name) is not None and not isinstance(payload[name], str):
            errors.append(f"'payload.{name}' must be a string")
    details = payload.get("custom_details")
    if details is not None and not isinstance(details, dict):
        errors.append("'payload.custom_details' must be an object")
    return errors


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout, reset) is part of the tests, not an error to print."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class PagerDutyFake:
    """The Events API v2 on a free loopback port; see the module docstring."""

    def __init__(self, routing_keys: Iterable[str] = (ROUTING_KEY,)) -> None:
        self.routing_keys = set(routing_keys)
        self.requests: list[dict[str, Any]] = []
        self.received: list[Received] = []
        self.alerts: dict[str, str] = {}
        self.alert_payloads: dict[str, dict[str, Any]] = {}  # dedup_key -> payload of its latest trigger
        self.garbage = False
        self.delay = 0.0
        # PagerDuty throttles per routing key; set to enforce N accepted events per second
        # (over it: 429 with Retry-After: 1). `throttled` counts the 429s answered.
        self.rate_per_second: float | None = None
        self.throttled = 0
        self._window: list[float] = []
        self._alert_keys: dict[str, str] = {}  # dedup_key -> routing key of its open alert
        self._failures: list[Answer] = []
        self._down: str | None = None  # None, "refuse" or "503"
        self._lock = threading.Lock()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._start()

    @property
    def enqueue_url(self) -> str:
        """The full endpoint, for clients configured with it (Alertmanager's pagerduty url)."""
        return self.url + ENQUEUE_PATH

    # -- failure switches -------------------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 500, retry_after: float | str | None = None,
                  body: Any = None) -> None:
        """Answer the next `n` requests with `status` (PagerDuty's body unless `body` is given)."""
        if body is None:
            if status == 429:
                body = {"status": "throttle event", "message": "Requests for this service are arriving too quickly. "
                        "Please retry later.", "errors": ["Too many API calls at a time."]}
            elif status == 400:
                body = {"status": "invalid event", "message": "Event object is invalid", "errors": ["Invalid event"]}
            else:
                body = {"status": "error", "message": "Internal Server Error", "errors": ["Internal Server Error"]}
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        answer = _json(status, body, headers)
        with self._lock:
            self._failures.extend([answer] * n)

    def down(self, refuse: bool = True) -> None:
        """Be unreachable: refuse new connections and drop kept-alive ones, or answer 503 if not `refuse`."""
        with self._lock:
            self._down = "refuse" if refuse else "503"
        if refuse:
            self._stop()

    def up(self) -> None:
        """Serve again on the same port."""
        with self._lock:
            was, self._down = self._down, None
        if was == "refuse":
            self._start()

    # -- server -----------------------------------------------------------------------------------

    def _start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
            timeout = 5  # idle kept-alive connections do not outlive a test for long

            def _handle(self) -> None:
                if fake._down == "refuse":  # a kept-alive connection: hang up without answering
                    self.close_connection = True
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                received = Received(self.command, urlsplit(self.path).path,
                                    {k.lower(): v for k, v in self.headers.items()}, body)
                if fake.delay:
                    time.sleep(fake.delay)
                status, headers, payload = fake._answer(received)
                received.status = status
                with fake._lock:
                    fake.received.append(received)
                if fake._down == "refuse":
                    self.close_connection = True
                    return
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle  # noqa: N815 (http.server's names)

            def log_message(self, *args: Any) -> None:
                pass

        server = _Server(("127.0.0.1", self.port), Handler)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()

    def _stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def close(self) -> None:
        self._stop()

    def __enter__(self) -> "PagerDutyFake":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- the contract -----------------------------------------------------------------------------

    def _answer(self, request: Received) -> Answer:
        if request.path != ENQUEUE_PATH:
            return _json(404, {"status": "Not Found", "message": "Not Found"})
        if request.method != "POST":
            return _json(405, {"status": "Method Not Allowed", "message": "Method Not Allowed"}, {"Allow": "POST"})
        with self._lock:
            if self._down == "503":
                return _json(503, {"status": "error", "message": "Service Unavailable"})
            if self._failures:
                return self._failures.pop(0)
        if self.garbage:
            return 200, {"Content-Type": "text/html"}, _GARBAGE_BODY
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return _invalid(["Content-Type must be application/json"])
        try:
            event = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            return _json(400, {"status": "Unrecognized object", "message": "Event object format is unrecognized",
                               "errors": ["JSON parse error"]})
        if not isinstance(event, dict):
            return _json(400, {"status": "Unrecognized object", "message": "Event object format is unrecognized",
                               "errors": ["Event object format is unrecognized"]})
        errors = validate_event(event)
        if errors:
            return _invalid(errors)
        if event["routing_key"] not in self.routing_keys:
            return _invalid(["Invalid routing key"])
        with self._lock:
            if self.rate_per_second is not None:
                now = time.monotonic()
                self._window = [t for t in self._window if now - t < 1.0]
                if len(self._window) >= self.rate_per_second:
                    self.throttled += 1
                    return _json(429, {"status": "throttle event", "message": "Requests for this service are "
                                       "arriving too quickly.  Please retry later."}, {"Retry-After": "1"})
                self._window.append(now)
            dedup_key = self._apply(event)
            self.requests.append(event)
        return _json(202, {"status": "success", "message": "Event processed", "dedup_key": dedup_key})

    def _apply(self, event: dict[str, Any]) -> str:
        """Update the alert state the way PagerDuty does; returns the dedup_key."""
        action, key = event["event_action"], event["routing_key"]
        dedup_key = event.get("dedup_key") or uuid.uuid4().hex
        state = self.alerts.get(dedup_key)
        is_open = state in ("triggered", "acknowledged") and self._alert_keys.get(dedup_key) == key
        if action == "trigger":
            if not is_open:
                self.alerts[dedup_key] = "triggered"  # a new alert (first, or after a resolve)
                self._alert_keys[dedup_key] = key
            self.alert_payloads[dedup_key] = event["payload"]
        elif is_open and action == "acknowledge":
            self.alerts[dedup_key] = "acknowledged"
        elif is_open and action == "resolve":
            self.alerts[dedup_key] = "resolved"
        # acknowledge / resolve of an unknown, resolved or other-key alert: accepted, dropped
        return dedup_key

    def actions(self, dedup_key: str) -> list[str]:
        """The accepted event_actions sent for `dedup_key`, in order."""
        with self._lock:
            return [event["event_action"] for event in self.requests if event.get("dedup_key") == dedup_key]

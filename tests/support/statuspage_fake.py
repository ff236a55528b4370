"""A contract fake of Atlassian Statuspage's incidents API: a real HTTP server on 127.0.0.1.

  with StatuspageFake() as fake:                 # knows API_KEY, PAGE_ID and COMPONENTS
      notifier = StatuspageNotifier(PAGE_ID, url=fake.url, component_mapping={"checkout": CHECKOUT})
      ...
      fake.requests      # every accepted create / update: {"method", "path", "body"}, in order
      fake.received      # every request that reached the server, accepted or not
      fake.incidents     # incident id -> the incident, as Statuspage answers it
      fake.components    # component id -> {"name", "status"}: the page's components now

What it enforces (developer.statuspage.io, Incidents and Components; the answers copy
Statuspage's shape):
- `Authorization: OAuth <key>` with one of `api_keys` (401 {"error": "Could not authenticate"}),
  the page id (404 for another page), the paths below (404 elsewhere, 405 for another method).
- POST /v1/pages/{page}/incidents and PATCH|PUT /v1/pages/{page}/incidents/{id}: Content-Type
  application/json (415), a JSON object with an "incident" object (400 "param is missing or
  the value is empty: incident"); then 422 {"error": [...]} with every problem at once: name
  required on create (non-blank when given), status in investigating / identified /
  monitoring / resolved, body a string, component_ids a list of the page's component ids,
  components an object of the page's component ids to operational / under_maintenance /
  degraded_performance / partial_outage / major_outage, impact_override in none / minor /
  major / critical, metadata an object.
- Status transitions on update: any forward move (or the same status, a new update with
  the same status); never back; once resolved it stays resolved (422 "Incident is resolved")
  - a reopened problem is a new incident. PATCH of an unknown incident: 404 {"error": "Not found"}.
- GET /v1/pages/{page}/incidents, .../incidents/unresolved, .../incidents/{id} and
  /v1/pages/{page}/components read the state.
- 201 with the incident on create, 200 with it on update; every status or body change
  adds an incident_update recording the affected components (old and new status).

Failure switches (shared with the other fakes built on LoopbackFake):
`fail_next(n, status=500 | 420 | 429 | 422..., retry_after=None, body=None)`, `down()` /
`up()` (refuse connections; `down(refuse=False)` answers 503 instead), `garbage = True`
(200 with an HTML page), `delay = seconds` (answer late, for timeouts; only requests of
`delay_method` when it is set).
"""
from __future__ import annotations

import json
import secrets
import socket
import string
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterable
from urllib.parse import parse_qs, unquote, urlsplit

from tests.support.postgres import free_port

API_KEY = "2a7b9c1d-statuspage-fake-key-5e6f"
PAGE_ID = "kctbh9vrtdwd"
CHECKOUT = "8kbf7d35c070"
PAYMENTS = "vtnh60py4yd7"
SEARCH = "ftgks51sfs2d"
COMPONENTS = {CHECKOUT: "Checkout API", PAYMENTS: "Payments", SEARCH: "Search"}

INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved")
COMPONENT_STATUSES = ("operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage")
IMPACTS = ("none", "minor", "major", "critical")
_IMPACT_OF = {"operational": "none", "under_maintenance": "none", "degraded_performance": "minor",
              "partial_outage": "major", "major_outage": "critical"}

_GARBAGE_BODY = b"<html><body><h1>502 Bad Gateway</h1>upstream connect error</body></html>"

Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Received:
    """One request as it reached a fake."""

    method: str
    path: str                     # without the query string, percent-decoded
    query: dict[str, list[str]]
    headers: dict[str, str]       # names lower-cased
    body: bytes
    status: int = 0               # what the fake answered

    def json(self) -> Any:
        return json.loads(self.body)


def json_answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    return status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}, json.dumps(body).encode()


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout, reset) is part of the tests, not an error to print."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class LoopbackFake:
    """A vendor's HTTP API on a free loopback port: the server, the request log and the
    failure switches. Subclasses implement `contract(request)` and `failure_body(status)`."""

    # False: a delayed request waits before it is applied; True: it is applied, then its
    # answer waits (what a client that times out sees as a lost answer).
    delay_after_apply = False

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.garbage = False
        self.delay = 0.0
        self.delay_method: str | None = None  # delay only this method's requests (None: all)
        self._failures: list[Answer] = []
        self._down: str | None = None  # None, "refuse" or "503"
        self._lock = threading.RLock()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: ThreadingHTTPServer | None = None
        self._start()

    # -- for subclasses ---------------------------------------------------------------------------

    def contract(self, request: Received) -> Answer:
        raise NotImplementedError

    def failure_body(self, status: int) -> Any:
        return {"error": "Internal Server Error"}

    # -- failure switches -------------------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 500, retry_after: float | str | None = None,
                  body: Any = None) -> None:
        """Answer the next `n` requests with `status` (the vendor's body unless `body` is given)."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        answer = json_answer(status, self.failure_body(status) if body is None else body, headers)
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

    def _answer(self, request: Received) -> Answer:
        with self._lock:
            if self._down == "503":
                return json_answer(503, self.failure_body(503))
            if self._failures:
                return self._failures.pop(0)
        if self.garbage:
            return 200, {"Content-Type": "text/html"}, _GARBAGE_BODY
        with self._lock:
            return self.contract(request)

    def _start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 5  # idle kept-alive connections do not outlive a test for long

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes: without this, Nagle's algorithm and the
                # client's delayed ACK hold every kept-alive answer back by about 40 ms.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _handle(self) -> None:
                if fake._down == "refuse":  # a kept-alive connection: hang up without answering
                    self.close_connection = True
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                target = urlsplit(self.path)
                received = Received(self.command, unquote(target.path), parse_qs(target.query, keep_blank_values=True),
                                    {k.lower(): v for k, v in self.headers.items()}, body)
                delayed = fake.delay and fake.delay_method in (None, self.command)
                if delayed and not fake.delay_after_apply:
                    time.sleep(fake.delay)
                status, headers, payload = fake._answer(received)
                received.status = status
                with fake._lock:
                    fake.received.append(received)
                if delayed and fake.delay_after_apply:
                    time.sleep(fake.delay)  # the vendor did the work; its answer comes late (or never)
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
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def _stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def close(self) -> None:
        self._stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _error(status: int, message: Any) -> Answer:
    return json_answer(status, {"error": message})


def _new_id() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(12))


class StatuspageFake(LoopbackFake):
    """Statuspage's incidents API for one page on a free loopback port; see the module docstring."""

    def __init__(self, api_keys: Iterable[str] = (API_KEY,), page_id: str = PAGE_ID,
                 components: dict[str, str] | None = None) -> None:
        self.api_keys = set(api_keys)
        self.page_id = page_id
        self.components: dict[str, dict[str, str]] = {
            cid: {"name": name, "status": "operational"} for cid, name in (components or COMPONENTS).items()}
        self.incidents: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        super().__init__()

    def failure_body(self, status: int) -> Any:
        if status in (420, 429):
            return {"error": "Rate limit exceeded. Please slow down."}
        if status == 401:
            return {"error": "Could not authenticate"}
        if status == 422:
            return {"error": ["Status is not included in the list"]}
        if status == 404:
            return {"error": "Not found"}
        return {"error": "Internal Server Error"}

    # -- reading the state ------------------------------------------------------------------------

    def statuses(self, incident_id: str) -> list[str]:
        """The statuses of the incident's updates, oldest first."""
        with self._lock:
            return [update["status"] for update in reversed(self.incidents[incident_id]["incident_updates"])]

    # -- the contract -----------------------------------------------------------------------------

    def contract(self, request: Received) -> Answer:
        auth = request.headers.get("authorization", "")
        scheme, _, key = auth.partition(" ")
        if scheme != "OAuth" or key.strip() not in self.api_keys:
            return _error(401, "Could not authenticate")
        parts = request.path.strip("/").split("/")
        if len(parts) < 4 or parts[:2] != ["v1", "pages"]:
            return _error(404, "Not found")
        if parts[2] != self.page_id:
            return _error(404, "Not found")
        rest, method = parts[3:], request.method
        if rest == ["components"]:
            if method != "GET":
                return _error(405, "Method Not Allowed")
            return json_answer(200, [{"id": cid, "page_id": self.page_id, **c} for cid, c in self.components.items()])
        if rest[0] != "incidents" or len(rest) > 2:
            return _error(404, "Not found")
        if len(rest) == 1:
            if method == "GET":
                return json_answer(200, [self._view(i) for i in self._newest_first()])
            if method == "POST":
                return self._create(request)
            return _error(405, "Method Not Allowed")
        if rest[1] == "unresolved":
            if method != "GET":
                return _error(405, "Method Not Allowed")
            return json_answer(200, [self._view(i) for i in self._newest_first() if i["status"] != "resolved"])
        incident = self.incidents.get(rest[1])
        if method == "GET":
            return json_answer(200, self._view(incident)) if incident else _error(404, "Not found")
        if method not in ("PATCH", "PUT"):
            return _error(405, "Method Not Allowed")
        if incident is None:
            return _error(404, "Not found")
        return self._update(request, incident)

    def _newest_first(self) -> list[dict[str, Any]]:
        return sorted(self.incidents.values(), key=lambda i: i["created_at"], reverse=True)

    def _view(self, incident: dict[str, Any]) -> dict[str, Any]:
        view = json.loads(json.dumps(incident))
        view["components"] = [{"id": cid, "page_id": self.page_id, **self.components[cid]}
                              for cid in incident["component_ids"]]
        del view["component_ids"]
        return view

    def _body(self, request: Received) -> dict[str, Any] | Answer:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return _error(415, "Content-Type must be application/json")
        try:
            body = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            return _error(400, "There was a problem parsing the JSON body")
        if not isinstance(body, dict) or not isinstance(body.get("incident"), dict) or not body["incident"]:
            return _error(400, "param is missing or the value is empty: incident")
        return body["incident"]

    def _problems(self, fields: dict[str, Any], *, create: bool) -> list[str]:
        problems = []
        name = fields.get("name")
        if (create or "name" in fields) and (not isinstance(name, str) or not name.strip()):
            problems.append("Name can't be blank")
        status = fields.get("status")
        if status is not None and status not in INCIDENT_STATUSES:
            problems.append("Status is not included in the list")
        if fields.get("body") is not None and not isinstance(fields["body"], str):
            problems.append("Body must be a string")
        ids = fields.get("component_ids")
        if ids is not None:
            if not isinstance(ids, list) or not all(isinstance(cid, str) for cid in ids):
                problems.append("Component ids must be a list of component ids")
            else:
                problems += [f"Component {cid} not found" for cid in ids if cid not in self.components]
        components = fields.get("components")
        if components is not None:
            if not isinstance(components, dict):
                problems.append("Components must be an object of component ids to statuses")
            else:
                for cid, value in components.items():
                    if cid not in self.components:
                        problems.append(f"Component {cid} not found")
                    elif value not in COMPONENT_STATUSES:
                        problems.append(f"Component status {value!r} is not included in the list")
        impact = fields.get("impact_override")
        if impact is not None and impact not in IMPACTS:
            problems.append("Impact override is not included in the list")
        if fields.get("metadata") is not None and not isinstance(fields["metadata"], dict):
            problems.append("Metadata must be an object")
        return list(dict.fromkeys(problems))

    def _create(self, request: Received) -> Answer:
        fields = self._body(request)
        if not isinstance(fields, dict):
            return fields
        problems = self._problems(fields, create=True)
        if problems:
            return _error(422, problems)
        stamp = now_iso()
        incident_id = _new_id()
        incident: dict[str, Any] = {
            "id": incident_id, "page_id": self.page_id, "name": fields["name"].strip(),
            "status": fields.get("status") or "investigating", "impact": "none",
            "impact_override": fields.get("impact_override"), "created_at": stamp, "updated_at": stamp,
            "started_at": stamp, "monitoring_at": None, "resolved_at": None,
            "shortlink": f"https://stspg.io/{incident_id[:9]}", "metadata": fields.get("metadata") or {},
            "component_ids": [], "incident_updates": [],
        }
        self.incidents[incident_id] = incident
        self._apply(incident, fields, stamp, new=True)
        self.requests.append({"method": "POST", "path": request.path, "body": json.loads(request.body)})
        return json_answer(201, self._view(incident))

    def _update(self, request: Received, incident: dict[str, Any]) -> Answer:
        fields = self._body(request)
        if not isinstance(fields, dict):
            return fields
        problems = self._problems(fields, create=False)
        current, status = incident["status"], fields.get("status")
        if not problems and status is not None and status != current:
            if current == "resolved":
                problems.append("Incident is resolved; a new problem needs a new incident")
            elif INCIDENT_STATUSES.index(status) < INCIDENT_STATUSES.index(current):
                problems.append(f"Status cannot go back from {current} to {status}")
        if problems:
            return _error(422, problems)
        stamp = now_iso()
        if isinstance(fields.get("name"), str):
            incident["name"] = fields["name"].strip()
        if fields.get("metadata") is not None:
            incident["metadata"] = fields["metadata"]
        self._apply(incident, fields, stamp, new=False)
        self.requests.append({"method": request.method, "path": request.path, "body": json.loads(request.body)})
        return json_answer(200, self._view(incident))

    def _apply(self, incident: dict[str, Any], fields: dict[str, Any], stamp: str, *, new: bool) -> None:
        status = fields.get("status") or incident["status"]
        affected = []
        for cid, value in (fields.get("components") or {}).items():
            old = self.components[cid]["status"]
            self.components[cid]["status"] = value
            affected.append({"code": cid, "name": self.components[cid]["name"], "old_status": old,
                             "new_status": value})
        for cid in list(fields.get("component_ids") or []) + list(fields.get("components") or {}):
            if cid not in incident["component_ids"]:
                incident["component_ids"].append(cid)
        if status == "monitoring" and incident["monitoring_at"] is None:
            incident["monitoring_at"] = stamp
        if status == "resolved" and incident["resolved_at"] is None:
            incident["resolved_at"] = stamp
        if new or "status" in fields or "body" in fields:
            incident["incident_updates"].insert(0, {
                "id": _new_id(), "incident_id": incident["id"], "status": status,
                "body": fields.get("body") or "", "created_at": stamp, "updated_at": stamp, "display_at": stamp,
                "affected_components": affected or None, "deliver_notifications": True})
        incident["status"] = status
        worst = [self.components[cid]["status"] for cid in incident["component_ids"]]
        impact = max((_IMPACT_OF[s] for s in worst), key=IMPACTS.index, default="none")
        incident["impact"] = fields.get("impact_override") or incident.get("impact_override") or (
            impact if status != "resolved" else incident["impact"])
        incident["updated_at"] = stamp

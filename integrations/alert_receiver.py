"""The inbound alert receiver behind ``incident-response serve``.

An HTTP/1.1 server (integrations.http_server: asyncio, in one background thread) that reads
alert notifications, understands them (integrations.alert_payloads) and hands each change to
the intake it was given (integrations.intake.Intake; automation.alert_intake.AlertIntake
records it in the store):

    POST /alerts/alertmanager   Alertmanager webhook_config (payload version 4)
    POST /alerts/grafana        Grafana alerting webhook contact point
    POST /alerts/generic        the generic JSON form (see integrations.alert_payloads)
    POST /heartbeat/NAME        a beat of the heartbeat [heartbeats.NAME] (any body, or none)

Authentication, one of:

    ``Authorization: Bearer <token>``
        the token (``token=`` or ``IR_WEBHOOK_TOKEN``), checked before the body is read.

    A signed body (the secret: ``secret=`` or ``IR_WEBHOOK_SECRET``), in Grafana's webhook
    HMAC form: HMAC-SHA256, keyed with the secret, of ``<timestamp> + ":" + <raw body>``,
    where the timestamp is Unix seconds, sent in two headers:

        ``X-Signature-256: sha256=<hex>``              (or Grafana's
        ``X-Signature-Timestamp: <unix seconds>``       ``X-Grafana-Alerting-Signature: <hex>``
                                                        and ``X-Grafana-Alerting-Signature-Timestamp``)

    In Grafana's contact point: HMAC Signature -> Secret, Header left as
    ``X-Grafana-Alerting-Signature``, Timestamp Header set to
    ``X-Grafana-Alerting-Signature-Timestamp`` (Grafana signs the body alone without one,
    which is refused here: such a request could be replayed forever). A signature whose
    timestamp is more than five minutes old or more than 30 seconds ahead is refused, and
    so is one already accepted within that window (a replay). Both headers must be there,
    well formed, fresh and unused before the body is read.

Per-source credentials (optional): ``IR_WEBHOOK_TOKEN_<SOURCE>`` and
``IR_WEBHOOK_SECRET_<SOURCE>`` (``<SOURCE>`` one of ALERTMANAGER, GRAFANA, GENERIC, HEARTBEAT), or
``credentials={"grafana": {"secret": ...}}``. A source with a credential of its own accepts
only that one on its path; the others use the shared token/secret. The receiver refuses to
start with no credential at all.

Answers (always JSON):
    200 {"incident": "INC-...", "created": true|false}   firing raised / resolved cleared
    200 {"incident": null}                                resolved for no open incident
                                                          (a resolve delivered twice: a no-op)
    200 {"heartbeat": "NAME", "cleared": "INC-..."|null}  a beat, and the incident it cleared
    400 malformed request line, header or JSON, a Content-Length that is not ASCII digits,
        a wrong shape, or a value the policy refuses (in any alert)
    401 missing, wrong, stale or replayed credentials     404 unknown path (or, once
        authenticated, a heartbeat not configured)        405 not POST
    408 the request did not arrive whole within the deadline (``request_deadline``, 10 s)
    411 no Content-Length (chunked bodies are refused; a heartbeat without one has no body)
    413 Content-Length over ``max_body`` (answered before the body is read)
    414/431 request line / header section too long
    409/503 the store refused the change / is unavailable; 503 also when the receiver
        holds ``max_connections`` and none of them is an idle one it can drop
Errors are ``{"error": "<one sentence>"}`` and write nothing: the whole body is checked
against the policy before the first write.

Limits (see integrations.http_server): a request line of at most 8 KiB and a header section
of at most 32 KiB; at most ``max_connections`` connections (default 512); a whole request
within ``request_deadline`` seconds; the listen backlog is 512; signed bodies are read a few
at a time. SIGTERM (``serve``) stops accepting, drops idle connections, answers the requests
in flight and exits.

Mapping (see integrations.alert_payloads and automation.alert_intake): firing raises the
condition (one open incident per dedup key; firing again adds a 'condition_firing' event); a
notification whose status is ``resolved`` (every alert of the group cleared) clears it and
resolves the incident, in one transaction. A ``startsAt`` outside [received - 30 days,
received + 5 minutes] is set aside for the receive time, and the 'declared' event says so.
What the intake does with an incident the alert opened (the actions of the rule it names)
does not hold up the answer.

Use::

    from automation.alert_intake import AlertIntake
    from integrations.alert_receiver import AlertServer, serve

    serve(AlertIntake(store), host="127.0.0.1", port=8787)   # blocks until stop_event / SIGTERM / Ctrl-C

    with AlertServer(AlertIntake(store), port=0, token="t") as server:   # tests: a free port
        httpx.post(f"{server.url}/alerts/generic", ...)

Logging (logger ``integrations.alert_receiver`` and the activity log): an authenticated
request as client, method, path, status and incident id, its text escaped; never headers or
bodies. Requests refused before they authenticated are counted and summed up at most once a
minute, with a few escaped samples (integrations.http_server).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import signal
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

from integrations.alert_payloads import PayloadError, understand
from integrations.http_server import HttpServer, Refused
from integrations.intake import Intake, IntakeConflict, IntakeRefused, IntakeUnavailable, IntakeUnknown
from playbooks.errors import PolicyValueError, one_line

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
DEFAULT_MAX_BODY = 1_048_576  # 1 MiB
DEFAULT_MAX_CONNECTIONS = 512
DEFAULT_REQUEST_DEADLINE_S = 10.0
TOKEN_ENV = "IR_WEBHOOK_TOKEN"
SECRET_ENV = "IR_WEBHOOK_SECRET"
SIGNATURE_HEADER = "X-Signature-256"
TIMESTAMP_HEADER = "X-Signature-Timestamp"
GRAFANA_SIGNATURE_HEADER = "X-Grafana-Alerting-Signature"
GRAFANA_TIMESTAMP_HEADER = "X-Grafana-Alerting-Signature-Timestamp"
SIGNATURE_MAX_AGE_S = 300  # five minutes
SIGNATURE_MAX_AHEAD_S = 30  # the sender's clock may be a little ahead of ours
REPLAY_CACHE_SIZE = 100_000  # signatures remembered for their five minutes; beyond: 503
ROUTES = {
    "/alerts/alertmanager": "alertmanager",
    "/alerts/grafana": "grafana",
    "/alerts/generic": "generic",
}
HEARTBEAT_PREFIX = "/heartbeat/"
HEARTBEAT_SOURCE = "heartbeat"  # its credentials: IR_WEBHOOK_TOKEN_HEARTBEAT, else the shared ones
SOURCES = (*ROUTES.values(), HEARTBEAT_SOURCE)
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")


class ReceiverConfigError(PolicyValueError):
    """The receiver cannot start (no token, bad limit, port taken); one sentence.

    A PolicyValueError, so the CLI reports it like any other bad value from the user."""


@dataclass(frozen=True)
class Credentials:
    token: bytes | None = None
    secret: bytes | None = None


@dataclass
class Gate:
    """What the headers said about authentication, before the body is read."""

    verified: bool  # a bearer token matched: the body may be read and used
    signature: str | None = None  # else: the hex signature to check once the body is read
    timestamp: str | None = None


_WWW_AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="incident-response"'}
_UNAUTHORIZED = ("missing or wrong credentials; accepted: Authorization: Bearer <token>, or "
                 f"{SIGNATURE_HEADER}: sha256=<HMAC-SHA256 of '<timestamp>:<body>'> with "
                 f"{TIMESTAMP_HEADER}: <unix seconds> (or Grafana's {GRAFANA_SIGNATURE_HEADER} "
                 f"and {GRAFANA_TIMESTAMP_HEADER})")


def _credential(value: str | None) -> bytes | None:
    return value.strip().encode("utf-8") if value and value.strip() else None


class AlertReceiver:
    """Authentication and notification handling, independent of HTTP plumbing: what
    integrations.http_server serves (`paths`, `max_body`, `admit`, `respond`)."""

    def __init__(self, intake: Intake, *, token: str | None = None, secret: str | None = None,
                 max_body: int = DEFAULT_MAX_BODY, credentials: dict[str, dict[str, str | None]] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        token = os.environ.get(TOKEN_ENV) if token is None else token
        secret = os.environ.get(SECRET_ENV) if secret is None else secret
        shared = Credentials(_credential(token), secret.encode("utf-8") if secret else None)
        self._credentials: dict[str, Credentials] = {}
        for source in SOURCES:
            given = (credentials or {}).get(source)
            if given is None:
                given = {"token": os.environ.get(f"{TOKEN_ENV}_{source.upper()}"),
                         "secret": os.environ.get(f"{SECRET_ENV}_{source.upper()}")}
            own = Credentials(_credential(given.get("token")), _credential(given.get("secret")))
            self._credentials[source] = own if (own.token or own.secret) else shared
        unknown = sorted(set(credentials or {}) - set(SOURCES))
        if unknown:
            raise ReceiverConfigError(f"no alert source {unknown[0]!r}; accepted: {', '.join(SOURCES)}")
        if not any(c.token or c.secret for c in self._credentials.values()):
            raise ReceiverConfigError(
                f"the alert receiver needs a token; set {TOKEN_ENV} (or the webhook token in config), "
                f"or {SECRET_ENV} for HMAC-signed bodies"
            )
        if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body <= 0:
            raise ReceiverConfigError(f"the body size limit is {max_body!r}; accepted: a positive number of bytes")
        self.intake = intake
        self.paths = _Paths((*ROUTES, f"{HEARTBEAT_PREFIX}NAME"))
        self.max_body = max_body
        self.activity = None  # a store.activity_log.ActivityLog, when the caller keeps one
        self.clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()  # signature -> when it may be forgotten
        self._seen_lock = threading.Lock()


    # -- authentication ---------------------------------------------------------------
    def credentials(self, source: str = "generic") -> Credentials:
        return self._credentials[source]

    def bearer_ok(self, authorization: str | None, source: str = "generic") -> bool:
        token = self._credentials[source].token
        if token is None or not authorization:
            return False
        scheme, _, given = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(given.strip().encode("latin-1", "replace"), token)

    def gate(self, source: str, headers: dict[str, str]) -> Gate:
        """Decide from the headers alone; raises Refused (401) when the body need not be read."""
        if self.bearer_ok(headers.get("authorization"), source):
            return Gate(verified=True)
        own = self._credentials[source]
        signature = headers.get(SIGNATURE_HEADER.lower()) or headers.get(GRAFANA_SIGNATURE_HEADER.lower())
        timestamp = headers.get(TIMESTAMP_HEADER.lower()) or headers.get(GRAFANA_TIMESTAMP_HEADER.lower())
        if own.secret is None or not signature:
            raise Refused(401, _UNAUTHORIZED, _WWW_AUTHENTICATE)
        hex_signature = signature.strip()
        if hex_signature[:7].lower() == "sha256=":
            hex_signature = hex_signature[7:].strip()
        if not _HEX64.fullmatch(hex_signature):
            raise Refused(401, "the signature is not 64 hexadecimal digits; accepted: "
                               f"{SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256>", _WWW_AUTHENTICATE)
        if timestamp is None or not _UNIX_SECONDS.fullmatch(timestamp.strip()):
            raise Refused(401, f"a signed request needs {TIMESTAMP_HEADER} (or {GRAFANA_TIMESTAMP_HEADER}); "
                               "accepted: the Unix time in seconds, signed with the body as '<timestamp>:<body>'",
                          _WWW_AUTHENTICATE)
        age = self.clock() - int(timestamp.strip())
        if age > SIGNATURE_MAX_AGE_S or age < -SIGNATURE_MAX_AHEAD_S:
            raise Refused(401, f"the signature's timestamp is {int(age)} seconds old; accepted: at most "
                               f"{SIGNATURE_MAX_AGE_S} seconds old and {SIGNATURE_MAX_AHEAD_S} ahead",
                          _WWW_AUTHENTICATE)
        if self._was_used(hex_signature.lower()):
            raise Refused(401, "this signature was already accepted (a replay); accepted: a new timestamp "
                               "and signature per request", _WWW_AUTHENTICATE)
        return Gate(verified=False, signature=hex_signature.lower(), timestamp=timestamp.strip())

    def signature_ok(self, source: str, gate: Gate, body: bytes) -> bool:
        secret = self._credentials[source].secret
        if secret is None or gate.signature is None or gate.timestamp is None:
            return False
        expected = hmac.new(secret, gate.timestamp.encode("ascii") + b":" + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(gate.signature.encode("ascii"), expected.encode("ascii"))

    def accept_signature(self, gate: Gate) -> None:
        """Remember a verified signature until its timestamp is stale; raises Refused on a replay
        (two copies of one request in flight at once: the second)."""
        now = self.clock()
        with self._seen_lock:
            while self._seen:
                oldest, forget_at = next(iter(self._seen.items()))
                if forget_at > now:
                    break
                del self._seen[oldest]
            if gate.signature in self._seen:
                raise Refused(401, "this signature was already accepted (a replay); accepted: a new timestamp "
                                   "and signature per request", _WWW_AUTHENTICATE)
            if len(self._seen) >= REPLAY_CACHE_SIZE:
                raise Refused(503, "too many signed requests in five minutes to remember them all; "
                                   "accepted: retry shortly", authenticated=True)
            self._seen[gate.signature] = max(now, float(gate.timestamp)) + SIGNATURE_MAX_AGE_S + 1

    def _was_used(self, signature: str) -> bool:
        with self._seen_lock:
            forget_at = self._seen.get(signature)
            return forget_at is not None and forget_at > self.clock()

    def _verify(self, source: str, gate: Gate, body: bytes) -> None:
        """A signed body: its signature must match, and be new (raises Refused)."""
        if not self.signature_ok(source, gate, body):
            raise Refused(401, _UNAUTHORIZED, _WWW_AUTHENTICATE)
        self.accept_signature(gate)

    # -- what integrations.http_server calls --------------------------------------------
    def bodiless(self, path: str) -> bool:
        """A heartbeat may come without Content-Length (`curl -X POST`): HTTP/1.1 reads no body."""
        return _heartbeat_name(path) is not None

    def admit(self, path: str, headers: dict[str, str]) -> Callable[[bytes], None] | None:
        source = ROUTES.get(path, HEARTBEAT_SOURCE)
        gate = self.gate(source, headers)
        return None if gate.verified else (lambda body: self._verify(source, gate, body))

    def respond(self, path: str, body: bytes) -> tuple[int, dict[str, Any], str]:
        name = _heartbeat_name(path)
        if name is not None:
            status, payload = self.heartbeat(name)
            note = (f"heartbeat {name}" + (f" cleared {payload['cleared']}" if payload.get("cleared") else "")
                    if status == 200 else payload.get("error", ""))
            return status, payload, note
        status, payload = self.receive(ROUTES[path], body)
        note = (f"{payload.get('incident') or 'no open incident'}" + (" created" if payload.get("created") else "")
                if status == 200 else payload.get("error", ""))
        return status, payload, note

    # -- handling ---------------------------------------------------------------------
    def heartbeat(self, name: str) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON answer) for an authenticated beat of heartbeat `name`; its body,
        if any, says nothing."""
        beat = getattr(self.intake, "beat", None)
        if beat is None:
            return 404, {"error": "this receiver records no heartbeats; accepted: POST to "
                                  f"{', '.join(ROUTES)}"}
        try:
            outcome = beat(name)
        except IntakeUnknown as exc:
            return 404, {"error": one_line(exc)}
        except IntakeConflict as exc:
            return 409, {"error": one_line(exc)}
        except IntakeUnavailable as exc:
            return 503, {"error": one_line(exc)}
        return 200, {"heartbeat": name, "cleared": outcome.incident}

    def receive(self, source: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON answer) for an authenticated body from `source`."""
        try:
            data = json.loads(body, parse_constant=_refuse_constant)
        except (ValueError, RecursionError):
            return 400, {"error": "the body is not valid JSON; accepted: a UTF-8 JSON object"}
        if _holds_lone_surrogate(data):
            return 400, {"error": "the body escapes a lone surrogate (\\ud800-\\udfff), which is no character; "
                                  "accepted: a UTF-8 JSON object"}
        try:
            change = understand(source, data, self.intake.policy, received_at=self.intake.now())
        except (PayloadError, PolicyValueError) as exc:
            return 400, {"error": one_line(exc)}
        try:
            outcome = self.intake.take(change)
        except IntakeRefused as exc:
            return 400, {"error": one_line(exc)}
        except IntakeConflict as exc:
            return 409, {"error": one_line(exc)}
        except IntakeUnavailable as exc:
            return 503, {"error": one_line(exc)}
        if outcome.incident is None:
            return 200, {"incident": None}
        return 200, {"incident": outcome.incident, "created": outcome.created}


class _Paths(tuple):
    """The paths the server answers: the alert routes, and /heartbeat/<one segment> (which
    heartbeats exist is the intake's answer, given only once the caller authenticated)."""

    def __contains__(self, path: object) -> bool:
        return tuple.__contains__(self, path) or (isinstance(path, str) and _heartbeat_name(path) is not None)


def _heartbeat_name(path: str) -> str | None:
    """NAME of /heartbeat/NAME (one path segment), else None."""
    if not path.startswith(HEARTBEAT_PREFIX):
        return None
    name = path[len(HEARTBEAT_PREFIX):]
    return name if name and "/" not in name else None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _holds_lone_surrogate(data: Any) -> bool:
    """True when a key or string anywhere in decoded JSON holds a lone surrogate: valid JSON
    ("\\udcff"), but no text; it could be neither stored nor hashed into the audit chain."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if any("\ud800" <= c <= "\udfff" for c in item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class AlertServer:
    """The receiver on host:port. start() serves in a background thread; stop() ends it.

    port=0 binds a free port (see `.port` / `.url` after start()). Usable as a context
    manager. Raises ReceiverConfigError (one sentence) when it cannot start.
    """

    def __init__(self, intake: Intake, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *,
                 token: str | None = None, secret: str | None = None, max_body: int = DEFAULT_MAX_BODY,
                 credentials: dict[str, dict[str, str | None]] | None = None,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS,
                 request_deadline: float = DEFAULT_REQUEST_DEADLINE_S,
                 clock: Callable[[], float] = time.time) -> None:
        self.receiver = AlertReceiver(intake, token=token, secret=secret, max_body=max_body,
                                      credentials=credentials, clock=clock)
        if isinstance(max_connections, bool) or not isinstance(max_connections, int) or max_connections < 1:
            raise ReceiverConfigError(f"the connection limit is {max_connections!r}; accepted: a positive number")
        if not isinstance(request_deadline, (int, float)) or not 0 < request_deadline <= 3600:
            raise ReceiverConfigError(f"the request deadline is {request_deadline!r}; accepted: 0 to 3600 seconds")
        self._http = HttpServer(self.receiver, host, port, max_connections=max_connections,
                                request_deadline=request_deadline, log=log, name="alert-receiver")

    @property
    def host(self) -> str:
        return self._http.host

    @property
    def port(self) -> int:
        return self._http.port

    @property
    def url(self) -> str:
        return self._http.url

    def start(self) -> "AlertServer":
        try:
            self._http.start()
        except OSError as exc:
            raise ReceiverConfigError(
                f"cannot listen on {self.host}:{self.port} ({exc.strerror or exc}); accepted: a free port (--port)"
            ) from None
        log.info("alert receiver listening on %s (%s)", self.url, ", ".join(ROUTES))
        return self

    def stop_accepting(self) -> None:
        """Close the listening socket and drop idle connections; requests in flight go on."""
        self._http.stop_accepting()

    def stop(self, grace: float | None = None) -> None:
        """Stop accepting, let requests in flight finish (at most `grace` seconds, by default the
        request deadline), close everything. Idempotent."""
        if self._http.stop(grace):
            log.info("alert receiver stopped")

    def __enter__(self) -> "AlertServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def serve(intake: Intake, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, token: str | None = None,
          secret: str | None = None, max_body: int = DEFAULT_MAX_BODY,
          stop_event: threading.Event | None = None,
          on_start: Callable[[AlertServer], None] | None = None, activity=None,
          on_stopping: Callable[[AlertServer], None] | None = None, **limits: Any) -> None:
    """Run the receiver until `stop_event` is set, SIGTERM (or Ctrl-C); what `incident-response
    serve` calls.

    token / secret default to $IR_WEBHOOK_TOKEN / $IR_WEBHOOK_SECRET (pass "" to mean
    "none"); with neither, ReceiverConfigError is raised before anything listens.
    `on_start(server)` runs once it listens (e.g. to print `server.url`; with port=0,
    `server.port` is the port bound). On SIGTERM (in the main thread) it stops accepting,
    calls `on_stopping(server)`, answers the requests in flight and returns. Ctrl-C
    propagates as KeyboardInterrupt after a clean stop. `limits`: AlertServer's
    credentials, max_connections, request_deadline, clock.
    """
    server = AlertServer(intake, host, port, token=token, secret=secret, max_body=max_body, **limits)
    server.receiver.activity = activity
    stop_event = stop_event or threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda *_: stop_event.set())
    server.start()
    try:
        if on_start is not None:
            on_start(server)
        while not stop_event.wait(0.2):
            pass
        server.stop_accepting()
        if on_stopping is not None:
            on_stopping(server)
    finally:
        server.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)

"""The inbound alert receiver behind ``incident-response serve``.

An HTTP/1.1 server (asyncio, in one background thread) that turns alert notifications into
incidents through the store's detection operations:

    POST /alerts/alertmanager   Alertmanager webhook_config (payload version 4)
    POST /alerts/grafana        Grafana alerting webhook contact point
    POST /alerts/generic        the generic JSON form (see integrations.alert_payloads)

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
``IR_WEBHOOK_SECRET_<SOURCE>`` (``<SOURCE>`` one of ALERTMANAGER, GRAFANA, GENERIC), or
``credentials={"grafana": {"secret": ...}}``. A source with a credential of its own accepts
only that one on its path; the others use the shared token/secret. The receiver refuses to
start with no credential at all.

Answers (always JSON):
    200 {"incident": "INC-...", "created": true|false}   firing raised / resolved cleared
    200 {"incident": null}                                resolved for no open incident
                                                          (a resolve delivered twice: a no-op)
    400 malformed request line, header or JSON, a Content-Length that is not ASCII digits,
        a wrong shape, or a value the policy refuses (in any alert)
    401 missing, wrong, stale or replayed credentials     404 unknown path   405 not POST
    408 the request did not arrive whole within the deadline (``request_deadline``, 10 s)
    411 no Content-Length (chunked bodies are refused)
    413 Content-Length over ``max_body`` (answered before the body is read)
    414/431 request line / header section too long
    409/503 the store refused the change / is unavailable; 503 also when the receiver
        holds ``max_connections`` and none of them is an idle one it can drop
Errors are ``{"error": "<one sentence>"}`` and write nothing: the whole body is checked
against the policy before the first write.

Limits: a request line of at most 8 KiB and a header section of at most 32 KiB; at most
``max_connections`` connections (default 512; when full, the connection that has waited
longest without sending a whole request is dropped for the new one); a whole request (line,
headers and body) must arrive within ``request_deadline`` seconds of the connection (or the
previous answer); the listen backlog is 512; bodies not yet verified (signed ones) are read
at most ``MAX_UNVERIFIED_BODIES`` at a time. SIGTERM (``serve``) stops accepting, drops
idle connections, answers the requests in flight and exits.

Mapping (see integrations.alert_payloads): firing -> ``raise_condition`` (one open incident
per dedup key; firing again adds a 'condition_firing' event); a notification whose status
is ``resolved`` (every alert of the group cleared) -> ``clear_condition(resolve=True)``, in
one transaction. A ``startsAt`` outside [received - 30 days, received + 5 minutes] is set
aside for the receive time, and the 'declared' event says so. An incident the alert opened
is handed to ``on_opened(incident_id, change)`` when the caller gives one
(``automation.rule_actions.for_alerts`` carries out the actions of the rule the alert
names); the answer does not wait for what those actions do.

Use::

    from integrations.alert_receiver import AlertServer, serve

    serve(store, host="127.0.0.1", port=8787)          # blocks until stop_event / SIGTERM / Ctrl-C

    with AlertServer(store, port=0, token="t") as server:   # tests: a free port
        httpx.post(f"{server.url}/alerts/generic", ...)

Logging (logger ``integrations.alert_receiver`` and the activity log): an authenticated
request as client, method, path, status and incident id, its text escaped (no control,
escape or bidi character reaches a terminal); never headers or bodies. Requests refused
before they authenticated are not logged one by one: they are counted, and once a minute at
most one line says how many, by status, with a few samples (the first bytes of the method and
path, escaped), so junk can neither flood the terminal nor rotate real history out of the
activity log.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import re
import signal
import threading
import time
from collections import Counter, OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Callable
from urllib.parse import urlsplit

from integrations.alert_payloads import ConditionChange, PayloadError, understand
from playbooks.errors import PolicyValueError, one_line
from playbooks.clock import to_utc_naive
from store.detection import clear_condition, raise_condition
from store.errors import DatabaseUnavailable, StoreError
from playbooks.validation import check_actor

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
DEFAULT_MAX_BODY = 1_048_576  # 1 MiB
DEFAULT_MAX_CONNECTIONS = 512
DEFAULT_REQUEST_DEADLINE_S = 10.0
LISTEN_BACKLOG = 512  # a burst of Alertmanager retries waits in the kernel, not refused
MAX_REQUEST_LINE = 8 * 1024
MAX_HEAD = 32 * 1024
MAX_HEADERS = 100
MAX_UNVERIFIED_BODIES = 8  # signed bodies read before their signature can be checked: memory bound
WORKERS = 4  # threads doing store work; requests beyond wait for one
TOKEN_ENV = "IR_WEBHOOK_TOKEN"
SECRET_ENV = "IR_WEBHOOK_SECRET"
SIGNATURE_HEADER = "X-Signature-256"
TIMESTAMP_HEADER = "X-Signature-Timestamp"
GRAFANA_SIGNATURE_HEADER = "X-Grafana-Alerting-Signature"
GRAFANA_TIMESTAMP_HEADER = "X-Grafana-Alerting-Signature-Timestamp"
SIGNATURE_MAX_AGE_S = 300  # five minutes
SIGNATURE_MAX_AHEAD_S = 30  # the sender's clock may be a little ahead of ours
REPLAY_CACHE_SIZE = 100_000  # signatures remembered for their five minutes; beyond: 503
REFUSAL_WINDOW_S = 60.0  # unauthenticated refusals are summed up once per window
REFUSAL_SAMPLES = 3
SAMPLE_CHARS = 64
ROUTES = {
    "/alerts/alertmanager": "alertmanager",
    "/alerts/grafana": "grafana",
    "/alerts/generic": "generic",
}
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 token: methods and header names
_TARGET = re.compile(rb"[\x21-\x7e]+")
_DIGITS = re.compile(rb"[0-9]{1,18}")
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


class Refused(Exception):
    """An answer decided before the body was handled: (status, one sentence, headers)."""

    def __init__(self, status: int, error: str, headers: dict[str, str] | None = None,
                 authenticated: bool = False, first: bytes = b"") -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.headers = headers or {}
        self.authenticated = authenticated  # logged as itself; else only counted (see flush_refusals)
        self.first = first  # the first bytes sent, for the sample, when no request line could be parsed
        self.more: str | None = None  # how much more there was, when it was not all read


_WWW_AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="incident-response"'}
_UNAUTHORIZED = ("missing or wrong credentials; accepted: Authorization: Bearer <token>, or "
                 f"{SIGNATURE_HEADER}: sha256=<HMAC-SHA256 of '<timestamp>:<body>'> with "
                 f"{TIMESTAMP_HEADER}: <unix seconds> (or Grafana's {GRAFANA_SIGNATURE_HEADER} "
                 f"and {GRAFANA_TIMESTAMP_HEADER})")


def _credential(value: str | None) -> bytes | None:
    return value.strip().encode("utf-8") if value and value.strip() else None


class AlertReceiver:
    """Authentication and notification handling, independent of HTTP plumbing."""

    def __init__(self, store, *, token: str | None = None, secret: str | None = None,
                 actor: str = "alertmanager", max_body: int = DEFAULT_MAX_BODY,
                 on_opened: Callable[[str, ConditionChange], None] | None = None,
                 credentials: dict[str, dict[str, str | None]] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        token = os.environ.get(TOKEN_ENV) if token is None else token
        secret = os.environ.get(SECRET_ENV) if secret is None else secret
        shared = Credentials(_credential(token), secret.encode("utf-8") if secret else None)
        self._credentials: dict[str, Credentials] = {}
        for source in ROUTES.values():
            given = (credentials or {}).get(source)
            if given is None:
                given = {"token": os.environ.get(f"{TOKEN_ENV}_{source.upper()}"),
                         "secret": os.environ.get(f"{SECRET_ENV}_{source.upper()}")}
            own = Credentials(_credential(given.get("token")), _credential(given.get("secret")))
            self._credentials[source] = own if (own.token or own.secret) else shared
        unknown = sorted(set(credentials or {}) - set(ROUTES.values()))
        if unknown:
            raise ReceiverConfigError(f"no alert source {unknown[0]!r}; accepted: {', '.join(ROUTES.values())}")
        if not any(c.token or c.secret for c in self._credentials.values()):
            raise ReceiverConfigError(
                f"the alert receiver needs a token; set {TOKEN_ENV} (or the webhook token in config), "
                f"or {SECRET_ENV} for HMAC-signed bodies"
            )
        if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body <= 0:
            raise ReceiverConfigError(f"the body size limit is {max_body!r}; accepted: a positive number of bytes")
        try:
            self.actor = check_actor(actor)
        except PolicyValueError as exc:
            raise ReceiverConfigError(str(exc)) from None
        self.store = store
        self.max_body = max_body
        self.activity = None  # a store.activity_log.ActivityLog, when the caller keeps one
        self.on_opened = on_opened
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

    # -- handling ---------------------------------------------------------------------
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
            change = understand(source, data, self.store.policy, received_at=self.store.now())
            detected = self._detected_at(change)
            if change.firing:
                # Every check raise_condition makes, before anything is written.
                self.store.prepare_declaration(
                    change.severity, change.incident_type, change.environment, actor=self.actor,
                    title=change.title, service=change.service, detected_at=detected,
                    dedup_key=change.dedup_key, detail=change.detail)
        except (PayloadError, PolicyValueError) as exc:
            return 400, {"error": one_line(exc)}
        try:
            return 200, self._apply(change, detected)
        except DatabaseUnavailable as exc:
            return 503, {"error": one_line(exc)}
        except StoreError as exc:
            return 409, {"error": one_line(exc)}

    def _detected_at(self, change: ConditionChange):
        """When monitoring saw it first; never later than the store's now (a plausible startsAt
        a little ahead of our clock is taken as now)."""
        if change.detected_at is None:
            return None
        detected = to_utc_naive(change.detected_at)
        return detected if detected <= self.store.now() else None

    def _apply(self, change: ConditionChange, detected) -> dict[str, Any]:
        if change.firing:
            incident, created = raise_condition(
                self.store, change.dedup_key, severity=change.severity, incident_type=change.incident_type,
                environment=change.environment, title=change.title, actor=self.actor, service=change.service,
                detected_at=detected, detail=change.detail)
            if created and self.on_opened is not None:
                try:
                    self.on_opened(incident.id, change)
                except Exception:  # the incident is open: what its rule does after must not lose the answer
                    log.exception("the actions for %s failed", incident.id)
            return {"incident": incident.id, "created": created}
        incident = clear_condition(self.store, change.dedup_key, actor=self.actor, resolve=change.resolve,
                                   detail=change.detail)
        if incident is None:
            return {"incident": None}
        return {"incident": incident.id, "created": False}


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


def sample(raw: bytes | str, limit: int = SAMPLE_CHARS, more: str | None = None) -> str:
    """The first `limit` characters of something a stranger sent, escaped for a terminal and a
    log line (controls, escapes, C1, bidi as \\x1b, \\u202e ...), with how much more there was
    (or `more`, when that is not known)."""
    text = raw.decode("latin-1") if isinstance(raw, bytes) else raw
    shown = one_line(text[:limit])
    if more is not None:
        return f"{shown}\u2026[{more}]"
    return shown if len(text) <= limit else f"{shown}\u2026[+{len(text) - limit} chars]"


# -- HTTP ------------------------------------------------------------------------------
@dataclass
class _Request:
    method: str
    target: str
    path: str
    version: str
    headers: dict[str, str]  # lower-case names; a repeated header's values joined by ","
    lengths: list[bytes]  # every Content-Length value as sent
    close: bool


class _Connection:
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.waiting = True  # waiting for (the rest of) a request head: may be dropped for a newcomer
        self.task = asyncio.current_task()
        peer = writer.get_extra_info("peername")
        self.client = str(peer[0]) if isinstance(peer, tuple) and peer else "-"


def _parse_head(head: bytes) -> _Request:
    lines = head.split(b"\r\n")
    while lines and lines[0] == b"":  # RFC 9112: empty lines before the request line are ignored
        lines.pop(0)
    if not lines:
        raise Refused(400, "the request is empty; accepted: an HTTP/1.1 request")
    request_line = lines[0]
    if len(request_line) > MAX_REQUEST_LINE:
        raise Refused(414, f"the request line is {len(request_line)} bytes; accepted: at most "
                               f"{MAX_REQUEST_LINE} bytes")
    parts = request_line.split(b" ")
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not _TARGET.fullmatch(parts[1]):
        raise Refused(400, "the request line is malformed; accepted: METHOD /path HTTP/1.1")
    if parts[2] not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise Refused(505 if parts[2].startswith(b"HTTP/") else 400,
                          "the HTTP version is not accepted; accepted: HTTP/1.1 or HTTP/1.0")
    headers: dict[str, str] = {}
    lengths: list[bytes] = []
    fields = [line for line in lines[1:] if line]
    if len(fields) > MAX_HEADERS:
        raise Refused(431, f"the request has {len(fields)} header fields; accepted: at most {MAX_HEADERS}")
    for line in fields:
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):  # obs-fold and junk alike
            raise Refused(400, "a header field is malformed; accepted: Name: value")
        value = value.strip(b" \t")
        if any(b < 0x20 and b != 0x09 or b == 0x7f for b in value):
            raise Refused(400, "a header value holds a control character; accepted: visible text")
        key = name.decode("ascii").lower()
        if key == "content-length":
            lengths.extend(v.strip(b" \t") for v in value.split(b","))
        text = value.decode("latin-1")
        headers[key] = f"{headers[key]},{text}" if key in headers else text
    version = parts[2].decode("ascii")
    connection = {token.strip().lower() for token in headers.get("connection", "").split(",")}
    close = "close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection)
    target = parts[1].decode("ascii")
    path = urlsplit(target).path.rstrip("/") or "/"
    return _Request(parts[0].decode("ascii"), target, path, version, headers, lengths, close)


def _answer(status: int, payload: dict[str, Any], *, close: bool, head_only: bool = False,
            headers: dict[str, str] | None = None) -> bytes:
    body = json.dumps(payload).encode("utf-8")
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    lines = [f"HTTP/1.1 {status} {phrase}", "Server: incident-response", "Content-Type: application/json",
             f"Content-Length: {len(body)}", "Cache-Control: no-store"]
    if close:
        lines.append("Connection: close")
    lines.extend(f"{name}: {value}" for name, value in (headers or {}).items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head_only else body)


_BUSY = _answer(503, {"error": "the receiver has too many connections; accepted: retry shortly"}, close=True)


class _Server:
    """The asyncio side: connections, limits, deadlines, and the log of what was refused."""

    def __init__(self, receiver: AlertReceiver, *, max_connections: int, request_deadline: float) -> None:
        self.receiver = receiver
        self.max_connections = max_connections
        self.deadline = request_deadline
        self.loop = asyncio.new_event_loop()
        self.pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="alert-receiver-store")
        self.connections: dict[_Connection, None] = {}  # by when each began waiting for a request
        self.unverified = asyncio.Semaphore(MAX_UNVERIFIED_BODIES)
        self.server: asyncio.AbstractServer | None = None
        self.stopping = False
        self.refused: Counter[int] = Counter()
        self.samples: list[dict[str, str]] = []
        self.flush_handle: asyncio.TimerHandle | None = None

    # -- connections --------------------------------------------------------------------
    async def on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.stopping:
            writer.transport.abort()
            return
        connection = _Connection(writer)
        if len(self.connections) >= self.max_connections and not self._drop_one_waiting():
            writer.write(_BUSY)  # a fresh socket's send buffer takes it at once
            self._count_refusal(connection, 503, "", "")
            writer.close()
            return
        self.connections[connection] = None
        try:
            while not self.stopping:
                if not await self._one_request(connection, reader):
                    break
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self.connections.pop(connection, None)
            if writer.transport.get_write_buffer_size():
                writer.transport.abort()  # a client that does not read: nothing more to wait for
            else:
                writer.close()

    def _drop_one_waiting(self) -> bool:
        """Make room by dropping the connection that has waited longest without a whole request."""
        for connection in self.connections:
            if connection.waiting:
                self.connections.pop(connection, None)
                connection.writer.transport.abort()
                return True
        return False

    async def _one_request(self, connection: _Connection, reader: asyncio.StreamReader) -> bool:
        """Read, answer and log one request; True to keep the connection for another."""
        connection.waiting = True
        if connection in self.connections:  # to the end: the dict stays ordered by when each began waiting
            del self.connections[connection]
            self.connections[connection] = None
        request: _Request | None = None
        try:
            async with asyncio.timeout(self.deadline):
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.LimitOverrunError:  # what is buffered so far is MAX_HEAD bytes, no more
                    first = await reader.read(MAX_REQUEST_LINE + 2)
                    if b"\r\n" not in first.lstrip(b"\r\n"):
                        overrun = Refused(414, "the request line is too long; accepted: at most "
                                               f"{MAX_REQUEST_LINE} bytes", first=first[:SAMPLE_CHARS])
                    else:
                        overrun = Refused(431, f"the header section is too long; accepted: at most {MAX_HEAD} "
                                               "bytes", first=first[:SAMPLE_CHARS])
                    overrun.more = f"over {MAX_HEAD} bytes"
                    raise overrun from None
                except asyncio.IncompleteReadError as exc:
                    if exc.partial.strip():
                        raise Refused(400, "the request ended before its header section did; "
                                           "accepted: a whole HTTP/1.1 request") from None
                    return False  # a keep-alive connection closed by its client
                connection.waiting = False  # a whole head: in flight from here on
                try:
                    request = _parse_head(head)
                except Refused as refusal:  # its sample: the start of what was sent as a request line
                    refusal.first = head.lstrip(b"\r\n").partition(b"\r\n")[0]
                    raise
                source, gate, length = self._precheck(request)
                if request.headers.get("expect", "").lower() == "100-continue":
                    connection.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                if gate.verified:
                    body = await reader.readexactly(length)
                else:
                    async with self.unverified:  # signed bodies not yet checked: a few at a time
                        body = await reader.readexactly(length)
                        if not self.receiver.signature_ok(source, gate, body):
                            raise Refused(401, _UNAUTHORIZED, _WWW_AUTHENTICATE)
                    self.receiver.accept_signature(gate)
        except TimeoutError:
            # Slow or silent: dropped. One whose head arrived hears why; an idle keep-alive
            # connection (or a silent one) is closed without a word, as HTTP allows.
            refusal = Refused(408, f"the request did not arrive whole within {self.deadline:g} seconds; "
                                   "accepted: a whole request at once")
            if request is not None:
                await self._refuse(connection, request, refusal)
            else:
                self._count_refusal(connection, 408, "", "")
            return False
        except asyncio.IncompleteReadError:
            return False  # the client gave up mid-body (or closed an idle keep-alive connection)
        except Refused as refusal:
            await self._refuse(connection, request, refusal)
            return False
        try:
            status, payload = await self.loop.run_in_executor(self.pool, self.receiver.receive, source, body)
        except Exception:  # a bug must not kill the server or leak a traceback to the caller
            log.exception("alert receiver failed on %s", sample(request.path))
            status, payload = 500, {"error": "the receiver failed; see its log"}
        close = request.close or status >= 400 or self.stopping
        await self._send(connection, _answer(status, payload, close=close))
        note = (f"{payload.get('incident') or 'no open incident'}" + (" created" if payload.get("created") else "")
                if status == 200 else payload.get("error", ""))
        self._log(connection.client, request, status, note)
        return not close

    def _precheck(self, request: _Request) -> tuple[str, Gate, int]:
        """What to refuse without reading the body; else the source, the gate and the length."""
        if request.path not in ROUTES:
            raise Refused(404, f"no such path; accepted: POST to {', '.join(ROUTES)}")
        if request.method != "POST":
            raise Refused(405, f"{sample(request.method, 16)} is not accepted here; accepted: POST",
                          {"Allow": "POST"})
        if "transfer-encoding" in request.headers:
            raise Refused(411, "chunked bodies are not accepted; accepted: a body with Content-Length")
        if not request.lengths:
            raise Refused(411, "the request has no Content-Length; accepted: a body with Content-Length")
        if len(set(request.lengths)) != 1 or not _DIGITS.fullmatch(request.lengths[0]):
            raise Refused(400, "the Content-Length is not one number in ASCII digits; accepted: for example "
                               "Content-Length: 512")
        length = int(request.lengths[0])
        if length > self.receiver.max_body:
            raise Refused(413, f"the body is {length} bytes; accepted: at most {self.receiver.max_body} bytes")
        source = ROUTES[request.path]
        return source, self.receiver.gate(source, request.headers), length

    async def _refuse(self, connection: _Connection, request: _Request | None, refusal: Refused) -> None:
        head_only = request is not None and request.method == "HEAD"
        await self._send(connection, _answer(refusal.status, {"error": refusal.error}, close=True,
                                             head_only=head_only, headers=refusal.headers))
        if refusal.authenticated:
            self._log(connection.client, request, refusal.status, refusal.error)
        else:
            self._count_refusal(connection, refusal.status, request.method if request else "",
                                request.target if request else refusal.first,
                                refusal.more)

    async def _send(self, connection: _Connection, data: bytes) -> None:
        connection.writer.write(data)
        try:
            async with asyncio.timeout(self.deadline):  # a client that does not read its answer
                await connection.writer.drain()
        except (TimeoutError, ConnectionError, OSError):
            connection.writer.transport.abort()

    # -- the log ------------------------------------------------------------------------
    def _log(self, client: str, request: _Request | None, status: int, note: str) -> None:
        method = sample(request.method, 16) if request else "-"
        path = sample(request.path) if request else "-"
        note = sample(note, 300) if note else ""
        log.log(logging.INFO if status < 400 else logging.WARNING, "%s %s %s %d%s", client, method, path, status,
                f" {note}" if note else "")
        activity = self.receiver.activity
        if activity is not None:
            activity.write("inbound_alert", client=client, method=method, path=path, status=status, note=note)

    def _count_refusal(self, connection: _Connection, status: int, method: str, target: str | bytes,
                       more: str | None = None) -> None:
        """Count a request refused before it authenticated; a few samples, escaped and cut."""
        self.refused[status] += 1
        if len(self.samples) < REFUSAL_SAMPLES:
            self.samples.append({"client": connection.client, "status": str(status),
                                 "method": sample(method, 16) or "-", "target": sample(target, more=more) or "-"})
        if self.flush_handle is None:
            self.flush_handle = self.loop.call_later(REFUSAL_WINDOW_S, self.flush_refusals)

    def flush_refusals(self) -> None:
        if self.flush_handle is not None:
            self.flush_handle.cancel()
            self.flush_handle = None
        if not self.refused:
            return
        total = sum(self.refused.values())
        by_status = {str(status): count for status, count in sorted(self.refused.items())}
        samples, self.samples, self.refused = self.samples, [], Counter()
        log.warning("refused %d unauthenticated request%s (%s); e.g. %s", total, "" if total == 1 else "s",
                    ", ".join(f"{status}: {count}" for status, count in by_status.items()),
                    "; ".join(f"{s['client']} {s['method']} {s['target']} {s['status']}" for s in samples))
        activity = self.receiver.activity
        if activity is not None:
            activity.write("inbound_refused", count=total, by_status=by_status, samples=samples)

    # -- stopping -----------------------------------------------------------------------
    async def close_listener(self) -> None:
        """Stop accepting and drop the connections that hold no request; the rest go on."""
        self.stopping = True
        if self.server is not None:
            self.server.close()
        for connection in list(self.connections):
            if connection.waiting:
                connection.writer.transport.abort()

    async def finish(self, grace: float) -> None:
        """Wait (at most `grace` seconds) for the requests in flight (each connection ends after
        its answer once stopping), then drop what is left."""
        tasks = {c.task for c in self.connections if c.task is not None}
        if tasks:
            await asyncio.wait(tasks, timeout=grace)
        for connection in list(self.connections):
            connection.writer.transport.abort()
        left = {c.task for c in self.connections if c.task is not None}
        if left:
            await asyncio.wait(left, timeout=1)
        if self.server is not None:
            await self.server.wait_closed()
        self.flush_refusals()


class AlertServer:
    """The receiver on host:port. start() serves in a background thread; stop() ends it.

    port=0 binds a free port (see `.port` / `.url` after start()). Usable as a context
    manager. Raises ReceiverConfigError (one sentence) when it cannot start.
    """

    def __init__(self, store, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, token: str | None = None,
                 secret: str | None = None, actor: str = "alertmanager", max_body: int = DEFAULT_MAX_BODY,
                 on_opened: Callable[[str, ConditionChange], None] | None = None,
                 credentials: dict[str, dict[str, str | None]] | None = None,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS,
                 request_deadline: float = DEFAULT_REQUEST_DEADLINE_S,
                 clock: Callable[[], float] = time.time) -> None:
        self.receiver = AlertReceiver(store, token=token, secret=secret, actor=actor, max_body=max_body,
                                      on_opened=on_opened, credentials=credentials, clock=clock)
        if isinstance(max_connections, bool) or not isinstance(max_connections, int) or max_connections < 1:
            raise ReceiverConfigError(f"the connection limit is {max_connections!r}; accepted: a positive number")
        if not isinstance(request_deadline, (int, float)) or not 0 < request_deadline <= 3600:
            raise ReceiverConfigError(f"the request deadline is {request_deadline!r}; accepted: 0 to 3600 seconds")
        self.host = host
        self.port = port
        self.max_connections = max_connections
        self.request_deadline = float(request_deadline)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> "AlertServer":
        if self._server is not None:
            return self
        server = _Server(self.receiver, max_connections=self.max_connections, request_deadline=self.request_deadline)
        thread = threading.Thread(target=server.loop.run_forever, name="alert-receiver", daemon=True)
        thread.start()
        listening = asyncio.run_coroutine_threadsafe(asyncio.start_server(
            server.on_connection, self.host, self.port, backlog=LISTEN_BACKLOG, limit=MAX_HEAD,
            reuse_address=True), server.loop)
        try:
            server.server = listening.result()
        except OSError as exc:
            server.loop.call_soon_threadsafe(server.loop.stop)
            thread.join()
            server.loop.close()
            server.pool.shutdown()
            raise ReceiverConfigError(
                f"cannot listen on {self.host}:{self.port} ({exc.strerror or exc}); accepted: a free port (--port)"
            ) from None
        self._server, self._thread = server, thread
        self.port = server.server.sockets[0].getsockname()[1]
        log.info("alert receiver listening on %s (%s)", self.url, ", ".join(ROUTES))
        return self

    def stop_accepting(self) -> None:
        """Close the listening socket and drop idle connections; requests in flight go on."""
        server = self._server
        if server is not None and not server.stopping:
            asyncio.run_coroutine_threadsafe(server.close_listener(), server.loop).result()

    def stop(self, grace: float | None = None) -> None:
        """Stop accepting, let requests in flight finish (at most `grace` seconds, by default the
        request deadline), close everything. Idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        if not server.stopping:
            asyncio.run_coroutine_threadsafe(server.close_listener(), server.loop).result()
        grace = self.request_deadline if grace is None else grace
        asyncio.run_coroutine_threadsafe(server.finish(grace), server.loop).result()
        server.pool.shutdown(wait=True)  # store work under way ends before the store is closed
        server.loop.call_soon_threadsafe(server.loop.stop)
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        server.loop.close()
        log.info("alert receiver stopped")

    def __enter__(self) -> "AlertServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def serve(store, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, token: str | None = None,
          secret: str | None = None, actor: str = "alertmanager", max_body: int = DEFAULT_MAX_BODY,
          stop_event: threading.Event | None = None,
          on_start: Callable[[AlertServer], None] | None = None, activity=None,
          on_opened: Callable[[str, ConditionChange], None] | None = None,
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
    server = AlertServer(store, host, port, token=token, secret=secret, actor=actor, max_body=max_body,
                         on_opened=on_opened, **limits)
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


serve_forever = serve  # the name tui/cli.py imports

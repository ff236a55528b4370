"""The inbound alert receiver behind ``incident-response serve``.

An HTTP server (stdlib ``ThreadingHTTPServer``, one thread per connection) that turns
alert notifications into incidents through the store's detection operations:

    POST /alerts/alertmanager   Alertmanager webhook_config (payload version 4)
    POST /alerts/grafana        Grafana alerting webhook contact point
    POST /alerts/generic        the generic JSON form (see integrations.alert_payloads)

Authentication, one of:
    ``Authorization: Bearer <token>``        the token (``token=`` or ``IR_WEBHOOK_TOKEN``)
    ``X-Signature-256: sha256=<hex>``        HMAC-SHA256 of the raw body keyed with the
                                             secret (``secret=`` or ``IR_WEBHOOK_SECRET``)
The receiver refuses to start with neither configured.

Answers (always JSON):
    200 {"incident": "INC-...", "created": true|false}   firing raised / resolved cleared
    200 {"incident": null}                                resolved for no open incident
    400 malformed JSON, wrong shape, or a value the policy refuses (in any alert)
    401 missing or wrong credentials          404 unknown path       405 not POST
    411 no Content-Length (chunked bodies are refused)
    413 Content-Length over ``max_body`` (answered before the body is read)
    409/503 the store refused the change / is unavailable
Errors are ``{"error": "<one sentence>"}`` and write nothing: the whole body is checked
against the policy before the first write.

Mapping (see integrations.alert_payloads): firing -> ``raise_condition`` (one open incident
per dedup key; firing again adds a 'condition_firing' event); a notification whose status
is ``resolved`` (every alert of the group cleared) -> ``clear_condition(resolve=True)``.
An incident the alert opened is handed to ``on_opened(incident_id, change)`` when the
caller gives one (``automation.rule_actions.for_alerts`` carries out the actions of the rule
the alert names); the answer does not wait for what those actions do.

Use::

    from integrations.alert_receiver import AlertServer, serve

    serve(store, host="127.0.0.1", port=8787)          # blocks until stop_event / Ctrl-C

    with AlertServer(store, port=0, token="t") as server:   # tests: a free port
        httpx.post(f"{server.url}/alerts/generic", ...)

Nothing secret is logged: requests are logged (logger ``integrations.alert_receiver``)
as method, path without query, status and incident id; never headers or bodies.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import urlsplit

from integrations.alert_payloads import ConditionChange, PayloadError, understand
from playbooks.errors import PolicyValueError
from store.clock import to_utc_naive
from store.detection import clear_condition, raise_condition
from store.errors import DatabaseUnavailable, StoreError
from store.validation import check_actor

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
DEFAULT_MAX_BODY = 1_048_576  # 1 MiB
TOKEN_ENV = "IR_WEBHOOK_TOKEN"
SECRET_ENV = "IR_WEBHOOK_SECRET"
SIGNATURE_HEADER = "X-Signature-256"
ROUTES = {
    "/alerts/alertmanager": "alertmanager",
    "/alerts/grafana": "grafana",
    "/alerts/generic": "generic",
}
REQUEST_TIMEOUT_S = 30  # a client silent this long (mid-body or idle keep-alive) is dropped


class ReceiverConfigError(PolicyValueError):
    """The receiver cannot start (no token, bad limit, port taken); one sentence.

    A PolicyValueError, so the CLI reports it like any other bad value from the user."""


class AlertReceiver:
    """Authentication and notification handling, independent of HTTP plumbing."""

    def __init__(self, store, *, token: str | None = None, secret: str | None = None,
                 actor: str = "alertmanager", max_body: int = DEFAULT_MAX_BODY,
                 on_opened: Callable[[str, ConditionChange], None] | None = None) -> None:
        token = os.environ.get(TOKEN_ENV) if token is None else token
        secret = os.environ.get(SECRET_ENV) if secret is None else secret
        self._token = token.strip().encode("utf-8") if token and token.strip() else None
        self._secret = secret.encode("utf-8") if secret else None
        if self._token is None and self._secret is None:
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

    # -- authentication ---------------------------------------------------------------
    def bearer_ok(self, authorization: str | None) -> bool:
        if self._token is None or not authorization:
            return False
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(credentials.strip().encode("latin-1", "replace"), self._token)

    def can_verify_signature(self, signature: str | None) -> bool:
        return self._secret is not None and bool(signature)

    def signature_ok(self, signature: str | None, body: bytes) -> bool:
        if self._secret is None or not signature:
            return False
        given = signature.strip()
        if given[:7].lower() != "sha256=":
            return False
        expected = hmac.new(self._secret, body, hashlib.sha256).hexdigest().encode("ascii")
        return hmac.compare_digest(given[7:].strip().lower().encode("latin-1", "replace"), expected)

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
            change = understand(source, data, self.store.policy)
            detected = self._detected_at(change)
            if change.firing:
                # Every check raise_condition makes, before anything is written.
                self.store.prepare_declaration(
                    change.severity, change.incident_type, change.environment, actor=self.actor,
                    title=change.title, service=change.service, detected_at=detected,
                    dedup_key=change.dedup_key, detail=change.detail)
        except (PayloadError, PolicyValueError) as exc:
            return 400, {"error": str(exc)}
        try:
            return 200, self._apply(change, detected)
        except DatabaseUnavailable as exc:
            return 503, {"error": str(exc)}
        except StoreError as exc:
            return 409, {"error": str(exc)}

    def _detected_at(self, change: ConditionChange):
        """When monitoring saw it first; never later than the store's now."""
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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "incident-response"
    sys_version = ""
    timeout = REQUEST_TIMEOUT_S
    server: "_Server"

    # -- plumbing ---------------------------------------------------------------------
    def version_string(self) -> str:
        return self.server_version  # no Python version on the wire

    def _path(self) -> str:
        path = urlsplit(self.path).path
        return path.rstrip("/") or "/"

    def _reply(self, status: int, payload: dict[str, Any], *, close: bool = False,
               headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode("utf-8")
        if close:
            self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        if self.close_connection:
            self.send_header("Connection", "close")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error(self, code, message=None, explain=None):  # noqa: D401 - the base class's name
        """The base class's own errors (bad request line, huge headers) as JSON too."""
        try:
            short = HTTPStatus(code).phrase
        except ValueError:
            short = "error"
        self._reply(code, {"error": str(message or short)}, close=True)

    def log_request(self, code="-", size="-"):
        pass  # logged once, with the outcome, by _log

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        log.debug("%s %s", self.address_string(), format % args)

    def _log(self, status: int, note: str = "") -> None:
        level = logging.INFO if status < 400 else logging.WARNING
        log.log(level, "%s %s %s %d%s", self.client_address[0], self.command, self._path(), status,
                f" {note}" if note else "")
        activity = self.server.receiver.activity
        if activity is not None:
            activity.write("inbound_alert", client=self.client_address[0], method=self.command, path=self._path(),
                           status=status, note=note)

    def __getattr__(self, name: str):
        # Every method but POST (GET, PUT, DELETE, ... and made-up ones) gets 405, not 501.
        if name.startswith("do_"):
            return self._not_post
        raise AttributeError(name)

    # -- checks before the body -------------------------------------------------------
    def _precheck(self) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        """What to answer without reading the body, or None to go on."""
        if self._path() not in ROUTES:
            return 404, {"error": f"no such path; accepted: POST to {', '.join(ROUTES)}"}, {}
        if self.command != "POST":
            return 405, {"error": f"{self.command} is not accepted here; accepted: POST"}, {"Allow": "POST"}
        if self.headers.get("Transfer-Encoding"):
            return 411, {"error": "chunked bodies are not accepted; accepted: a body with Content-Length"}, {}
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            return 411, {"error": "the request has no Content-Length; accepted: a body with Content-Length"}, {}
        if len(set(v.strip() for v in lengths)) != 1 or not lengths[0].strip().isdigit():
            return 400, {"error": "the Content-Length is not one non-negative number"}, {}
        length = int(lengths[0].strip())
        if length > self.server.receiver.max_body:
            return 413, {"error": f"the body is {length} bytes; accepted: at most "
                                  f"{self.server.receiver.max_body} bytes"}, {}
        receiver = self.server.receiver
        if not receiver.bearer_ok(self.headers.get("Authorization")) and \
                not receiver.can_verify_signature(self.headers.get(SIGNATURE_HEADER)):
            return 401, _UNAUTHORIZED, {"WWW-Authenticate": 'Bearer realm="incident-response"'}
        self._length = length
        return None

    def handle_expect_100(self) -> bool:
        # A client asking first (Expect: 100-continue) hears a refusal before it sends the body.
        refusal = self._precheck()
        if refusal is not None:
            self._refuse(refusal)
            return False
        self._prechecked = True
        return super().handle_expect_100()

    def _refuse(self, refusal) -> None:
        status, payload, headers = refusal
        self._reply(status, payload, close=True, headers=headers)  # the unread body would poison keep-alive
        self._log(status, payload.get("error", "") if status != 401 else "")

    def _not_post(self) -> None:
        refusal = self._precheck()
        self._refuse(refusal if refusal is not None else (405, {"error": "accepted: POST"}, {"Allow": "POST"}))

    # -- POST ---------------------------------------------------------------------------
    def do_POST(self) -> None:  # noqa: N802 - the base class's naming
        if not getattr(self, "_prechecked", False):
            refusal = self._precheck()
            if refusal is not None:
                return self._refuse(refusal)
        self._prechecked = False  # the next request on this connection is checked afresh
        try:
            body = self.rfile.read(self._length)
        except (TimeoutError, socket.timeout, ConnectionError, OSError):
            self.close_connection = True
            return None
        if len(body) != self._length:  # the client gave up or the server is stopping
            self.close_connection = True
            return None
        receiver = self.server.receiver
        if not receiver.bearer_ok(self.headers.get("Authorization")) and \
                not receiver.signature_ok(self.headers.get(SIGNATURE_HEADER), body):
            return self._refuse((401, _UNAUTHORIZED, {"WWW-Authenticate": 'Bearer realm="incident-response"'}))
        source = ROUTES[self._path()]
        try:
            status, payload = receiver.receive(source, body)
        except Exception:  # a bug must not kill the server or leak a traceback to the caller
            log.exception("alert receiver failed on %s", self._path())
            status, payload = 500, {"error": "the receiver failed; see its log"}
        self._reply(status, payload, close=status >= 400)
        note = ""
        if status == 200:
            note = f"{payload.get('incident') or 'no open incident'}" + (" created" if payload.get("created") else "")
        else:
            note = payload.get("error", "")
        self._log(status, note)
        return None


_UNAUTHORIZED = {"error": "missing or wrong credentials; accepted: Authorization: Bearer <token> "
                          "or X-Signature-256: sha256=<HMAC-SHA256 of the body>"}


class _Server(ThreadingHTTPServer):
    """Tracks its open connections so stop() can end idle keep-alive ones at once."""

    daemon_threads = False  # stop() waits for requests in flight to finish their writes
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, address, receiver: AlertReceiver) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.receiver = receiver
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request, client_address):
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def end_reading(self) -> None:
        """Idle connections see end-of-file; ones mid-request still write their answer."""
        with self._open_lock:
            for request in list(self._open):
                try:
                    request.shutdown(socket.SHUT_RD)
                except OSError:
                    pass


class AlertServer:
    """The receiver on host:port. start() serves in a background thread; stop() ends it.

    port=0 binds a free port (see `.port` / `.url` after start()). Usable as a context
    manager. Raises ReceiverConfigError (one sentence) when it cannot start.
    """

    def __init__(self, store, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, token: str | None = None,
                 secret: str | None = None, actor: str = "alertmanager", max_body: int = DEFAULT_MAX_BODY,
                 on_opened: Callable[[str, ConditionChange], None] | None = None) -> None:
        self.receiver = AlertReceiver(store, token=token, secret=secret, actor=actor, max_body=max_body,
                                      on_opened=on_opened)
        self.host = host
        self.port = port
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> "AlertServer":
        if self._httpd is not None:
            return self
        try:
            httpd = _Server((self.host, self.port), self.receiver)
        except OSError as exc:
            raise ReceiverConfigError(
                f"cannot listen on {self.host}:{self.port} ({exc.strerror or exc}); accepted: a free port (--port)"
            ) from None
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"alert-receiver:{self.port}", daemon=True)
        self._thread.start()
        log.info("alert receiver listening on %s (%s)", self.url, ", ".join(ROUTES))
        return self

    def stop(self) -> None:
        """Stop accepting, let requests in flight finish, close the socket. Idempotent."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.end_reading()
        httpd.server_close()  # joins the request threads
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        log.info("alert receiver stopped")

    def __enter__(self) -> "AlertServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def serve(store, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, token: str | None = None,
          secret: str | None = None, actor: str = "alertmanager", max_body: int = DEFAULT_MAX_BODY,
          stop_event: threading.Event | None = None,
          on_start: Callable[[AlertServer], None] | None = None, activity=None,
          on_opened: Callable[[str, ConditionChange], None] | None = None) -> None:
    """Run the receiver until `stop_event` is set (or Ctrl-C); what `incident-response serve` calls.

    token / secret default to $IR_WEBHOOK_TOKEN / $IR_WEBHOOK_SECRET (pass "" to mean
    "none"); with neither, ReceiverConfigError is raised before anything listens.
    `on_start(server)` runs once it listens (e.g. to print `server.url`; with port=0,
    `server.port` is the port bound). Ctrl-C propagates as KeyboardInterrupt after a
    clean stop.
    """
    server = AlertServer(store, host, port, token=token, secret=secret, actor=actor, max_body=max_body,
                         on_opened=on_opened)
    server.receiver.activity = activity
    stop_event = stop_event or threading.Event()
    server.start()
    try:
        if on_start is not None:
            on_start(server)
        while not stop_event.wait(0.5):
            pass
    finally:
        server.stop()


serve_forever = serve  # the name tui/cli.py imports

"""A small hand-rolled HTTP/1.1 server for JSON POSTs from strangers: the mechanics behind
the alert receiver (integrations/alert_receiver.py), which says what the paths mean.

One asyncio loop in a background thread reads requests under hard limits and hands each
whole, admitted body to the application's `respond` in a worker thread:

- a request line of at most 8 KiB and a header section of at most 32 KiB (414 / 431), at
  most 100 header fields; only HTTP/1.1 and HTTP/1.0; a Content-Length in ASCII digits
  (chunked bodies are refused: 411) and at most the application's `max_body` (413,
  answered before the body is read; also to ``Expect: 100-continue``);
- at most `max_connections` connections: when full, the one that has waited longest
  without sending a whole request is dropped for the new one, else the newcomer hears 503;
- a whole request (line, headers and body) must arrive within `request_deadline` seconds
  of the connection (or the previous answer): 408, or silence for one that sent no head;
- bodies whose credentials can only be checked once read (signed ones) are read at most
  MAX_UNVERIFIED_BODIES at a time.

Every answer is JSON (``{"error": "<one sentence>"}`` when refused). Requests answered
after they were admitted are logged one by one (client, method, path, status, a note), their
text escaped; requests refused before are counted and summed up once a minute at most in one
line with a few escaped samples (see `sample`), so junk can neither flood a terminal nor
rotate real history out of the activity log.

Stopping: `stop_accepting()` closes the listening socket and drops idle connections;
`stop()` also answers the requests in flight (within a grace period) and closes the rest.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Callable, Collection, Protocol
from urllib.parse import urlsplit

from playbooks.errors import one_line

LISTEN_BACKLOG = 512  # a burst of Alertmanager retries waits in the kernel, not refused
MAX_REQUEST_LINE = 8 * 1024
MAX_HEAD = 32 * 1024
MAX_HEADERS = 100
MAX_UNVERIFIED_BODIES = 8  # signed bodies read before their signature can be checked: memory bound
WORKERS = 4  # threads running the application (store work); requests beyond wait for one
REFUSAL_WINDOW_S = 60.0  # unauthenticated refusals are summed up once per window
REFUSAL_SAMPLES = 3
SAMPLE_CHARS = 64
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 token: methods and header names
_TARGET = re.compile(rb"[\x21-\x7e]+")
_DIGITS = re.compile(rb"[0-9]{1,18}")


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


class HttpApp(Protocol):
    """What the server asks of the application behind it."""

    paths: Collection[str]  # the paths it answers; any other: 404
    max_body: int  # bytes; a longer Content-Length: 413 before the body is read
    activity: Any  # a store.activity_log.ActivityLog-like writer (`.write(event, **fields)`), or None

    def admit(self, path: str, headers: dict[str, str]) -> Callable[[bytes], None] | None:
        """Judge the credentials in the headers (lower-case names): raise Refused, or return
        None when the body may be read and used, or a check of the body (raising Refused)
        that must pass before it is used."""

    def respond(self, path: str, body: bytes) -> tuple[int, dict[str, Any], str]:
        """(status, JSON answer, a note for the log) for an admitted body; runs in a worker thread."""


class _Server:
    """The asyncio side: connections, limits, deadlines, and the log of what was refused."""

    def __init__(self, app: HttpApp, *, max_connections: int, request_deadline: float, log: logging.Logger,
                 name: str) -> None:
        self.app = app
        self.log = log
        self.name = name
        self.max_connections = max_connections
        self.deadline = request_deadline
        self.loop = asyncio.new_event_loop()
        self.pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix=f"{name}-worker")
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
                check, length = self._precheck(request)
                if request.headers.get("expect", "").lower() == "100-continue":
                    connection.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                if check is None:
                    body = await reader.readexactly(length)
                else:
                    async with self.unverified:  # bodies not yet checked: a few at a time
                        body = await reader.readexactly(length)
                        check(body)
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
            status, payload, note = await self.loop.run_in_executor(self.pool, self.app.respond, request.path, body)
        except Exception:  # a bug must not kill the server or leak a traceback to the caller
            self.log.exception("%s failed on %s", self.name, sample(request.path))
            status, payload, note = 500, {"error": "the receiver failed; see its log"}, ""
        close = request.close or status >= 400 or self.stopping
        await self._send(connection, _answer(status, payload, close=close))
        self._log(connection.client, request, status, note or payload.get("error", ""))
        return not close

    def _precheck(self, request: _Request) -> tuple[Callable[[bytes], None] | None, int]:
        """What to refuse without reading the body; else the body's check (if any) and its length."""
        if request.path not in self.app.paths:
            raise Refused(404, f"no such path; accepted: POST to {', '.join(self.app.paths)}")
        if request.method != "POST":
            raise Refused(405, f"{sample(request.method, 16)} is not accepted here; accepted: POST",
                          {"Allow": "POST"})
        if "transfer-encoding" in request.headers:
            raise Refused(411, "chunked bodies are not accepted; accepted: a body with Content-Length")
        if not request.lengths and getattr(self.app, "bodiless", lambda path: False)(request.path):
            return self.app.admit(request.path, request.headers), 0  # HTTP/1.1: no length, no body
        if not request.lengths:
            raise Refused(411, "the request has no Content-Length; accepted: a body with Content-Length")
        if len(set(request.lengths)) != 1 or not _DIGITS.fullmatch(request.lengths[0]):
            raise Refused(400, "the Content-Length is not one number in ASCII digits; accepted: for example "
                               "Content-Length: 512")
        length = int(request.lengths[0])
        if length > self.app.max_body:
            raise Refused(413, f"the body is {length} bytes; accepted: at most {self.app.max_body} bytes")
        return self.app.admit(request.path, request.headers), length

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
        self.log.log(logging.INFO if status < 400 else logging.WARNING, "%s %s %s %d%s", client, method, path, status,
                f" {note}" if note else "")
        activity = self.app.activity
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
        self.log.warning("refused %d unauthenticated request%s (%s); e.g. %s", total, "" if total == 1 else "s",
                    ", ".join(f"{status}: {count}" for status, count in by_status.items()),
                    "; ".join(f"{s['client']} {s['method']} {s['target']} {s['status']}" for s in samples))
        activity = self.app.activity
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



class HttpServer:
    """`app` on host:port, served by one asyncio loop in a background thread named `name`.

    start() listens (port=0: a free port; see `.port` / `.url` after it) and raises OSError
    when it cannot; stop() ends it. The caller checks its limits before building one."""

    def __init__(self, app: HttpApp, host: str, port: int, *, max_connections: int, request_deadline: float,
                 log: logging.Logger, name: str) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.max_connections = max_connections
        self.request_deadline = float(request_deadline)
        self.log = log
        self.name = name
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        if self._server is not None:
            return
        server = _Server(self.app, max_connections=self.max_connections, request_deadline=self.request_deadline,
                         log=self.log, name=self.name)
        thread = threading.Thread(target=server.loop.run_forever, name=self.name, daemon=True)
        thread.start()
        listening = asyncio.run_coroutine_threadsafe(asyncio.start_server(
            server.on_connection, self.host, self.port, backlog=LISTEN_BACKLOG, limit=MAX_HEAD,
            reuse_address=True), server.loop)
        try:
            server.server = listening.result()
        except OSError:
            server.loop.call_soon_threadsafe(server.loop.stop)
            thread.join()
            server.loop.close()
            server.pool.shutdown()
            raise
        self._server, self._thread = server, thread
        self.port = server.server.sockets[0].getsockname()[1]

    def stop_accepting(self) -> None:
        """Close the listening socket and drop idle connections; requests in flight go on."""
        server = self._server
        if server is not None and not server.stopping:
            asyncio.run_coroutine_threadsafe(server.close_listener(), server.loop).result()

    def stop(self, grace: float | None = None) -> bool:
        """Stop accepting, let requests in flight finish (at most `grace` seconds, by default the
        request deadline), close everything. Idempotent: False when it was not running."""
        server, self._server = self._server, None
        if server is None:
            return False
        if not server.stopping:
            asyncio.run_coroutine_threadsafe(server.close_listener(), server.loop).result()
        grace = self.request_deadline if grace is None else grace
        asyncio.run_coroutine_threadsafe(server.finish(grace), server.loop).result()
        server.pool.shutdown(wait=True)  # the application's work under way ends before its resources close
        server.loop.call_soon_threadsafe(server.loop.stop)
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        server.loop.close()
        return True

"""A contract fake of a Microsoft Teams Workflows webhook: a real HTTP server on 127.0.0.1.

A Teams channel's Workflows (Power Automate) flow "Send webhook alerts to a channel" starts
with the trigger "When a Teams webhook request is received"; its URL carries the flow's
shared-access signature (`sig=`) in the query, so the URL itself is the secret.

  with TeamsFake() as fake:
      monkeypatch.setenv("TEAMS_WEBHOOK_URL", fake.webhook_url)
      ...
      fake.cards        # every accepted Adaptive Card (the attachment's `content`), in order
      fake.received     # every request that reached the server, accepted or not

What it enforces (the Teams docs for posting Adaptive Cards through a webhook, and the
Workflows trigger's behaviour; errors in the Logic Apps shape {"error": {"code", "message"}}):
- POST only (405) to the flow's path (404 elsewhere) with the right `sig` (401 otherwise).
- Content-Type application/json (415), a body at most 28 KB (413 "Request Entity too large":
  the documented message size limit), and UTF-8 JSON (400).
- The envelope: {"type": "message", "attachments": [...]} with at least one attachment; each
  attachment's contentType exactly "application/vnd.microsoft.card.adaptive", contentUrl
  null when present, and a `content` that is an Adaptive Card: "type": "AdaptiveCard", a
  "version" Teams renders (1.0 to 1.5), a non-empty "body" list whose elements each have a
  "type", every TextBlock a non-empty string "text", every FactSet a list of facts with
  string title and value, every Action.OpenUrl an absolute http(s) url (400 otherwise, the
  flow's "The specified Teams flowbot adaptive card request is missing or invalid").
- 202 Accepted with an empty body: the flow was started (what Workflows answers).

Failure switches: `fail_next(n, status=500 | 429 | ..., retry_after=None)`, `failing(status,
retry_after=None)` until `recover()` (answer that status "for a while"), `down()` / `up()`
(refuse connections).

`markdown_in(text)` names the Markdown an Adaptive Card TextBlock would render in `text`
(bold, italic, links, lists, headings, date functions): tests use it to show outside text
arrives as plain text.
"""
from __future__ import annotations

import json
import re
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.postgres import free_port

SIGNATURE = "Wf5ig-0123456789abcdefghijKLMNOPQRSTuv_wxyz"
FLOW_PATH = "/workflows/3f2b9c1d0e8a4b7c9d6e5f4a3b2c1d0e/triggers/manual/paths/invoke"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSIONS = ("1.0", "1.1", "1.2", "1.3", "1.4", "1.5")
MESSAGE_MAX = 28 * 1024  # bytes of the request body

Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Received:
    """One request as it reached the fake."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: bytes
    status: int = 0

    def json(self) -> Any:
        return json.loads(self.body)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Answer:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}, body


def _invalid(problem: str) -> Answer:
    return _error(400, "InvalidRequestContent",
                  f"The specified Teams flowbot adaptive card request is missing or invalid: {problem}")


def card_problem(document: Any) -> str | None:
    """What Teams finds wrong with a webhook message's envelope and card, or None if it posts."""
    if not isinstance(document, dict):
        return "the body must be a JSON object"
    if document.get("type") != "message":
        return "Property 'type' must be 'message'"
    attachments = document.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return "'attachments' must be a non-empty array"
    for attachment in attachments:
        if not isinstance(attachment, dict):
            return "each attachment must be an object"
        if attachment.get("contentType") != CARD_CONTENT_TYPE:
            return f"contentType must be '{CARD_CONTENT_TYPE}'"
        if attachment.get("contentUrl", None) is not None:
            return "contentUrl must be null for an Adaptive Card"
        problem = _adaptive_card_problem(attachment.get("content"))
        if problem:
            return problem
    return None


def _adaptive_card_problem(card: Any) -> str | None:
    if not isinstance(card, dict):
        return "the attachment's content must be an Adaptive Card object"
    if card.get("type") != "AdaptiveCard":
        return "Property 'type' must be 'AdaptiveCard'"
    if card.get("version") not in CARD_VERSIONS:
        return f"version must be one of {', '.join(CARD_VERSIONS)}"
    body = card.get("body")
    if not isinstance(body, list) or not body:
        return "the card's body must be a non-empty array"
    for element in body:
        problem = _element_problem(element)
        if problem:
            return problem
    for action in card.get("actions") or []:
        if not isinstance(action, dict) or action.get("type") != "Action.OpenUrl":
            return "only Action.OpenUrl actions are posted by a webhook"
        url = action.get("url")
        if not isinstance(url, str) or not re.match(r"^https?://[^\s/]+", url):
            return "Action.OpenUrl needs an absolute http(s) url"
        if not isinstance(action.get("title"), str):
            return "Action.OpenUrl needs a title"
    return None


def _element_problem(element: Any) -> str | None:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return "every body element needs a type"
    kind = element["type"]
    if kind == "TextBlock":
        text = element.get("text")
        if not isinstance(text, str) or not text:
            return "a TextBlock needs a non-empty string text"
    elif kind == "FactSet":
        facts = element.get("facts")
        if not isinstance(facts, list) or not facts:
            return "a FactSet needs facts"
        for fact in facts:
            if not isinstance(fact, dict) or not all(isinstance(fact.get(k), str) for k in ("title", "value")):
                return "each fact needs a string title and value"
    elif kind == "Container":
        items = element.get("items")
        if not isinstance(items, list) or not items:
            return "a Container needs items"
        for item in items:
            problem = _element_problem(item)
            if problem:
                return problem
    return None


def texts(card: dict[str, Any]) -> list[str]:
    """Every text a card shows (TextBlocks, facts' titles and values), in order."""
    found: list[str] = []

    def walk(elements: list[Any]) -> None:
        for element in elements:
            if element.get("type") == "TextBlock":
                found.append(element["text"])
            elif element.get("type") == "FactSet":
                for fact in element["facts"]:
                    found.extend([fact["title"], fact["value"]])
            elif element.get("type") == "Container":
                walk(element["items"])

    walk(card.get("body") or [])
    return found


# -- what a TextBlock would render -----------------------------------------------------------------

_ESCAPED = re.compile(r"\\[!-/:-@\[-`{-~]")  # CommonMark: a backslash before ASCII punctuation
_MARKDOWN = {
    "bold": re.compile(r"\*\*[^*]+\*\*|__[^_]+__"),
    "italic": re.compile(r"(?<![\w*])\*[^*\s][^*]*\*|(?<!\w)_[^_\s][^_]*_(?!\w)"),
    "link": re.compile(r"\[[^\]]*\]\([^)]*\)|<[a-zA-Z][a-zA-Z0-9+.-]*:[^>\s]*>"),
    "list": re.compile(r"^\s*(?:[-+*]\s|\d+[.)]\s)"),
    "heading": re.compile(r"^\s*#{1,6}\s"),
    "quote": re.compile(r"^\s*>"),
    "date function": re.compile(r"\{\{\s*(?:DATE|TIME)\("),
    "code": re.compile(r"`[^`]+`"),
    "entity": re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z]+);"),
}


def markdown_in(text: str) -> list[str]:
    """The kinds of Markdown a TextBlock would render in `text` (escaped characters are literal)."""
    plain = _ESCAPED.sub("\x00", text)  # an escaped character can start or end nothing
    return [kind for kind, pattern in _MARKDOWN.items() if pattern.search(plain)]


def shown(text: str) -> str:
    """`text` as a TextBlock shows it: backslash escapes resolved."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class TeamsFake:
    """The Workflows webhook trigger on a free loopback port; see the module docstring."""

    def __init__(self, signature: str = SIGNATURE) -> None:
        self.signature = signature
        self.cards: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []  # the whole accepted envelopes
        self.received: list[Received] = []
        self._failures: list[Answer] = []
        self._failing: Answer | None = None
        self._down = False
        self._lock = threading.Lock()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: ThreadingHTTPServer | None = None
        self._start()

    @property
    def webhook_url(self) -> str:
        """The URL Teams shows for the trigger (with its signature)."""
        return (f"{self.url}{FLOW_PATH}?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0"
                f"&sig={self.signature}")

    # -- failure switches -------------------------------------------------------------------------

    @staticmethod
    def _failure(status: int, retry_after: float | str | None) -> Answer:
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        if status == 429:
            return _error(429, "WorkflowTriggerIsThrottled", "The workflow's trigger is throttled; retry later.",
                          headers)
        if status >= 500:
            return _error(status, "ServiceUnavailable", "The service is temporarily unavailable.", headers)
        return _error(status, "BadRequest", "The request was refused.", headers)

    def fail_next(self, n: int = 1, status: int = 500, retry_after: float | str | None = None) -> None:
        """Answer the next `n` requests with `status`."""
        with self._lock:
            self._failures.extend([self._failure(status, retry_after)] * n)

    def failing(self, status: int = 503, retry_after: float | str | None = None) -> None:
        """Answer every request with `status` until `recover()`."""
        with self._lock:
            self._failing = self._failure(status, retry_after)

    def recover(self) -> None:
        with self._lock:
            self._failing = None
            self._failures.clear()

    def down(self) -> None:
        self._down = True
        self._stop()

    def up(self) -> None:
        if self._down:
            self._down = False
            self._start()

    # -- server -----------------------------------------------------------------------------------

    def _start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 5

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                received = Received(self.command, split.path, parse_qs(split.query, keep_blank_values=True),
                                    {k.lower(): v for k, v in self.headers.items()}, body)
                status, headers, payload = fake._answer(received)
                received.status = status
                with fake._lock:
                    fake.received.append(received)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def _stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def close(self) -> None:
        self._stop()

    def __enter__(self) -> "TeamsFake":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- the contract -----------------------------------------------------------------------------

    def _answer(self, request: Received) -> Answer:
        if request.path != FLOW_PATH:
            return _error(404, "WorkflowNotFound", "The workflow could not be found.")
        if request.method != "POST":
            return _error(405, "MethodNotAllowed", "The trigger accepts POST only.")
        if (request.query.get("sig") or [""])[0] != self.signature:
            return _error(401, "DirectApiInvalidAuthorizationSignature",
                          "The provided authorization signature is invalid.")
        with self._lock:
            if self._failures:
                return self._failures.pop(0)
            if self._failing is not None:
                return self._failing
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return _error(415, "UnsupportedMediaType", "The request content type must be application/json.")
        if len(request.body) > MESSAGE_MAX:
            return _error(413, "RequestEntityTooLarge", "Request Entity too large.")
        try:
            document = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return _error(400, "InvalidRequestContent", "The request content is not valid JSON.")
        problem = card_problem(document)
        if problem:
            return _invalid(problem)
        with self._lock:
            self.messages.append(document)
            self.cards.extend(attachment["content"] for attachment in document["attachments"])
        return 202, {}, b""

"""A contract fake of Slack (incoming webhooks and the Web API): a real HTTP server on 127.0.0.1.

  with SlackFake() as fake:                      # knows TOKEN, hands out webhook_url
      SlackNotifier(mode="web_api", url=fake.url)                # with SLACK_BOT_TOKEN=TOKEN
      SlackNotifier(mode="webhook")                              # with SLACK_WEBHOOK_URL=fake.webhook_url
      fake.messages("#incidents")    # top-level messages of a channel (by id, name or #name)
      fake.replies(channel, ts)      # the thread under a message
      fake.webhook_posts             # accepted webhook bodies, in order
      fake.add_user("U012AB3CD")     # a workspace member the app may DM
      fake.direct_messages("U012AB3CD")  # messages in the app's DM with that member
      fake.api_calls                 # accepted Web API calls: (method, parsed body), in order
      fake.received                  # every request that reached the server, accepted or not

What it enforces, from Slack's docs (incoming webhooks, chat.postMessage,
conversations.create, Block Kit reference; answers copy Slack's shapes and error names):
- Webhooks: POST /services/T…/B…/<secret> with a JSON body (or form-encoded `payload=`);
  200 text `ok`; otherwise plain-text errors: 400 invalid_payload (not JSON, not an object,
  wrong content type), 400 missing_text_or_fallback_or_attachments, 400 invalid_blocks,
  403 invalid_token (wrong secret), 404 no_service (unknown webhook), 410
  channel_is_archived. Webhook messages land in the webhook's channel (#incidents).
- Web API: POST /api/<method>, JSON (Authorization: Bearer) or form-encoded (token may be
  a form field). The quirk: failures are HTTP 200 with {"ok": false, "error": ...}:
  not_authed (no token), invalid_auth (unknown token), invalid_json, invalid_form_data;
  a JSON body without `charset=utf-8` is accepted with the warning missing_charset.
  - chat.postMessage: channel (id, name or #name) -> channel_not_found / is_archived /
    not_in_channel; text or blocks -> no_text; text <= 40,000 -> msg_too_long; blocks an
    array -> invalid_blocks_format; Block Kit limits -> invalid_blocks with Slack's
    "errors" list ("must be less than 151 characters [json-pointer:/blocks/0/text/text]");
    thread_ts an existing top-level ts of that channel -> thread_not_found. Answers
    {"ok": true, "channel": <id>, "ts": <increasing>, "message": {...}}.
  - conversations.create: name required (invalid_name_required), <= 80 characters
    (invalid_name_maxlength), lowercase letters / digits / - / _ (invalid_name_specials),
    not only punctuation (invalid_name_punctuation), unique (name_taken).
  - Direct messages: chat.postMessage with `channel` set to a member's id (U… / W…) posts in
    the app's DM with that member (no conversations.open needed first); the answer's
    `channel` is the DM's id (D…). A member id the workspace does not know ->
    channel_not_found (the fake answers the same for a deactivated member). conversations.open {"users": "U…"} opens (or returns) the same DM:
    users_list_not_supplied, user_not_found, user_disabled (a deactivated member).
  - Scopes: each token carries scopes (`SlackFake(scopes=...)`); a method the token lacks
    the scope for answers missing_scope with `needed` and `provided`: chat.postMessage
    chat:write, conversations.create channels:manage (groups:write when private),
    conversations.open im:write.
  - unknown method: 404 {"ok": false, "error": "unknown_method"}; not POST: 405.
- Block Kit checked: at most 50 blocks, unique block_id <= 255; header: plain_text 1..150;
  section: text (plain_text / mrkdwn 1..3000) and / or fields (1..10, each 1..2000);
  context: 1..10 text or image elements; divider; image (image_url, alt_text).

Failure switches: `fail_next(n, status=500 | 429 | ..., retry_after=None, body=None)` (Web API
answers get Slack's JSON, webhooks its plain text; 429 says ratelimited / rate_limited),
`error_next(n, error="internal_error", retry_after=None)` (the quirk: HTTP 200 ok:false on
the Web API, the error's status on a webhook), `down()` / `up()` (refuse connections;
`down(refuse=False)` answers 503), `garbage = True` (200 with an HTML page),
`delay = seconds` (answer late).
"""
from __future__ import annotations

import itertools
import json
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.postgres import free_port

TOKEN = "xoxb-000000000-fake-slack-bot-token"
TEAM_ID = "T0FAKE0001"
WEBHOOK_BOT = "B0FAKE0001"
WEBHOOK_SECRET = "fakewebhooksecret0123456"
BOT_USER = "U0FAKEBOT1"
#: What a bot token installed for this tool carries unless a test says otherwise.
DEFAULT_SCOPES = ("chat:write", "channels:manage", "groups:write", "im:write")
_MEMBER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")

HEADER_MAX = 150
SECTION_TEXT_MAX = 3000
FIELD_MAX = 2000
FIELDS_MAX = 10
CONTEXT_ELEMENTS_MAX = 10
BLOCKS_MAX = 50
BLOCK_ID_MAX = 255
TEXT_MAX = 40000
CHANNEL_NAME_MAX = 80

_NAME_OK = re.compile(r"^[a-z0-9_-]+$")
_GARBAGE_BODY = b"<html><body><h1>502 Bad Gateway</h1>upstream connect error</body></html>"
#: A webhook's status for each Slack error name (error_next on a webhook path).
WEBHOOK_STATUSES = {"invalid_payload": 400, "invalid_blocks": 400, "user_not_found": 400,
                    "missing_text_or_fallback_or_attachments": 400, "action_prohibited": 403,
                    "invalid_token": 403, "channel_not_found": 404, "no_service": 404,
                    "channel_is_archived": 410, "rate_limited": 429, "rollup_error": 500}

Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Received:
    """One request as it reached the fake."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    status: int = 0          # what the fake answered
    answer: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    member: bool = True       # is the bot in it
    archived: bool = False
    created_by_api: bool = False
    messages: list[dict[str, Any]] = field(default_factory=list)   # every message, replies too
    user: str | None = None   # a DM (im): the member it is with


@dataclass
class User:
    id: str
    deleted: bool = False     # deactivated: no DM can be opened with them


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    return status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}, json.dumps(body).encode()


def _text(status: int, text: str, headers: dict[str, str] | None = None) -> Answer:
    return status, {"Content-Type": "text/plain; charset=utf-8", **(headers or {})}, text.encode()


def _not_ok(error: str, **extra: Any) -> Answer:
    return _json(200, {"ok": False, "error": error, **extra})


# -- Block Kit ------------------------------------------------------------------------------------

def _text_object(value: Any, pointer: str, limit: int, *, plain_only: bool = False) -> list[str]:
    if not isinstance(value, dict):
        return [f"must provide an object [json-pointer:{pointer}]"]
    kind = value.get("type")
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if kind not in allowed:
        return [f"must be one of {', '.join(allowed)} [json-pointer:{pointer}/type]"]
    errors = []
    text = value.get("text")
    if not isinstance(text, str):
        errors.append(f"must provide a string [json-pointer:{pointer}/text]")
    elif len(text) < 1:
        errors.append(f"must be more than 0 characters [json-pointer:{pointer}/text]")
    elif len(text) > limit:
        errors.append(f"must be less than {limit + 1} characters [json-pointer:{pointer}/text]")
    if "emoji" in value and (kind != "plain_text" or not isinstance(value["emoji"], bool)):
        errors.append(f"emoji is only a boolean of plain_text [json-pointer:{pointer}/emoji]")
    if "verbatim" in value and (kind != "mrkdwn" or not isinstance(value["verbatim"], bool)):
        errors.append(f"verbatim is only a boolean of mrkdwn [json-pointer:{pointer}/verbatim]")
    return errors


def block_errors(blocks: Any) -> list[str]:
    """Everything wrong with a Block Kit `blocks` array, in Slack's words; [] if valid."""
    if not isinstance(blocks, list):
        return ["must provide an array [json-pointer:/blocks]"]
    errors: list[str] = []
    if len(blocks) > BLOCKS_MAX:
        errors.append(f"must be less than {BLOCKS_MAX + 1} items [json-pointer:/blocks]")
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        at = f"/blocks/{index}"
        if not isinstance(block, dict):
            errors.append(f"must provide an object [json-pointer:{at}]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or not block_id or len(block_id) > BLOCK_ID_MAX:
                errors.append(f"must be a string of 1 to {BLOCK_ID_MAX} characters [json-pointer:{at}/block_id]")
            elif block_id in block_ids:
                errors.append(f"block_id must be unique [json-pointer:{at}/block_id]")
            else:
                block_ids.add(block_id)
        kind = block.get("type")
        if kind == "header":
            errors += _text_object(block.get("text"), f"{at}/text", HEADER_MAX, plain_only=True)
        elif kind == "section":
            if "text" not in block and "fields" not in block:
                errors.append(f"must provide text or fields [json-pointer:{at}]")
            if "text" in block:
                errors += _text_object(block["text"], f"{at}/text", SECTION_TEXT_MAX)
            if "fields" in block:
                fields = block["fields"]
                if not isinstance(fields, list) or not fields:
                    errors.append(f"must provide a non-empty array [json-pointer:{at}/fields]")
                else:
                    if len(fields) > FIELDS_MAX:
                        errors.append(f"must be less than {FIELDS_MAX + 1} items [json-pointer:{at}/fields]")
                    for number, item in enumerate(fields):
                        errors += _text_object(item, f"{at}/fields/{number}", FIELD_MAX)
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements:
                errors.append(f"must provide a non-empty array [json-pointer:{at}/elements]")
            else:
                if len(elements) > CONTEXT_ELEMENTS_MAX:
                    errors.append(f"must be less than {CONTEXT_ELEMENTS_MAX + 1} items [json-pointer:{at}/elements]")
                for number, item in enumerate(elements):
                    where = f"{at}/elements/{number}"
                    if isinstance(item, dict) and item.get("type") == "image":
                        if not isinstance(item.get("image_url"), str) or not isinstance(item.get("alt_text"), str):
                            errors.append(f"must provide image_url and alt_text [json-pointer:{where}]")
                    else:
                        errors += _text_object(item, where, SECTION_TEXT_MAX)
        elif kind == "divider":
            pass
        elif kind == "image":
            if not isinstance(block.get("image_url"), str) or not isinstance(block.get("alt_text"), str):
                errors.append(f"must provide image_url and alt_text [json-pointer:{at}]")
        elif kind is None:
            errors.append(f"missing required field: type [json-pointer:{at}]")
        else:
            errors.append(f"unsupported type: {kind} [json-pointer:{at}/type]")
    return errors


def channel_name_error(name: Any) -> str | None:
    """conversations.create's error for a channel name, or None if Slack would take it."""
    if not isinstance(name, str) or not name:
        return "invalid_name_required"
    if len(name) > CHANNEL_NAME_MAX:
        return "invalid_name_maxlength"
    if not _NAME_OK.match(name):
        return "invalid_name_specials"
    if not re.search(r"[a-z0-9]", name):
        return "invalid_name_punctuation"
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout, reset) is part of the tests, not an error to print."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class SlackFake:
    """Slack's webhooks and Web API on a free loopback port; see the module docstring."""

    def __init__(self, tokens: tuple[str, ...] = (TOKEN,), scopes: tuple[str, ...] = DEFAULT_SCOPES) -> None:
        self.tokens = set(tokens)
        self.scopes = {token: set(scopes) for token in tokens}
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.webhook_posts: list[dict[str, Any]] = []
        self.api_calls: list[tuple[str, dict[str, Any]]] = []
        self.received: list[Received] = []
        self.garbage = False
        self.delay = 0.0
        self._ids = itertools.count(1)
        self._ts_seq = itertools.count(1)
        self._ts_base = int(time.time())
        self._failures: list[tuple[int, float | str | None, Any, str | None]] = []
        self._down: str | None = None
        self._lock = threading.RLock()
        self.incidents = self.add_channel("incidents")
        self.add_channel("general")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._start()

    @property
    def webhook_url(self) -> str:
        """The incoming webhook this fake hands out; it posts to #incidents."""
        return f"{self.url}/services/{TEAM_ID}/{WEBHOOK_BOT}/{WEBHOOK_SECRET}"

    # -- state --------------------------------------------------------------------------------------

    def add_channel(self, name: str, *, member: bool = True, archived: bool = False,
                    is_private: bool = False) -> Channel:
        channel = Channel(id=f"C{next(self._ids):09d}", name=name, member=member, archived=archived,
                          is_private=is_private)
        with self._lock:
            self.channels[channel.id] = channel
        return channel

    def add_user(self, user_id: str, *, deleted: bool = False) -> User:
        """A member of the workspace (U… / W…) the app may send direct messages to."""
        if not _MEMBER_ID.match(user_id):
            raise ValueError(f"{user_id!r} is not a Slack member id")
        user = User(user_id, deleted)
        with self._lock:
            self.users[user_id] = user
        return user

    def _dm(self, user_id: str) -> Channel:
        """The app's DM with a known member, opened on first use (one per member)."""
        with self._lock:
            found = next((c for c in self.channels.values() if c.user == user_id), None)
            if found is None:
                found = Channel(id=f"D{next(self._ids):09d}", name="", user=user_id)
                self.channels[found.id] = found
            return found

    def direct_messages(self, user_id: str) -> list[dict[str, Any]]:
        """The messages in the app's DM with a member, in order ([] if none was ever sent)."""
        with self._lock:
            found = next((c for c in self.channels.values() if c.user == user_id), None)
            return list(found.messages) if found is not None else []

    def channel(self, key: str) -> Channel | None:
        """The channel with id `key`, or named `key` / `#key`."""
        if key in self.channels:
            return self.channels[key]
        name = key[1:] if key.startswith("#") else key
        return next((c for c in self.channels.values() if c.name == name), None)

    def messages(self, key: str) -> list[dict[str, Any]]:
        """The messages shown in a channel, in order: top-level ones and replies broadcast to it."""
        channel = self.channel(key)
        if channel is None:
            return []
        with self._lock:
            return [m for m in channel.messages if "thread_ts" not in m or m.get("reply_broadcast")]

    def replies(self, key: str, ts: str) -> list[dict[str, Any]]:
        """The thread under the message `ts` of a channel, in order."""
        channel = self.channel(key)
        if channel is None:
            return []
        with self._lock:
            return [m for m in channel.messages if m.get("thread_ts") == ts]

    @property
    def threads(self) -> dict[tuple[str, str], list[dict[str, Any]]]:
        """(channel id, parent ts) -> its replies, for every thread with replies."""
        result: dict[tuple[str, str], list[dict[str, Any]]] = {}
        with self._lock:
            for channel in self.channels.values():
                for m in channel.messages:
                    if "thread_ts" in m:
                        result.setdefault((channel.id, m["thread_ts"]), []).append(m)
        return result

    def _next_ts(self) -> str:
        n = next(self._ts_seq)
        return f"{self._ts_base + n // 1_000_000}.{n % 1_000_000:06d}"

    # -- failure switches -------------------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 500, retry_after: float | str | None = None,
                  body: Any = None) -> None:
        """Answer the next `n` requests with `status` (Slack's body for the path unless `body` is given)."""
        with self._lock:
            self._failures.extend([(status, retry_after, body, None)] * n)

    def error_next(self, n: int = 1, error: str = "internal_error", retry_after: float | str | None = None) -> None:
        """The quirk: the next `n` Web API calls answer HTTP 200 {"ok": false, "error": error}
        (a webhook answers the error's own status and plain-text name)."""
        with self._lock:
            self._failures.extend([(200, retry_after, None, error)] * n)

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

    def _failure_answer(self, failure: tuple[int, float | str | None, Any, str | None], webhook: bool) -> Answer:
        status, retry_after, body, error = failure
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        if error is not None:
            if webhook:
                return _text(WEBHOOK_STATUSES.get(error, 400), error, headers)
            return _json(200, {"ok": False, "error": error}, headers)
        if body is None:
            if webhook:
                body = {429: "rate_limited", 404: "no_service", 403: "action_prohibited",
                        400: "invalid_payload", 410: "channel_is_archived"}.get(status, "rollup_error")
            else:
                body = {"ok": False, "error": "ratelimited" if status == 429 else "internal_error"}
        if isinstance(body, str):
            return _text(status, body, headers)
        return _json(status, body, headers)

    # -- server -----------------------------------------------------------------------------------

    def _start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 5
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

            def _handle(self) -> None:
                if fake._down == "refuse":
                    self.close_connection = True
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                received = Received(self.command, urlsplit(self.path).path,
                                    {k.lower(): v for k, v in self.headers.items()}, body)
                if fake.delay:
                    time.sleep(fake.delay)
                status, headers, payload = fake._answer(received)
                received.status, received.answer = status, payload
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

    def __enter__(self) -> "SlackFake":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- the contract -----------------------------------------------------------------------------

    def _answer(self, request: Received) -> Answer:
        webhook = request.path.startswith("/services/")
        api = request.path.startswith("/api/")
        if not webhook and not api:
            return _text(404, "not_found")
        if request.method != "POST":
            if webhook:
                return _text(405, "invalid_method", {"Allow": "POST"})
            return _json(405, {"ok": False, "error": "method_not_allowed"}, {"Allow": "POST"})
        with self._lock:
            if self._down == "503":
                return _text(503, "service_unavailable") if webhook else _json(503, {"ok": False,
                                                                                    "error": "service_unavailable"})
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            return self._failure_answer(failure, webhook)
        if self.garbage:
            return 200, {"Content-Type": "text/html"}, _GARBAGE_BODY
        if webhook:
            return self._webhook(request)
        return self._api(request)

    def _webhook(self, request: Received) -> Answer:
        parts = request.path.split("/")[2:]
        if len(parts) != 3 or parts[0] != TEAM_ID or parts[1] != WEBHOOK_BOT:
            return _text(404, "no_service")
        if parts[2] != WEBHOOK_SECRET:
            return _text(403, "invalid_token")
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            if content_type == "application/json":
                body = json.loads(request.body)
            elif content_type == "application/x-www-form-urlencoded":
                body = json.loads(parse_qs(request.body.decode())["payload"][-1])
            else:
                return _text(400, "invalid_payload")
        except (ValueError, KeyError, UnicodeDecodeError):
            return _text(400, "invalid_payload")
        if not isinstance(body, dict):
            return _text(400, "invalid_payload")
        text, blocks = body.get("text"), body.get("blocks")
        if not (isinstance(text, str) and text.strip()) and not blocks and not body.get("attachments"):
            return _text(400, "missing_text_or_fallback_or_attachments")
        if blocks is not None and block_errors(blocks):
            return _text(400, "invalid_blocks")
        if self.incidents.archived:
            return _text(410, "channel_is_archived")
        with self._lock:
            self.webhook_posts.append(body)
            self.incidents.messages.append({"ts": self._next_ts(), "text": text, "blocks": blocks,
                                            "bot_id": WEBHOOK_BOT, "via": "webhook"})
        return _text(200, "ok")

    def _api(self, request: Received) -> Answer:
        method = request.path[len("/api/"):]
        handlers = {"chat.postMessage": self._post_message, "conversations.create": self._create_channel,
                    "conversations.open": self._open_dm}
        if method not in handlers:
            return _json(404, {"ok": False, "error": "unknown_method", "req_method": method})
        content_type = request.headers.get("content-type", "")
        media = content_type.split(";")[0].strip().lower()
        warnings: list[str] = []
        form_token = None
        if media == "application/json":
            try:
                body = json.loads(request.body or b"null")
            except (ValueError, UnicodeDecodeError):
                return _not_ok("invalid_json")
            if not isinstance(body, dict):
                return _not_ok("invalid_json")
            if "charset=utf-8" not in content_type.lower().replace(" ", ""):
                warnings.append("missing_charset")
        elif media == "application/x-www-form-urlencoded":
            try:
                body = {k: v[-1] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()}
            except UnicodeDecodeError:
                return _not_ok("invalid_form_data")
            form_token = body.pop("token", None)
            for name in ("blocks",):
                if isinstance(body.get(name), str):
                    try:
                        body[name] = json.loads(body[name])
                    except ValueError:
                        return _not_ok("invalid_blocks_format")
        else:
            return _not_ok("invalid_form_data")
        authorization = request.headers.get("authorization", "")
        token = authorization[len("Bearer "):].strip() if authorization.startswith("Bearer ") else form_token
        if not token:
            return _not_ok("not_authed")
        if token not in self.tokens:
            return _not_ok("invalid_auth")
        needed = {"chat.postMessage": "chat:write", "conversations.open": "im:write",
                  "conversations.create": "groups:write" if body.get("is_private") in (True, "true")
                  else "channels:manage"}[method]
        granted = self.scopes.get(token, set())
        if needed not in granted:
            return _not_ok("missing_scope", needed=needed, provided=",".join(sorted(granted)))
        status, headers, payload = handlers[method](body)
        if warnings and status == 200:
            answer = json.loads(payload)
            answer["warning"] = ",".join(warnings)
            answer.setdefault("response_metadata", {})["warnings"] = warnings
            return _json(status, answer, headers)
        return status, headers, payload

    def _post_message(self, body: dict[str, Any]) -> Answer:
        key = body.get("channel")
        if not isinstance(key, str) or not key:
            return _not_ok("channel_not_found")
        if _MEMBER_ID.match(key):  # a member's id: the app's DM with them
            user = self.users.get(key)
            if user is None or user.deleted:
                return _not_ok("channel_not_found")
            channel = self._dm(key)
        else:
            channel = self.channel(key)
        if channel is None:
            return _not_ok("channel_not_found")
        if channel.archived:
            return _not_ok("is_archived")
        if not channel.member:
            return _not_ok("not_in_channel")
        text, blocks = body.get("text"), body.get("blocks")
        if text is not None and not isinstance(text, str):
            return _not_ok("invalid_arguments")
        if not text and not blocks and not body.get("attachments"):
            return _not_ok("no_text")
        if isinstance(text, str) and len(text) > TEXT_MAX:
            return _not_ok("msg_too_long")
        if blocks is not None:
            if not isinstance(blocks, list):
                return _not_ok("invalid_blocks_format")
            errors = block_errors(blocks)
            if errors:
                return _not_ok("invalid_blocks", errors=errors,
                               response_metadata={"messages": [f"[ERROR] {error}" for error in errors]})
        broadcast = body.get("reply_broadcast")
        if broadcast is not None and not isinstance(broadcast, bool) and broadcast not in ("true", "false"):
            return _not_ok("invalid_arguments")
        thread_ts = body.get("thread_ts")
        with self._lock:
            if thread_ts is not None:
                parents = {m["ts"] for m in channel.messages if "thread_ts" not in m}
                if not isinstance(thread_ts, str) or thread_ts not in parents:
                    return _not_ok("thread_not_found")
            ts = self._next_ts()
            message: dict[str, Any] = {"type": "message", "ts": ts, "text": text or "", "user": BOT_USER,
                                       "bot_id": "B0FAKEBOT1"}
            if blocks is not None:
                message["blocks"] = blocks
            if thread_ts is not None:
                message["thread_ts"] = thread_ts
                if broadcast in (True, "true"):
                    message["reply_broadcast"] = True
            channel.messages.append(message)
            self.api_calls.append(("chat.postMessage", body))
        return _json(200, {"ok": True, "channel": channel.id, "ts": ts, "message": message})

    def _open_dm(self, body: dict[str, Any]) -> Answer:
        users = body.get("users")
        if not isinstance(users, str) or not users.strip():
            return _not_ok("users_list_not_supplied")
        ids = [part.strip() for part in users.split(",") if part.strip()]
        if not ids:
            return _not_ok("users_list_not_supplied")
        if len(ids) > 1:  # a multi-person DM (mpim:write) is not modelled here: say so, do not pretend
            return _json(501, {"ok": False, "error": "fake_does_not_model_mpim"})
        user = self.users.get(ids[0])
        if user is None:
            return _not_ok("user_not_found")
        if user.deleted:
            return _not_ok("user_disabled")
        channel = self._dm(user.id)
        with self._lock:
            self.api_calls.append(("conversations.open", body))
        return _json(200, {"ok": True, "channel": {"id": channel.id}})

    def _create_channel(self, body: dict[str, Any]) -> Answer:
        name = body.get("name")
        error = channel_name_error(name)
        if error:
            return _not_ok(error)
        is_private = body.get("is_private", False)
        if is_private in ("true", "false"):
            is_private = is_private == "true"
        if not isinstance(is_private, bool):
            return _not_ok("invalid_arguments")
        with self._lock:
            if self.channel(name) is not None:
                return _not_ok("name_taken")
            channel = self.add_channel(name, is_private=is_private)
            channel.created_by_api = True
            self.api_calls.append(("conversations.create", body))
        return _json(200, {"ok": True, "channel": {
            "id": channel.id, "name": channel.name, "is_channel": True, "is_group": False, "is_im": False,
            "is_private": is_private, "is_archived": False, "is_general": False, "is_member": True,
            "created": int(time.time()), "creator": BOT_USER, "name_normalized": channel.name,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0}, "previous_names": []}})

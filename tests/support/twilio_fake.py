"""A contract fake of Twilio's Messages and Calls APIs: a real HTTP server on 127.0.0.1.

  with TwilioFake() as fake:                       # knows ACCOUNT_SID / AUTH_TOKEN / FROM_NUMBER
      notifier = TwilioNotifier(ACCOUNT_SID, url=fake.url, from_number=FROM_NUMBER, ...)
      ...
      fake.messages      # every accepted message: {"sid", "account_sid", "to", "from", "body"}, in order
      fake.calls         # every accepted call: {"sid", "account_sid", "to", "from", "twiml", "said"}, in order
      fake.received      # every request that reached the server, accepted or not

What it enforces (Twilio's Messages resource and its error codes; answers in Twilio's
shape {"code", "message", "more_info", "status"}):
- POST /2010-04-01/Accounts/{AccountSid}/Messages.json only (404 code 20404 elsewhere,
  405 for another method).
- HTTP Basic auth with the AccountSid of the path as user and its auth token as password
  (401 code 20003 otherwise).
- Parameters form-encoded: a body of another content type (JSON) carries no parameters
  for Twilio, so it fails like a request without To (400 code 21604), as Twilio does.
- To required (21604), From required (21603), Body required (21602); To and From in E.164,
  "+" and 8 to 15 digits (21211 / 21212); From one of the account's numbers (21606);
  Body at most 1600 characters (21617).
- 201 with the message resource ({"sid": "SM...", "status": "queued", ...}).

The Calls resource (POST /2010-04-01/Accounts/{AccountSid}/Calls.json, same auth and
form encoding):
- To required (21201), From required (21213), instructions required: one of Url, Twiml or
  ApplicationSid (21205); Url an absolute http(s) URL (21205); To and From in E.164 (21211 /
  21212); From one of the account's numbers (21210 "not verified"); Twiml at most 4000
  characters (32018) and a well-formed TwiML document whose root is <Response> (12100: Twilio
  reports this when the call runs; the fake refuses it at once, so a test sees it).
- 201 with the call resource ({"sid": "CA...", "status": "queued", ...}); the accepted call
  records the TwiML, the verbs it holds and the words its <Say> verbs would speak.

Failure switches: `fail_next(n, status=500 | 429 | ..., retry_after=None, body=None, to=None)`
(only requests to `to` when given), `down()` / `up()` (refuse connections).
"""
from __future__ import annotations

import base64
import json
import re
import sys
import threading
import uuid
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

from tests.support.postgres import free_port

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "tw1l10auth70ken0123456789abcdef0"
FROM_NUMBER = "+15005550006"
BODY_MAX = 1600

_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_PATH = re.compile(r"^/2010-04-01/Accounts/([^/]+)/(Messages|Calls)\.json$")
TWIML_MAX = 4000

Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Received:
    """One request as it reached the fake."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    status: int = 0

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body).encode()


def twilio_error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Answer:
    return _json(status, {"code": code, "message": message,
                          "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}, headers)


def validate_message(params: dict[str, list[str]], from_numbers: set[str]) -> Answer | None:
    """Twilio's first complaint about a create-message request's parameters, or None if valid."""
    to = (params.get("To") or [""])[0]
    sender = (params.get("From") or [""])[0]
    body = (params.get("Body") or [""])[0]
    if not to:
        return twilio_error(400, 21604, "A 'To' phone number is required.")
    if not sender:
        return twilio_error(400, 21603, "A 'From' phone number is required.")
    if not body:
        return twilio_error(400, 21602, "Message body is required.")
    if not _E164.match(to):
        return twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
    if not _E164.match(sender):
        return twilio_error(400, 21212, f"The 'From' number {sender} is not a valid phone number, shortcode, "
                                        "or alphanumeric sender ID.")
    if sender not in from_numbers:
        return twilio_error(400, 21606, f"The From phone number {sender} is not a valid, SMS-capable inbound phone "
                                        "number or short code for your account.")
    if len(body) > BODY_MAX:
        return twilio_error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
    return None


def validate_call(params: dict[str, list[str]], from_numbers: set[str]) -> Answer | None:
    """Twilio's first complaint about a create-call request's parameters, or None if valid."""
    to = (params.get("To") or [""])[0]
    sender = (params.get("From") or [""])[0]
    url = (params.get("Url") or [""])[0]
    twiml = (params.get("Twiml") or [""])[0]
    application = (params.get("ApplicationSid") or [""])[0]
    if not to:
        return twilio_error(400, 21201, "No 'To' number is specified")
    if not sender:
        return twilio_error(400, 21213, "No 'From' number is specified")
    if not (url or twiml or application):
        return twilio_error(400, 21205, "Either Url, Twiml or ApplicationSid is required.")
    if url and not re.match(r"^https?://[^\s/]+", url):
        return twilio_error(400, 21205, f"Url is not a valid URL: {url}")
    if not _E164.match(to):
        return twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to}")
    if not _E164.match(sender):
        return twilio_error(400, 21212, f"Invalid 'From' Phone Number: {sender}")
    if sender not in from_numbers:
        return twilio_error(400, 21210, f"The source phone number provided, {sender}, is not yet verified for your "
                                        "account. You may only make calls from phone numbers that you've verified "
                                        "or purchased from Twilio.")
    if twiml:
        if len(twiml) > TWIML_MAX:
            return twilio_error(400, 32018, "Twiml size exceeded maximum allowed value of 4000 characters")
        try:
            root = ElementTree.fromstring(twiml)
        except ElementTree.ParseError:
            return twilio_error(400, 12100, "Document parse failure: the Twiml is not well-formed XML.")
        if root.tag != "Response":
            return twilio_error(400, 12100, "Document parse failure: the root element must be <Response>.")
    return None


def twiml_verbs(twiml: str) -> list[str]:
    """The verbs (child elements of <Response>, and theirs) of a TwiML document, in order."""
    return [element.tag for element in ElementTree.fromstring(twiml).iter() if element.tag != "Response"]


def twiml_said(twiml: str) -> list[str]:
    """What each <Say> verb of a TwiML document speaks, as the words a listener hears."""
    return ["".join(element.itertext()) for element in ElementTree.fromstring(twiml).iter("Say")]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class TwilioFake:
    """The Messages API on a free loopback port; see the module docstring."""

    def __init__(self, accounts: dict[str, str] | None = None, from_numbers: tuple[str, ...] = (FROM_NUMBER,)) -> None:
        self.accounts = dict(accounts or {ACCOUNT_SID: AUTH_TOKEN})
        self.from_numbers = set(from_numbers)
        self.messages: list[dict[str, str]] = []
        self.calls: list[dict[str, Any]] = []
        self.received: list[Received] = []
        self._failures: list[tuple[str | None, Answer]] = []
        self._down = False
        self._lock = threading.Lock()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: ThreadingHTTPServer | None = None
        self._start()

    def messages_path(self, account_sid: str = ACCOUNT_SID) -> str:
        return f"/2010-04-01/Accounts/{account_sid}/Messages.json"

    def calls_path(self, account_sid: str = ACCOUNT_SID) -> str:
        return f"/2010-04-01/Accounts/{account_sid}/Calls.json"

    def called(self) -> list[str]:
        """The To numbers of the accepted calls, in order."""
        with self._lock:
            return [c["to"] for c in self.calls]

    def texted(self) -> list[str]:
        """The To numbers of the accepted messages, in order."""
        with self._lock:
            return [m["to"] for m in self.messages]

    # -- failure switches -------------------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 500, retry_after: float | str | None = None,
                  body: Any = None, to: str | None = None) -> None:
        """Answer the next `n` requests (to `to` only, if given) with `status`."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        if body is not None:
            answer = _json(status, body, headers)
        elif status == 429:
            answer = twilio_error(429, 20429, "Too Many Requests", headers)
        else:
            answer = twilio_error(status, 20500, "Internal Server Error", headers)
        with self._lock:
            self._failures.extend([(to, answer)] * n)

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
                if fake._down:
                    self.close_connection = True
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                received = Received(self.command, urlsplit(self.path).path,
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

            do_GET = do_POST = do_PUT = do_DELETE = _handle  # noqa: N815

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

    def __enter__(self) -> "TwilioFake":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- the contract -----------------------------------------------------------------------------

    def _authenticated(self, request: Received, account_sid: str) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return user == account_sid and self.accounts.get(user) == password

    def _answer(self, request: Received) -> Answer:
        match = _PATH.match(request.path)
        if match is None:
            return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        account_sid, resource = match.group(1), match.group(2)
        if not self._authenticated(request, account_sid):
            return _json(401, {"code": 20003, "message": "Authenticate",
                               "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401},
                         {"WWW-Authenticate": 'Basic realm="Twilio API"'})
        if request.method != "POST":
            return twilio_error(405, 20004, "Method not allowed", {"Allow": "GET, POST"})
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        params = request.form() if content_type == "application/x-www-form-urlencoded" else {}
        to = (params.get("To") or [""])[0]
        with self._lock:
            for index, (target, answer) in enumerate(self._failures):
                if target is None or target == to:
                    del self._failures[index]
                    return answer
        if resource == "Calls":
            return self._create_call(account_sid, params)
        problem = validate_message(params, self.from_numbers)
        if problem is not None:
            return problem
        sid = "SM" + uuid.uuid4().hex
        record = {"sid": sid, "account_sid": account_sid, "to": to, "from": params["From"][0],
                  "body": params["Body"][0]}
        with self._lock:
            self.messages.append(record)
        now = formatdate(usegmt=True)
        return _json(201, {**record, "status": "queued", "direction": "outbound-api", "api_version": "2010-04-01",
                           "num_segments": str(max(1, -(-len(record["body"]) // 153))), "price": None,
                           "error_code": None, "error_message": None, "date_created": now, "date_updated": now,
                           "date_sent": None, "messaging_service_sid": None,
                           "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json"})

    def _create_call(self, account_sid: str, params: dict[str, list[str]]) -> Answer:
        problem = validate_call(params, self.from_numbers)
        if problem is not None:
            return problem
        sid = "CA" + uuid.uuid4().hex
        twiml = (params.get("Twiml") or [""])[0]
        record: dict[str, Any] = {"sid": sid, "account_sid": account_sid, "to": params["To"][0],
                                  "from": params["From"][0], "twiml": twiml,
                                  "url": (params.get("Url") or [""])[0],
                                  "verbs": twiml_verbs(twiml) if twiml else [],
                                  "said": twiml_said(twiml) if twiml else []}
        with self._lock:
            self.calls.append(record)
        now = formatdate(usegmt=True)
        return _json(201, {"sid": sid, "account_sid": account_sid, "to": record["to"], "to_formatted": record["to"],
                           "from": record["from"], "from_formatted": record["from"], "status": "queued",
                           "direction": "outbound-api", "api_version": "2010-04-01", "answered_by": None,
                           "caller_name": None, "duration": None, "price": None, "price_unit": "USD",
                           "start_time": None, "end_time": None, "date_created": now, "date_updated": now,
                           "parent_call_sid": None, "phone_number_sid": None, "queue_time": "0",
                           "uri": f"/2010-04-01/Accounts/{account_sid}/Calls/{sid}.json"})

"""Contract fakes for the log sources: real HTTP servers on 127.0.0.1 that enforce what
the vendors enforce (auth scheme, content type, required fields), answer in their
shapes, record every request, and can be told to fail.

- SplunkFake: POST /services/search/jobs/export, `Authorization: Bearer <token>`
  (401 otherwise), a form-encoded body with `search` (beginning "search ") and
  `output_mode=json` (400 otherwise); answers newline-delimited JSON
  `{"preview": false, "offset": n, "result": {...}}` for the events whose index,
  service and `_time` (epoch seconds) match the search's index=, service=,
  earliest= (inclusive) and latest= (exclusive), and whose `_raw` holds every free quoted
  phrase of the search (backslash escapes honoured, as SPL does), cut at `| head N`.
- ElasticsearchFake: POST /<index>/_search, `Authorization: ApiKey <key>` (401
  otherwise), `Content-Type: application/json` (406 otherwise, as Elasticsearch does),
  a body with query.bool.filter holding one `term` and a `range` on @timestamp with
  gte/lte, an integer `size` <= 10000 and a `sort` (400 otherwise), optionally a
  `simple_query_string` filter (every word of its query must appear in a document's values,
  ignoring case); answers `{"hits": {"hits": [{"_source": ...}]}}` for the documents that match.

`fake.fail = "500" | "garbage" | "slow"` makes the next requests fail (slow waits
`fake.delay` seconds before answering).
"""
from __future__ import annotations

import fnmatch
import json
import re
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

from tests.support.postgres import free_port


class _FakeServer:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail: str | None = None
        self.delay = 3.0
        self._release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fake.requests.append({"method": "POST", "path": self.path, "headers": dict(self.headers),
                                      "body": body})
                if fake.fail == "slow":
                    fake._release.wait(fake.delay)
                if fake.fail == "500":
                    return self.reply(500, b'{"error": "internal"}', "application/json")
                if fake.fail == "garbage":
                    return self.reply(200, b"<html>proxy error</html>\n{{{not json", "application/json")
                status, payload, content_type = fake.handle(self.path, self.headers, body)
                self.reply(status, payload, content_type)

            def do_GET(self):  # noqa: N802
                fake.requests.append({"method": "GET", "path": self.path, "headers": dict(self.headers), "body": b""})
                self.reply(405, b'{"error": "method not allowed"}', "application/json")

            def reply(self, status: int, payload: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def handle(self, path: str, headers, body: bytes) -> tuple[int, bytes, str]:
        raise NotImplementedError

    def close(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=2)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _epoch(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value)
    try:
        return float(text)
    except ValueError:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.timestamp()


class SplunkFake(_FakeServer):
    EXPORT = "/services/search/jobs/export"

    def __init__(self, token: str = "splunk-test-token", events: list[dict] | None = None) -> None:
        self.token = token
        self.events: list[dict] = list(events or [])  # each: index (default main), service, _time, _raw ...
        super().__init__()

    @property
    def searches(self) -> list[str]:
        found = []
        for request in self.requests:
            form = parse_qs(request["body"].decode("utf-8", "replace"))
            found.extend(form.get("search", []))
        return found

    @staticmethod
    def _error(status: int, text: str) -> tuple[int, bytes, str]:
        return status, json.dumps({"messages": [{"type": "ERROR", "text": text}]}).encode(), "application/json"

    def handle(self, path, headers, body):
        if path.split("?")[0].rstrip("/") not in (self.EXPORT, "/servicesNS/-/-/search/jobs/export"):
            return self._error(404, "Not Found")
        if headers.get("Authorization") != f"Bearer {self.token}":
            return self._error(401, "call not properly authenticated")
        if not (headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
            return self._error(400, "expected a form-encoded body")
        try:
            form = parse_qs(body.decode("utf-8"), strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            return self._error(400, "unparseable form body")
        search = (form.get("search") or [""])[0]
        if form.get("output_mode") != ["json"]:
            return self._error(400, "this fake answers output_mode=json only")
        if not search.startswith("search "):
            return self._error(400, "Search must start with the search command")
        index = re.search(r"\bindex=(\S+)", search)
        service = re.search(r'\bservice=(?:"([^"\\]*)"|([^\s|"]+))', search)
        earliest = re.search(r"\bearliest=(\d+(?:\.\d+)?)", search)
        latest = re.search(r"\blatest=(\d+(?:\.\d+)?)", search)
        head = re.search(r"\|\s*head\s+(\d+)\s*$", search)
        if not (index and service and earliest and latest):
            return self._error(400, "this fake needs index=, service=, earliest= and latest= in the search")
        wanted = service.group(1) if service.group(1) is not None else service.group(2)
        low, high = float(earliest.group(1)), float(latest.group(1))
        phrases = [re.sub(r"\\(.)", r"\1", p) for p in re.findall(r'(?<![=\w])"((?:[^"\\]|\\.)*)"', search)]
        matches = [e for e in self.events
                   if fnmatch.fnmatchcase(str(e.get("index", "main")), index.group(1))
                   and str(e.get("service")) == wanted and low <= _epoch(e.get("_time")) < high
                   and all(p in str(e.get("_raw", "")) for p in phrases)]
        matches.sort(key=lambda e: _epoch(e.get("_time")))
        if head:
            matches = matches[:int(head.group(1))]
        lines = [json.dumps({"preview": False, "offset": n, "result": {k: str(v) for k, v in e.items()},
                             **({"lastrow": True} if n == len(matches) - 1 else {})})
                 for n, e in enumerate(matches)]
        return 200, ("\n".join(lines) + ("\n" if lines else "")).encode(), "application/json"


def _field(document: dict, dotted: str) -> Any:
    if dotted in document:
        return document[dotted]
    value: Any = document
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


class ElasticsearchFake(_FakeServer):
    def __init__(self, api_key: str = "es-test-key", documents: list[dict] | None = None) -> None:
        self.api_key = api_key
        # each: {"_index": "logs-app" (default), "@timestamp": ISO, "service": {"name": ...}, ...}
        self.documents: list[dict] = list(documents or [])
        super().__init__()

    @property
    def bodies(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests if r["body"]]

    @staticmethod
    def _error(status: int, kind: str, reason: str) -> tuple[int, bytes, str]:
        return (status, json.dumps({"error": {"root_cause": [{"type": kind, "reason": reason}], "type": kind,
                                              "reason": reason}, "status": status}).encode(), "application/json")

    def handle(self, path, headers, body):
        match = re.fullmatch(r"/([^/?]+)/_search(?:\?.*)?", path)
        if not match:
            return self._error(404, "illegal_argument_exception", "no handler found")
        auth = headers.get("Authorization") or ""
        if auth != f"ApiKey {self.api_key}":
            return self._error(401, "security_exception", "unable to authenticate with provided credentials")
        content_type = headers.get("Content-Type") or ""
        if not content_type.startswith("application/json"):
            return (406, json.dumps({"error": f"Content-Type header [{content_type}] is not supported",
                                     "status": 406}).encode(), "application/json")
        try:
            request = json.loads(body)
        except ValueError:
            return self._error(400, "parsing_exception", "request body is not JSON")
        problem = self._shape_problem(request)
        if problem:
            return self._error(400, "parsing_exception", problem)
        filters = request["query"]["bool"]["filter"]
        term = next(f["term"] for f in filters if "term" in f)
        (field, wanted), = term.items()
        if isinstance(wanted, dict):
            wanted = wanted.get("value")
        bounds = next(f["range"]["@timestamp"] for f in filters if "range" in f)
        low, high = _epoch(bounds["gte"]), _epoch(bounds["lte"])
        patterns = unquote(match.group(1)).split(",")
        texts = [f["simple_query_string"].get("query", "") for f in filters
                 if isinstance(f.get("simple_query_string"), dict)]
        words = [w.strip('"+-|()*~').lower() for text in texts for w in str(text).split()]
        hits = [d for d in self.documents
                if any(fnmatch.fnmatchcase(d.get("_index", "logs-app"), p) for p in patterns)
                and _field(d, field) == wanted and low <= _epoch(d.get("@timestamp")) <= high
                and all(w in json.dumps(d, ensure_ascii=False).lower() for w in words if w)]
        hits.sort(key=lambda d: _epoch(d.get("@timestamp")))
        total = len(hits)
        hits = hits[:request["size"]]
        answer = {"took": 1, "timed_out": False, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                  "hits": {"total": {"value": total, "relation": "eq"}, "max_score": None,
                           "hits": [{"_index": d.get("_index", "logs-app"), "_id": str(n), "_score": None,
                                     "_source": {k: v for k, v in d.items() if k != "_index"},
                                     "sort": [int(_epoch(d.get("@timestamp")) * 1000)]}
                                    for n, d in enumerate(hits)]}}
        return 200, json.dumps(answer).encode(), "application/json"

    @staticmethod
    def _shape_problem(request: Any) -> str | None:
        if not isinstance(request, dict):
            return "the body is not an object"
        filters = request.get("query", {}).get("bool", {}).get("filter") if isinstance(request.get("query"), dict) else None
        if not isinstance(filters, list):
            return "[query.bool.filter] must be a list"
        terms = [f["term"] for f in filters if isinstance(f, dict) and isinstance(f.get("term"), dict)]
        if len(terms) != 1 or len(terms[0]) != 1:
            return "[term] query needs exactly one field"
        ranges = [f["range"] for f in filters if isinstance(f, dict) and isinstance(f.get("range"), dict)]
        if len(ranges) != 1 or not isinstance(ranges[0].get("@timestamp"), dict):
            return "expected one [range] on @timestamp"
        bounds = ranges[0]["@timestamp"]
        for key in ("gte", "lte"):
            if not isinstance(bounds.get(key), str):
                return f"[range] on @timestamp needs {key} as a date string"
            try:
                _epoch(bounds[key])
            except ValueError:
                return f"failed to parse date field [{bounds[key]}]"
        size = request.get("size")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            return "[size] must be a non-negative integer"
        if size > 10000:
            return "Result window is too large, from + size must be less than or equal to: [10000]"
        if not isinstance(request.get("sort"), list):
            return "[sort] must be a list"
        return None

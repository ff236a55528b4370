"""Contract fakes for vendors that cannot run here: real HTTP servers on 127.0.0.1 that
enforce what each vendor documents (method, path, auth headers, content type, required
parameters), answer with realistic bodies, record every request, and can be told to fail.

  with DatadogFake(api_key="k", app_key="a") as fake:
      fake.set_series("avg:x{*}", [(ms, 1.0), (ms2, None)])
      fake.fail_with("rate_limit")   # or "server_error", "garbage", "malformed", None

The CloudWatch fake checks AWS Signature Version 4 itself, computed here independently of
integrations.cloudwatch, and answers 403 SignatureDoesNotMatch when it does not match.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit
from xml.sax.saxutils import escape

from tests.support.postgres import free_port

FAILURES = (None, "rate_limit", "server_error", "garbage", "malformed")


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: bytes
    raw_target: str = ""

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}


Answer = tuple[int, dict[str, str], bytes]


class ContractFake:
    """The server, the request log and the failure switch; vendors implement `answer`."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.failure: str | None = None
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                recorded = RecordedRequest(self.command, split.path,
                                           parse_qs(split.query, keep_blank_values=True),
                                           {k.lower(): v for k, v in self.headers.items()}, body, self.path)
                with fake._lock:
                    fake.requests.append(recorded)
                status, headers, payload = fake.answer(recorded)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle  # noqa: N815 (http.server's names)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()

    def fail_with(self, failure: str | None) -> None:
        """Answer every later request with this failure: rate_limit, server_error, garbage, malformed."""
        if failure not in FAILURES:
            raise ValueError(f"unknown failure {failure!r}; accepted: {FAILURES}")
        self.failure = failure

    def answer(self, request: RecordedRequest) -> Answer:  # pragma: no cover - overridden
        raise NotImplementedError

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body).encode()


_GARBAGE: Answer = (200, {"Content-Type": "text/html"}, b"<html><body>502 upstream connect error</body>")


# --- Datadog: GET /api/v1/query -------------------------------------------------------------------

class DatadogFake(ContractFake):
    """Datadog API v1 "Query timeseries points".

    Enforces: GET only; DD-API-KEY and DD-APPLICATION-KEY both present and right (403
    {"errors": ["Forbidden"]} otherwise); from, to and query required, from/to integer
    seconds with from < to (400 {"errors": [...]}); points are served only inside [from, to].
    """

    def __init__(self, api_key: str, app_key: str) -> None:
        self.api_key, self.app_key = api_key, app_key
        self.series: dict[str, list[list[tuple[int, float | None]]]] = {}
        self.invalid_queries: dict[str, str] = {}
        super().__init__()

    def set_series(self, query: str, *pointlists: list[tuple[int, float | None]]) -> None:
        """What `query` answers: one pointlist of (epoch ms, value or None) per series."""
        self.series[query] = [list(points) for points in pointlists]

    def answer(self, request: RecordedRequest) -> Answer:
        if request.path != "/api/v1/query":
            return _json(404, {"errors": ["Not found"]})
        if request.method != "GET":
            return _json(405, {"errors": ["Method Not Allowed"]})
        if self.failure == "rate_limit":
            return _json(429, {"errors": ["Rate limit of 100 requests in 3600 seconds reached. Please try again later."]},
                         {"X-RateLimit-Limit": "100", "X-RateLimit-Period": "3600", "X-RateLimit-Remaining": "0",
                          "X-RateLimit-Reset": "42", "X-RateLimit-Name": "metrics_query"})
        if self.failure == "server_error":
            return _json(500, {"errors": ["Internal Server Error"]})
        if self.failure == "garbage":
            return _GARBAGE
        api_key = request.headers.get("dd-api-key")
        app_key = request.headers.get("dd-application-key")
        if not _same(api_key, self.api_key) or not _same(app_key, self.app_key):
            return _json(403, {"errors": ["Forbidden"]})
        params = {k: v[-1] for k, v in request.query.items()}
        for name in ("from", "to", "query"):
            if not params.get(name):
                return _json(400, {"errors": [f"Missing required parameter: {name}"]})
        try:
            start, end = int(params["from"]), int(params["to"])
        except ValueError:
            return _json(400, {"errors": ["Invalid 'from' or 'to': integer seconds since the epoch expected"]})
        if start >= end:
            return _json(400, {"errors": ["'from' must be earlier than 'to'"]})
        query = params["query"]
        if query in self.invalid_queries:
            return _json(400, {"errors": [self.invalid_queries[query]]})
        if self.failure == "malformed":
            return _json(200, {"status": "ok", "series": [{"pointlist": "not a list of points"}]})
        series = []
        for index, points in enumerate(self.series.get(query, [])):
            inside = [[float(ms), value] for ms, value in points if start * 1000 <= ms <= end * 1000]
            if not inside:
                continue
            series.append({
                "metric": query.split("{")[0].split(":")[-1], "display_name": query, "expression": query,
                "scope": "*", "tag_set": [], "aggr": query.split(":")[0] if ":" in query else None,
                "pointlist": inside, "start": int(inside[0][0]), "end": int(inside[-1][0]), "interval": 20,
                "length": len(inside), "unit": None, "query_index": 0, "attributes": {},
            })
        body = {"status": "ok", "res_type": "time_series", "resp_version": 1, "query": query,
                "from_date": start * 1000, "to_date": end * 1000, "series": series, "values": [],
                "times": [], "message": "", "group_by": []}
        return _json(200, body)


# --- New Relic: POST /graphql (NerdGraph) ----------------------------------------------------------

_NRQL_LITERAL = re.compile(r'nrql\(\s*query:\s*"((?:[^"\\]|\\.)*)"')
_ACCOUNT_LITERAL = re.compile(r"account\(\s*id:\s*(\d+)\s*\)")


class NewRelicFake(ContractFake):
    """NerdGraph answering `actor { account(id) { nrql(query) { results } } }`.

    Enforces: POST /graphql with Content-Type application/json; API-Key header right
    (401 with error_code BAD_API_KEY otherwise); a JSON body with a `query` document that
    selects `results`; the NRQL and account id either as declared variables ($nrql: Nrql!,
    $accountId: Int!) or as literals; the account must be the key's (GraphQL error otherwise).
    GraphQL errors come back as 200 with an `errors` array and a null field, as NerdGraph does.
    """

    def __init__(self, api_key: str, account_id: int) -> None:
        self.api_key, self.account_id = api_key, account_id
        self.results: dict[str, list[dict]] = {}
        self.nrql_errors: dict[str, str] = {}
        super().__init__()

    def answer(self, request: RecordedRequest) -> Answer:
        if request.path != "/graphql":
            return _json(404, {"errors": [{"message": "Not Found"}]})
        if request.method != "POST":
            return _json(405, {"errors": [{"message": "Method Not Allowed"}]})
        if self.failure == "rate_limit":
            return _json(429, {"errors": [{"message": "Too many requests", "extensions": {"errorClass": "TOO_MANY_REQUESTS"}}]})
        if self.failure == "server_error":
            return _json(500, {"errors": [{"message": "Internal Server Error"}]})
        if self.failure == "garbage":
            return _GARBAGE
        if not _same(request.headers.get("api-key"), self.api_key):
            return _json(401, {"errors": [{"extensions": {"error_code": "BAD_API_KEY"},
                                           "message": "Bad API Key or no API Key provided"}]})
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            return _json(415, {"errors": [{"message": "Content-Type must be application/json"}]})
        try:
            payload = request.json()
            document = payload["query"]
            variables = payload.get("variables") or {}
            if not isinstance(document, str) or not isinstance(variables, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return _json(400, {"errors": [{"message": "Body must be JSON with a string `query`"}]})
        try:
            nrql = self._argument(document, variables, "nrql", "Nrql!", str, _NRQL_LITERAL, json.loads)
            account = self._argument(document, variables, "accountId", "Int!", int, _ACCOUNT_LITERAL, int)
        except ValueError as exc:
            return _json(200, {"errors": [{"message": str(exc), "extensions": {"errorClass": "INVALID_INPUT"}}]})
        if not re.search(r"\bresults\b", document):
            return _json(200, {"errors": [{"message": "Selection on nrql must include results"}]})
        if account != self.account_id:
            return _json(200, {"data": {"actor": {"account": None}},
                               "errors": [{"message": "Not authorized to access account", "path": ["actor", "account"],
                                           "extensions": {"errorClass": "FORBIDDEN"}}]})
        if nrql in self.nrql_errors:
            return _json(200, {"data": {"actor": {"account": {"nrql": None}}},
                               "errors": [{"message": self.nrql_errors[nrql], "path": ["actor", "account", "nrql"],
                                           "extensions": {"errorClass": "INVALID_INPUT"}}]})
        if self.failure == "malformed":
            return _json(200, {"data": {"actor": {"account": {"nrql": {"results": "not a list"}}}}})
        return _json(200, {"data": {"actor": {"account": {"nrql": {"results": self.results.get(nrql, [])}}}}})

    @staticmethod
    def _argument(document: str, variables: dict, name: str, graphql_type: str, python_type: type,
                  literal: re.Pattern, decode) -> Any:
        if f"${name}" in document:
            if not re.search(rf"\${name}\s*:\s*{re.escape(graphql_type)}", document):
                raise ValueError(f"Variable ${name} must be declared as {graphql_type}")
            value = variables.get(name)
            if not isinstance(value, python_type) or isinstance(value, bool):
                raise ValueError(f"Variable ${name} of type {graphql_type} was provided invalid value")
            return value
        match = literal.search(document)
        if not match:
            raise ValueError(f"Field argument for {name} is required")
        return decode(f'"{match.group(1)}"' if python_type is str else match.group(1))


# --- AWS CloudWatch: GetMetricData over the Query protocol -----------------------------------------

_AUTH = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request,\s*"
                   r"SignedHeaders=([a-z0-9;\-]+),\s*Signature=([0-9a-f]{64})$")
_QUERY_ID = re.compile(r"^[a-z][a-zA-Z0-9_]*$")
_NS = "http://monitoring.amazonaws.com/doc/2010-08-01/"


class CloudWatchFake(ContractFake):
    """CloudWatch's Query API (POST form, XML answers) for Action=GetMetricData.

    Enforces: POST with Content-Type application/x-www-form-urlencoded; SigV4 in the
    Authorization header, recomputed here: unknown key -> 403 InvalidClientTokenId, wrong
    signature, region or service -> 403 SignatureDoesNotMatch, X-Amz-Date more than 5 minutes
    off -> 403 (signature expired), host and x-amz-date must be signed; a configured session
    token must arrive signed in X-Amz-Security-Token; Action, Version=2010-08-01, StartTime <
    EndTime and at least one MetricDataQueries member with a valid Id and a complete MetricStat
    (400 MissingParameter / InvalidParameterValue / ValidationError otherwise). Throttling is
    CloudWatch's 400 <Code>Throttling</Code>.
    """

    def __init__(self, access_key: str, secret_key: str, region: str = "eu-west-1",
                 session_token: str | None = None) -> None:
        self.access_key, self.secret_key, self.region = access_key, secret_key, region
        self.session_token = session_token
        self.data: dict[tuple[str, str], list[tuple[datetime, float]]] = {}
        self.xml_entities = False
        super().__init__()

    def set_datapoints(self, namespace: str, metric_name: str, points: list[tuple[datetime, float]]) -> None:
        self.data[(namespace, metric_name)] = [(_aware(at), value) for at, value in points]

    def answer(self, request: RecordedRequest) -> Answer:
        if request.method != "POST":
            return _aws_error(405, "Sender", "InvalidAction", "Only POST is accepted by this fake")
        if self.failure == "rate_limit":
            return _aws_error(400, "Sender", "Throttling", "Rate exceeded")
        if self.failure == "server_error":
            return _aws_error(500, "Receiver", "InternalFailure", "The request processing has failed because of an unknown error.")
        if self.failure == "garbage":
            return _GARBAGE
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
            return _aws_error(400, "Sender", "InvalidParameterValue", "Content-Type must be application/x-www-form-urlencoded")
        problem = self._check_signature(request)
        if problem:
            return problem
        form = request.form()
        if form.get("Action") != "GetMetricData":
            return _aws_error(400, "Sender", "InvalidAction", f"Could not find operation {form.get('Action')} for version {form.get('Version')}")
        if form.get("Version") != "2010-08-01":
            return _aws_error(400, "Sender", "NoSuchVersion", f"Version {form.get('Version')} is invalid")
        for name in ("StartTime", "EndTime"):
            if name not in form:
                return _aws_error(400, "Sender", "MissingParameter", f"The parameter {name} is required.")
        try:
            start, end = _parse_iso(form["StartTime"]), _parse_iso(form["EndTime"])
        except ValueError:
            return _aws_error(400, "Sender", "InvalidParameterValue", "StartTime and EndTime must be ISO 8601 timestamps.")
        if start >= end:
            return _aws_error(400, "Sender", "InvalidParameterValue",
                              "The parameter StartTime must be less than the parameter EndTime.")
        try:
            queries = _metric_queries(form)
        except ValueError as exc:
            return _aws_error(400, "Sender", "ValidationError", str(exc))
        if self.xml_entities:
            return 200, {"Content-Type": "text/xml"}, (
                b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
                b"<GetMetricDataResponse>&b;</GetMetricDataResponse>")
        if self.failure == "malformed":
            return 200, {"Content-Type": "text/xml"}, (
                f'<GetMetricDataResponse xmlns="{_NS}"><GetMetricDataResult><Messages/></GetMetricDataResult>'
                f"</GetMetricDataResponse>").encode()
        descending = form.get("ScanBy", "TimestampDescending") == "TimestampDescending"
        members = []
        for query in queries:
            points = [(at, v) for at, v in self.data.get((query["Namespace"], query["MetricName"]), [])
                      if start <= at < end]
            points.sort(key=lambda point: point[0], reverse=descending)
            stamps = "".join(f"<member>{at.strftime('%Y-%m-%dT%H:%M:%SZ')}</member>" for at, _ in points)
            values = "".join(f"<member>{value!r}</member>" for _, value in points)
            members.append(f"<member><Timestamps>{stamps}</Timestamps><Values>{values}</Values>"
                           f"<Id>{escape(query['Id'])}</Id><Label>{escape(query.get('Label', query['MetricName']))}</Label>"
                           f"<StatusCode>Complete</StatusCode></member>")
        body = (f'<GetMetricDataResponse xmlns="{_NS}"><GetMetricDataResult><MetricDataResults>'
                f'{"".join(members)}</MetricDataResults><Messages/></GetMetricDataResult>'
                f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
                f"</GetMetricDataResponse>")
        return 200, {"Content-Type": "text/xml", "x-amzn-RequestId": str(uuid.uuid4())}, body.encode()

    def _check_signature(self, request: RecordedRequest) -> Answer | None:
        authorization = request.headers.get("authorization")
        if not authorization:
            return _aws_error(403, "Sender", "MissingAuthenticationToken", "Request is missing Authentication Token")
        match = _AUTH.match(authorization.strip())
        if not match:
            return _aws_error(400, "Sender", "IncompleteSignature", "Authorization header requires Credential, "
                              "SignedHeaders and Signature")
        access_key, day, region, service, signed_headers, signature = match.groups()
        if access_key != self.access_key:
            return _aws_error(403, "Sender", "InvalidClientTokenId",
                              "The security token included in the request is invalid.")
        names = signed_headers.split(";")
        if "host" not in names or "x-amz-date" not in names or names != sorted(names):
            return _aws_error(400, "Sender", "IncompleteSignature", "host and x-amz-date must be signed, in order")
        if any(name not in request.headers for name in names):
            return _aws_error(400, "Sender", "IncompleteSignature", "A signed header is missing from the request")
        if region != self.region:
            return _aws_error(403, "Sender", "SignatureDoesNotMatch",
                              f"Credential should be scoped to a valid region, not '{region}'.")
        if service != "monitoring":
            return _aws_error(403, "Sender", "SignatureDoesNotMatch",
                              f"Credential should be scoped to correct service: 'monitoring'.")
        amz_date = request.headers["x-amz-date"]
        try:
            moment = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            return _aws_error(400, "Sender", "IncompleteSignature", "X-Amz-Date must be YYYYMMDDTHHMMSSZ")
        if day != amz_date[:8]:
            return _aws_error(403, "Sender", "SignatureDoesNotMatch", "Credential date does not match X-Amz-Date")
        if abs(datetime.now(timezone.utc) - moment) > timedelta(minutes=5):
            return _aws_error(403, "Sender", "SignatureDoesNotMatch", f"Signature expired: {amz_date} is out of range")
        if self.session_token is not None and (
                "x-amz-security-token" not in names
                or not _same(request.headers.get("x-amz-security-token"), self.session_token)):
            return _aws_error(403, "Sender", "InvalidClientTokenId",
                              "The security token included in the request is invalid.")
        expected = _signature(request, names, self.secret_key, day, region, service, amz_date)
        if not hmac.compare_digest(expected, signature):
            return _aws_error(403, "Sender", "SignatureDoesNotMatch",
                              "The request signature we calculated does not match the signature you provided. "
                              "Check your AWS Secret Access Key and signing method.")
        return None


def _signature(request: RecordedRequest, names: list[str], secret: str, day: str, region: str, service: str,
               amz_date: str) -> str:
    """SigV4 from the request as received (an implementation separate from the client's)."""
    raw_path, _, raw_query = request.raw_target.partition("?")
    path = quote(unquote(raw_path) or "/", safe="/-_.~")
    pairs = sorted((quote(unquote(k), safe="-_.~"), quote(unquote(v), safe="-_.~"))
                   for k, _, v in (item.partition("=") for item in raw_query.split("&") if item))
    canonical = "\n".join([
        request.method, path, "&".join(f"{k}={v}" for k, v in pairs),
        "".join(f"{n}:{' '.join(request.headers[n].strip().split())}\n" for n in names),
        ";".join(names), hashlib.sha256(request.body).hexdigest()])
    scope = f"{day}/{region}/{service}/aws4_request"
    string_to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = b"AWS4" + secret.encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.digest(key, part.encode(), "sha256")
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def _metric_queries(form: dict[str, str]) -> list[dict[str, Any]]:
    indexes = sorted({int(m.group(1)) for key in form if (m := re.match(r"MetricDataQueries\.member\.(\d+)\.", key))})
    if not indexes:
        raise ValueError("1 validation error detected: Value null at 'metricDataQueries' failed to satisfy "
                         "constraint: Member must not be null")
    queries, seen = [], set()
    for index in indexes:
        prefix = f"MetricDataQueries.member.{index}."
        query_id = form.get(prefix + "Id", "")
        if not _QUERY_ID.match(query_id):
            raise ValueError(f"The value {query_id!r} for parameter MetricDataQueries.member.{index}.Id is invalid: "
                             "it must start with a lowercase letter and hold only letters, digits and underscores.")
        if query_id in seen:
            raise ValueError(f"The value {query_id!r} for Id is not unique.")
        seen.add(query_id)
        stat = prefix + "MetricStat."
        required = {"Namespace": stat + "Metric.Namespace", "MetricName": stat + "Metric.MetricName",
                    "Period": stat + "Period", "Stat": stat + "Stat"}
        missing = [name for name, key in required.items() if not form.get(key)]
        if missing:
            raise ValueError(f"The parameter MetricDataQueries.member.{index}.MetricStat.{missing[0]} is required.")
        period = form[required["Period"]]
        if not period.isdigit() or int(period) <= 0 or (int(period) not in (1, 5, 10, 20, 30) and int(period) % 60):
            raise ValueError(f"The parameter MetricDataQueries.member.{index}.MetricStat.Period must be a multiple of 60.")
        dimensions = {}
        number = 1
        while f"{stat}Metric.Dimensions.member.{number}.Name" in form:
            dimensions[form[f"{stat}Metric.Dimensions.member.{number}.Name"]] = form.get(
                f"{stat}Metric.Dimensions.member.{number}.Value", "")
            number += 1
        queries.append({"Id": query_id, "Label": form.get(prefix + "Label") or None,
                        "Namespace": form[required["Namespace"]], "MetricName": form[required["MetricName"]],
                        "Period": int(period), "Stat": form[required["Stat"]], "Dimensions": dimensions})
    for query in queries:
        if query["Label"] is None:
            query.pop("Label")
    return queries


def _aws_error(status: int, kind: str, code: str, message: str) -> Answer:
    body = (f'<ErrorResponse xmlns="{_NS}"><Error><Type>{kind}</Type><Code>{code}</Code>'
            f"<Message>{escape(message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>")
    return status, {"Content-Type": "text/xml"}, body.encode()


def _parse_iso(text: str) -> datetime:
    return _aware(datetime.fromisoformat(text.replace("Z", "+00:00")))


def _aware(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())

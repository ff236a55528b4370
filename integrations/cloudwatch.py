"""AWS CloudWatch GetMetricData as a metric source.

  [sources.cloudwatch]
  region = "eu-west-1"
  # url = "https://monitoring.eu-west-1.amazonaws.com"   # the default, from region
  access_key_id_env = "AWS_ACCESS_KEY_ID"         # names of environment variables, never the keys
  secret_access_key_env = "AWS_SECRET_ACCESS_KEY"
  session_token_env = "AWS_SESSION_TOKEN"         # used when that variable is set
  window = 600                                    # seconds of history asked for
  interval = 60                                   # seconds between polls
  timeout = 10                                    # seconds a request may take
  use_boto3 = false                               # true: boto3's client and credential chain
  [sources.cloudwatch.queries.response_time]
  namespace = "AWS/ApplicationELB"
  metric_name = "TargetResponseTime"              # seconds already
  dimensions = { LoadBalancer = "app/web/50dc6c495c0c9188" }
  stat = "Average"
  period = 60

By default the request is made here, over httpx: the AWS Query protocol (form-encoded
POST, XML answer) signed with Signature Version 4, so nothing beyond the core
dependencies is needed. `use_boto3 = true` goes through boto3 instead (the optional
extra `incident-response[aws]`), for credentials only boto3 can find (SSO, instance
profiles). Metrics must already be in the rules' canonical units; each metric takes its
newest non-null datapoint in the window.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable
from urllib.parse import quote, unquote, urlencode, urlsplit
from xml.etree import ElementTree

import httpx

from integrations.errors import SourceUnavailable
from integrations.http import checked_config, env_secret, redact
from integrations.secrets import secret_from_env
from playbooks.clock import utc_now
from playbooks.samples import Sample

SERVICE = "monitoring"
API_VERSION = "2010-08-01"
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_STATISTICS = {"Average", "Sum", "Minimum", "Maximum", "SampleCount", "IQM"}
_EXTENDED_STAT = re.compile(r"^(p|tm|tc|ts|wm|TM|TC|TS|WM|PR)\(?[\d.:%]*\)?$")
_CREDENTIAL_CODES = {"SignatureDoesNotMatch", "InvalidClientTokenId", "UnrecognizedClientException",
                     "AccessDenied", "AccessDeniedException", "ExpiredToken", "IncompleteSignature",
                     "MissingAuthenticationToken", "InvalidSignatureException", "AuthFailure"}
_THROTTLE_CODES = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
_MAX_PAGES = 5


@dataclass(frozen=True)
class CloudWatchMetric:
    """One metric to read: what GetMetricData calls a MetricStat."""

    namespace: str
    metric_name: str
    stat: str = "Average"
    period: int = 60
    dimensions: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problem = _metric_problem(self)
        if problem:
            raise ValueError(problem)


@dataclass(frozen=True)
class CloudWatchSource:
    region: str
    queries: dict[str, CloudWatchMetric]
    url: str | None = None
    access_key_id_env: str = "AWS_ACCESS_KEY_ID"
    secret_access_key_env: str = "AWS_SECRET_ACCESS_KEY"
    session_token_env: str = "AWS_SESSION_TOKEN"
    window: float = 600.0
    timeout: float = 10.0
    use_boto3: bool = False

    @property
    def endpoint(self) -> str:
        return (self.url or f"https://monitoring.{self.region}.amazonaws.com").rstrip("/")

    @classmethod
    def from_config(cls, table: dict[str, Any]) -> "CloudWatchSource":
        """Build from a [sources.cloudwatch] table; `interval` belongs to the poller and is ignored.

        Raises ValueError, one sentence naming the key and what is accepted.
        """
        where = "sources.cloudwatch"
        values = checked_config(where, table, cls, url_key="url")
        region = values.get("region")
        if not isinstance(region, str) or not _REGION.match(region):
            raise ValueError(f"{where}.region is {region!r}; accepted: an AWS region such as 'eu-west-1'")
        if not isinstance(values.get("use_boto3", False), bool):
            raise ValueError(f"{where}.use_boto3 is {values['use_boto3']!r}; accepted: true or false")
        metrics = {}
        for name, spec in values["queries"].items():
            if not isinstance(spec, dict):
                raise ValueError(f"{where}.queries.{name} must be a table with namespace, metric_name, "
                                 f"stat, period and dimensions")
            unknown = sorted(set(spec) - {"namespace", "metric_name", "stat", "period", "dimensions"})
            if unknown:
                raise ValueError(f"{where}.queries.{name}.{unknown[0]} is not known; accepted: "
                                 f"namespace, metric_name, stat, period, dimensions")
            try:
                metrics[name] = CloudWatchMetric(**{**spec, "dimensions": dict(spec.get("dimensions", {}))})
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{where}.queries.{name}: {exc}") from None
        values["queries"] = metrics
        return cls(**values)

    def sample(self, client: httpx.Client | None = None, clock: Callable[[], datetime] = utc_now) -> list[Sample]:
        """One GetMetricData call for every configured metric; one sample per metric with a datapoint."""
        if not self.queries:
            return []
        now = clock()
        start, end = now - timedelta(seconds=self.window), now
        if self.use_boto3:
            latest = self._latest_with_boto3(start, end)
        else:
            latest = self._latest_over_http(client, start, end)
        return [Sample("cloudwatch", metric, now, latest[metric]) for metric in self.queries if metric in latest]

    # --- the built-in client: Query protocol over httpx, signed here -----------------------------

    def _latest_over_http(self, client: httpx.Client | None, start: datetime, end: datetime) -> dict[str, float]:
        access_key = env_secret(self.access_key_id_env, "CloudWatch")
        secret_key = env_secret(self.secret_access_key_env, "CloudWatch")
        token = secret_from_env(self.session_token_env).strip() or None
        secrets = tuple(s for s in (access_key, secret_key, token) if s)
        ids = {f"m{index}": metric for index, metric in enumerate(self.queries, start=1)}
        own = client is None
        client = client or httpx.Client(timeout=self.timeout)
        try:
            points: dict[str, list[tuple[datetime, float]]] = {}
            next_token = None
            for _ in range(_MAX_PAGES):
                form = self.request_form(start, end, next_token)
                body = urlencode(form).encode()
                request = client.build_request(
                    "POST", self.endpoint + "/", content=body, timeout=self.timeout,
                    headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                             "Accept": "text/xml"})
                request.headers.update(sign_v4(request.method, str(request.url), request.headers, body,
                                               access_key=access_key, secret_key=secret_key, region=self.region,
                                               service=SERVICE, now=datetime.now(timezone.utc),
                                               session_token=token))
                response = self._send(client, request)
                page, next_token = self._parse(response, secrets)
                for query_id, values in page.items():
                    if query_id in ids:
                        points.setdefault(ids[query_id], []).extend(values)
                if not next_token:
                    break
            return {metric: value for metric, series in points.items()
                    if (value := latest_value(series)) is not None}
        finally:
            if own:
                client.close()

    def request_form(self, start: datetime, end: datetime, next_token: str | None = None) -> dict[str, str]:
        """The GetMetricData parameters in the Query protocol's flattened form."""
        form = {"Action": "GetMetricData", "Version": API_VERSION, "StartTime": _iso(start), "EndTime": _iso(end),
                "ScanBy": "TimestampDescending"}
        for index, (metric, spec) in enumerate(self.queries.items(), start=1):
            prefix = f"MetricDataQueries.member.{index}"
            form[f"{prefix}.Id"] = f"m{index}"
            form[f"{prefix}.Label"] = metric
            form[f"{prefix}.ReturnData"] = "true"
            form[f"{prefix}.MetricStat.Metric.Namespace"] = spec.namespace
            form[f"{prefix}.MetricStat.Metric.MetricName"] = spec.metric_name
            for number, (name, value) in enumerate(sorted(spec.dimensions.items()), start=1):
                form[f"{prefix}.MetricStat.Metric.Dimensions.member.{number}.Name"] = name
                form[f"{prefix}.MetricStat.Metric.Dimensions.member.{number}.Value"] = value
            form[f"{prefix}.MetricStat.Period"] = str(spec.period)
            form[f"{prefix}.MetricStat.Stat"] = spec.stat
        if next_token:
            form["NextToken"] = next_token
        return form

    def _send(self, client: httpx.Client, request: httpx.Request) -> httpx.Response:
        try:
            return client.send(request)
        except httpx.TimeoutException:
            raise SourceUnavailable(f"CloudWatch at {self.endpoint} did not answer within {self.timeout:g}s") from None
        except httpx.HTTPError as exc:
            raise SourceUnavailable(f"CloudWatch at {self.endpoint} is unreachable ({type(exc).__name__})") from None

    def _parse(self, response: httpx.Response, secrets: tuple[str, ...]
               ) -> tuple[dict[str, list[tuple[datetime, float]]], str | None]:
        status = response.status_code
        root = _safe_xml(response.content)
        if status != 200:
            code, message = _error_of(root)
            if status == 429 or code in _THROTTLE_CODES:
                raise SourceUnavailable("CloudWatch rate limit reached for GetMetricData (throttled)")
            if status in (401, 403) or code in _CREDENTIAL_CODES:
                raise SourceUnavailable(f"CloudWatch rejected the credentials ({code or status}); check "
                                        f"{self.access_key_id_env} and {self.secret_access_key_env}")
            if status >= 500:
                raise SourceUnavailable(f"CloudWatch at {self.endpoint} answered {status}"
                                        + (f" ({code})" if code else ""))
            reason = redact(f"{code}: {message}" if code else f"status {status}", secrets)
            raise SourceUnavailable(f"CloudWatch rejected GetMetricData ({reason})")
        if root is None or _local(root.tag) != "GetMetricDataResponse":
            raise SourceUnavailable(f"CloudWatch at {self.endpoint} answered without a GetMetricDataResponse")
        result = _child(root, "GetMetricDataResult")
        results = _child(result, "MetricDataResults") if result is not None else None
        if results is None:
            raise SourceUnavailable(f"CloudWatch at {self.endpoint} answered without MetricDataResults")
        page: dict[str, list[tuple[datetime, float]]] = {}
        try:
            for member in _children(results, "member"):
                query_id = _text(member, "Id")
                status_code = _text(member, "StatusCode")
                if status_code in ("InternalError", "Forbidden"):
                    raise SourceUnavailable(f"CloudWatch could not read metric {query_id!r} ({status_code})")
                stamps = [_parse_time(e.text or "") for e in _children(_child(member, "Timestamps"), "member")]
                values = [float(e.text or "") for e in _children(_child(member, "Values"), "member")]
                if len(stamps) != len(values):
                    raise ValueError("timestamps and values differ in length")
                page.setdefault(query_id or "", []).extend(zip(stamps, values))
        except ValueError:
            raise SourceUnavailable(f"CloudWatch at {self.endpoint} answered malformed datapoints") from None
        next_token = _text(result, "NextToken")
        return page, next_token or None

    # --- the optional boto3 client ---------------------------------------------------------------

    def _latest_with_boto3(self, start: datetime, end: datetime) -> dict[str, float]:
        try:
            import boto3  # optional extra: incident-response[aws]
            from botocore.config import Config
            from botocore.exceptions import BotoCoreError, ClientError
        except ImportError:
            raise SourceUnavailable("CloudWatch with use_boto3 needs boto3: install incident-response[aws] "
                                    "(pip install boto3), or set use_boto3 = false") from None
        ids = {f"m{index}": metric for index, metric in enumerate(self.queries, start=1)}
        queries = []
        for query_id, metric in ids.items():
            spec = self.queries[metric]
            queries.append({"Id": query_id, "Label": metric, "ReturnData": True, "MetricStat": {
                "Metric": {"Namespace": spec.namespace, "MetricName": spec.metric_name,
                           "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(spec.dimensions.items())]},
                "Period": spec.period, "Stat": spec.stat}})
        try:
            client = boto3.client("cloudwatch", region_name=self.region, endpoint_url=self.url or None,
                                  config=Config(connect_timeout=self.timeout, read_timeout=self.timeout,
                                                retries={"max_attempts": 1}))
            points: dict[str, list[tuple[datetime, float]]] = {}
            kwargs: dict[str, Any] = {"MetricDataQueries": queries, "ScanBy": "TimestampDescending",
                                      "StartTime": start.replace(tzinfo=timezone.utc),
                                      "EndTime": end.replace(tzinfo=timezone.utc)}
            for _ in range(_MAX_PAGES):
                answer = client.get_metric_data(**kwargs)
                for result in answer.get("MetricDataResults", []):
                    if result.get("StatusCode") in ("InternalError", "Forbidden"):
                        raise SourceUnavailable(f"CloudWatch could not read metric {result.get('Label')!r} "
                                                f"({result['StatusCode']})")
                    if result.get("Id") in ids:
                        points.setdefault(ids[result["Id"]], []).extend(
                            zip(result.get("Timestamps", []), (float(v) for v in result.get("Values", []))))
                if not answer.get("NextToken"):
                    break
                kwargs["NextToken"] = answer["NextToken"]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            if code in _THROTTLE_CODES:
                raise SourceUnavailable("CloudWatch rate limit reached for GetMetricData (throttled)") from None
            raise SourceUnavailable(f"CloudWatch rejected GetMetricData ({code})") from None
        except BotoCoreError as exc:
            raise SourceUnavailable(f"CloudWatch via boto3 failed ({type(exc).__name__})") from None
        return {metric: value for metric, series in points.items() if (value := latest_value(series)) is not None}


# --- Signature Version 4 -----------------------------------------------------------------------------

def sign_v4(method: str, url: str, headers: Any, body: bytes, *, access_key: str, secret_key: str, region: str,
            service: str, now: datetime, session_token: str | None = None) -> dict[str, str]:
    """The headers that sign this request (AWS Signature Version 4, header form).

    `headers` must already hold Host and Content-Type as they will be sent; returns
    X-Amz-Date, Authorization and (with a session token) X-Amz-Security-Token.
    """
    moment = now.astimezone(timezone.utc) if now.tzinfo else now.replace(tzinfo=timezone.utc)
    amz_date = moment.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    added = {"X-Amz-Date": amz_date}
    if session_token:
        added["X-Amz-Security-Token"] = session_token
    to_sign = {str(k).lower(): str(v) for k, v in dict(headers).items()}
    to_sign.update({k.lower(): v for k, v in added.items()})
    if "host" not in to_sign:
        to_sign["host"] = urlsplit(url).netloc
    names = sorted(n for n in to_sign if n in ("host", "content-type") or n.startswith("x-amz-"))
    signed_headers = ";".join(names)
    canonical = canonical_request(method, url, {n: to_sign[n] for n in names}, signed_headers, body)
    scope = f"{day}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                                hashlib.sha256(canonical.encode()).hexdigest()])
    key = signing_key(secret_key, day, region, service)
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    added["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
                              f"SignedHeaders={signed_headers}, Signature={signature}")
    return added


def canonical_request(method: str, url: str, headers: dict[str, str], signed_headers: str, body: bytes) -> str:
    parts = urlsplit(url)
    path = quote(unquote(parts.path or "/"), safe="/-_.~")
    pairs = []
    for item in parts.query.split("&") if parts.query else []:
        name, _, value = item.partition("=")
        pairs.append((_aws_quote(unquote(name.replace("+", " "))), _aws_quote(unquote(value.replace("+", " ")))))
    query = "&".join(f"{k}={v}" for k, v in sorted(pairs))
    header_lines = "".join(f"{name}:{' '.join(headers[name].split())}\n" for name in signed_headers.split(";"))
    return "\n".join([method.upper(), path, query, header_lines, signed_headers, hashlib.sha256(body).hexdigest()])


def signing_key(secret_key: str, day: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret_key).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _aws_quote(text: str) -> str:
    return quote(text, safe="-_.~")


# --- helpers -----------------------------------------------------------------------------------------

def latest_value(points: Iterable[tuple[datetime, float]]) -> float | None:
    best: tuple[datetime, float] | None = None
    for at, value in points:
        if value is None or not math.isfinite(value):
            continue
        at = at.astimezone(timezone.utc) if at.tzinfo else at.replace(tzinfo=timezone.utc)
        if best is None or at > best[0]:
            best = (at, value)
    return None if best is None else best[1]


def _metric_problem(metric: CloudWatchMetric) -> str | None:
    if not isinstance(metric.namespace, str) or not 1 <= len(metric.namespace) <= 255:
        return f"namespace is {metric.namespace!r}; accepted: a CloudWatch namespace such as 'AWS/ApplicationELB'"
    if not isinstance(metric.metric_name, str) or not 1 <= len(metric.metric_name) <= 255:
        return f"metric_name is {metric.metric_name!r}; accepted: a CloudWatch metric name"
    if not isinstance(metric.stat, str) or not (metric.stat in _STATISTICS or _EXTENDED_STAT.match(metric.stat)):
        return (f"stat is {metric.stat!r}; accepted: Average, Sum, Minimum, Maximum, SampleCount "
                f"or a percentile such as p99")
    period = metric.period
    if isinstance(period, bool) or not isinstance(period, int) or period <= 0 or (
            period not in (1, 5, 10, 20, 30) and period % 60):
        return f"period is {period!r}; accepted: 1, 5, 10, 20, 30 or a multiple of 60 seconds"
    if not isinstance(metric.dimensions, dict) or len(metric.dimensions) > 30 or not all(
            isinstance(k, str) and isinstance(v, str) and k and v for k, v in metric.dimensions.items()):
        return "dimensions must be a table of up to 30 name = \"value\" strings"
    return None


def _safe_xml(content: bytes) -> ElementTree.Element | None:
    """Parse an AWS XML answer; no DTDs or entities (defused); None when it is not XML at all."""
    lowered = content.lower()
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        raise SourceUnavailable("CloudWatch answered XML with a DTD or entities, which is refused")
    try:
        return ElementTree.fromstring(content)
    except ElementTree.ParseError:
        return None


def _error_of(root: ElementTree.Element | None) -> tuple[str, str]:
    if root is None:
        return "", ""
    for element in root.iter():
        if _local(element.tag) == "Error":
            return _text(element, "Code") or "", _text(element, "Message") or ""
    return "", ""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: ElementTree.Element | None, name: str) -> ElementTree.Element | None:
    if element is None:
        return None
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _children(element: ElementTree.Element | None, name: str) -> list[ElementTree.Element]:
    return [] if element is None else [child for child in element if _local(child.tag) == name]


def _text(element: ElementTree.Element | None, name: str) -> str | None:
    child = _child(element, name)
    return None if child is None or child.text is None else child.text.strip()


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))


def _iso(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

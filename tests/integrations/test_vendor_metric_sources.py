"""Datadog, New Relic and CloudWatch metric sources against their contract fakes
(tests/support/fakes.py): real HTTP on 127.0.0.1, the vendors' auth and shapes enforced."""
from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from integrations.cloudwatch import CloudWatchMetric, CloudWatchSource, sign_v4
from integrations.datadog import DatadogSource
from integrations.errors import SourceUnavailable
from integrations.newrelic import NewRelicSource, _value_of
from playbooks.samples import Sample
from tests.support.fakes import CloudWatchFake, DatadogFake, NewRelicFake
from tests.support.postgres import free_port

DD_API, DD_APP = "dd-api-0123456789abcdef", "dd-app-fedcba9876543210"
NR_KEY, NR_ACCOUNT = "NRAK-TESTKEY0123456789ABCDEFGH", 1234567
AWS_ID, AWS_SECRET, AWS_REGION = "AKIDTESTEXAMPLE12345", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYTESTSECRET", "eu-west-1"


def _ms(moment: datetime) -> int:
    return int(moment.replace(tzinfo=timezone.utc).timestamp() * 1000)


def _unavailable(source, clock, *secrets: str) -> str:
    with pytest.raises(SourceUnavailable) as caught:
        source.sample(clock=clock)
    message = str(caught.value)
    for secret in secrets:
        assert secret not in message
    assert "\n" not in message
    return message


def _dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


# --- Datadog ------------------------------------------------------------------------------------

ERRORS_Q = "sum:trace.http.request.errors{service:api}.as_rate() / sum:trace.http.request.hits{service:api}.as_rate() * 100"
LATENCY_Q = "avg:trace.http.request.duration{service:api}"


@pytest.fixture
def datadog(monkeypatch):
    monkeypatch.setenv("DD_API_KEY", DD_API)
    monkeypatch.setenv("DD_APP_KEY", DD_APP)
    with DatadogFake(DD_API, DD_APP) as fake:
        yield fake


def _dd(fake, **overrides) -> DatadogSource:
    settings = dict(queries={"error_rate": ERRORS_Q, "response_time": LATENCY_Q}, url=fake.url, timeout=2.0)
    return DatadogSource(**{**settings, **overrides})


def test_datadog_latest_non_null_point_per_metric(datadog, clock):
    now = clock()
    datadog.set_series(ERRORS_Q, [(_ms(now - timedelta(seconds=60)), 3.5), (_ms(now - timedelta(seconds=20)), 12.25),
                                  (_ms(now), None)])
    datadog.set_series(LATENCY_Q, [(_ms(now - timedelta(seconds=40)), 0.2)],
                       [(_ms(now - timedelta(seconds=40)), 0.1), (_ms(now - timedelta(hours=2)), 99.0)])

    samples = _dd(datadog).sample(clock=clock)

    assert samples == [Sample("datadog", "error_rate", now, 12.25),
                       Sample("datadog", "response_time", now, pytest.approx(0.3))]


def test_datadog_requests_carry_keys_query_and_window(datadog, clock):
    _dd(datadog, window=600).sample(clock=clock)

    first = datadog.requests[0]
    assert first.method == "GET" and first.path == "/api/v1/query"
    assert first.headers["dd-api-key"] == DD_API and first.headers["dd-application-key"] == DD_APP
    assert first.query["query"] == [ERRORS_Q]
    to = int(clock().replace(tzinfo=timezone.utc).timestamp())
    assert first.query["to"] == [str(to)] and first.query["from"] == [str(to - 600)]
    assert [r.query["query"][0] for r in datadog.requests] == [ERRORS_Q, LATENCY_Q]


def test_datadog_metric_without_points_is_left_out(datadog, clock):
    datadog.set_series(LATENCY_Q, [(_ms(clock()), None)])
    assert _dd(datadog).sample(clock=clock) == []


def test_datadog_wrong_key_is_unavailable_without_the_secret(datadog, clock, monkeypatch):
    monkeypatch.setenv("DD_APP_KEY", "wrong-app-key-42")
    message = _unavailable(_dd(datadog), clock, DD_API, DD_APP, "wrong-app-key-42")
    assert "rejected" in message and "DD_APP_KEY" in message


@pytest.mark.parametrize("failure, words", [("rate_limit", "rate limit"), ("server_error", "500"),
                                            ("garbage", "without JSON"), ("malformed", "malformed")])
def test_datadog_failures(datadog, clock, failure, words):
    datadog.fail_with(failure)
    assert words in _unavailable(_dd(datadog), clock, DD_API, DD_APP)


def test_datadog_rejected_query_names_the_reason(datadog, clock):
    datadog.invalid_queries[LATENCY_Q] = "Error parsing query: unexpected token"
    message = _unavailable(_dd(datadog), clock, DD_API, DD_APP)
    assert "Error parsing query" in message and "400" in message


@pytest.mark.parametrize("variable", ["DD_API_KEY", "DD_APP_KEY"])
def test_datadog_missing_variable_is_named_and_nothing_is_sent(datadog, clock, monkeypatch, variable):
    monkeypatch.delenv(variable)
    assert variable in _unavailable(_dd(datadog), clock)
    assert datadog.requests == []


def test_datadog_unreachable(clock, monkeypatch):
    monkeypatch.setenv("DD_API_KEY", DD_API)
    monkeypatch.setenv("DD_APP_KEY", DD_APP)
    assert "unreachable" in _unavailable(DatadogSource({"x": LATENCY_Q}, url=_dead_url(), timeout=1), clock)


def test_datadog_fake_enforces_its_contract(datadog):
    """The fake is only worth something if it refuses what Datadog refuses."""
    keys = {"DD-API-KEY": DD_API, "DD-APPLICATION-KEY": DD_APP}
    url = f"{datadog.url}/api/v1/query"
    assert httpx.get(url, params={"from": 1, "to": 2, "query": "q"}, headers={"DD-API-KEY": DD_API}).status_code == 403
    assert httpx.get(url, params={"from": 1, "query": "q"}, headers=keys).status_code == 400
    assert httpx.get(url, params={"from": 5, "to": 2, "query": "q"}, headers=keys).status_code == 400
    assert httpx.post(url, headers=keys).status_code == 405


def test_datadog_from_config():
    source = DatadogSource.from_config({"url": "https://api.datadoghq.eu", "interval": 30, "timeout": 5,
                                        "queries": {"error_rate": ERRORS_Q}})
    assert source.url == "https://api.datadoghq.eu" and source.timeout == 5.0 and source.api_key_env == "DD_API_KEY"
    with pytest.raises(ValueError, match="api_key"):
        DatadogSource.from_config({"api_key": "secret", "queries": {"a": "b"}})
    with pytest.raises(ValueError, match="queries"):
        DatadogSource.from_config({"queries": {}})


# --- New Relic ----------------------------------------------------------------------------------

NR_ERRORS = "SELECT percentage(count(*), WHERE error IS true) FROM Transaction WHERE appName = 'api' SINCE 5 minutes ago"
NR_LATENCY = "SELECT average(duration) FROM Transaction WHERE appName = 'api' SINCE 5 minutes ago"


@pytest.fixture
def newrelic(monkeypatch):
    monkeypatch.setenv("NEW_RELIC_API_KEY", NR_KEY)
    with NewRelicFake(NR_KEY, NR_ACCOUNT) as fake:
        yield fake


def _nr(fake, **overrides) -> NewRelicSource:
    settings = dict(account_id=NR_ACCOUNT, queries={"error_rate": NR_ERRORS, "response_time": NR_LATENCY},
                    url=fake.url, timeout=2.0)
    return NewRelicSource(**{**settings, **overrides})


def test_newrelic_first_number_of_first_result(newrelic, clock):
    newrelic.results[NR_ERRORS] = [{"percentage": 7.5}]
    newrelic.results[NR_LATENCY] = [{"average.duration": 0.42}, {"average.duration": 9.0}]

    assert _nr(newrelic).sample(clock=clock) == [Sample("newrelic", "error_rate", clock(), 7.5),
                                                 Sample("newrelic", "response_time", clock(), 0.42)]


def test_newrelic_request_carries_key_and_nrql_as_a_variable(newrelic, clock):
    tricky = 'SELECT count(*) FROM Log WHERE message = "a\\"b" } } } mutation { x } # \n SINCE 1 hour ago'
    newrelic.results[tricky] = [{"count": 3}]

    assert [s.value for s in _nr(newrelic, queries={"logins": tricky}).sample(clock=clock)] == [3.0]

    request = newrelic.requests[0]
    assert request.method == "POST" and request.path == "/graphql"
    assert request.headers["api-key"] == NR_KEY
    assert request.headers["content-type"].startswith("application/json")
    body = request.json()
    assert body["variables"] == {"accountId": NR_ACCOUNT, "nrql": tricky}
    assert "SELECT" not in body["query"] and "mutation" not in body["query"]


def test_newrelic_graphql_errors_are_unavailable_and_redacted(newrelic, clock):
    newrelic.nrql_errors[NR_LATENCY] = f"NRQL Syntax error: unknown function (key {NR_KEY})"
    message = _unavailable(_nr(newrelic), clock, NR_KEY)
    assert "NRQL Syntax error" in message and "***" in message


def test_newrelic_wrong_account_is_unavailable(newrelic, clock):
    assert "Not authorized" in _unavailable(_nr(newrelic, account_id=42), clock, NR_KEY)


def test_newrelic_wrong_key_is_unavailable_without_the_secret(newrelic, clock, monkeypatch):
    monkeypatch.setenv("NEW_RELIC_API_KEY", "NRAK-WRONGWRONGWRONG")
    message = _unavailable(_nr(newrelic), clock, NR_KEY, "NRAK-WRONGWRONGWRONG")
    assert "401" in message and "NEW_RELIC_API_KEY" in message


@pytest.mark.parametrize("failure, words", [("rate_limit", "rate limit"), ("server_error", "500"),
                                            ("garbage", "without JSON"), ("malformed", "malformed")])
def test_newrelic_failures(newrelic, clock, failure, words):
    newrelic.fail_with(failure)
    assert words in _unavailable(_nr(newrelic), clock, NR_KEY)


def test_newrelic_missing_variable_is_named(newrelic, clock, monkeypatch):
    monkeypatch.delenv("NEW_RELIC_API_KEY")
    assert "NEW_RELIC_API_KEY" in _unavailable(_nr(newrelic), clock)
    assert newrelic.requests == []


def test_newrelic_unreachable(clock, monkeypatch):
    monkeypatch.setenv("NEW_RELIC_API_KEY", NR_KEY)
    assert "unreachable" in _unavailable(NewRelicSource(1, {"x": NR_LATENCY}, url=_dead_url(), timeout=1), clock)


def test_newrelic_result_shapes():
    assert _value_of([]) is None
    assert _value_of([{"facet": "api", "count": 4}]) == 4.0
    assert _value_of([{"percentile.duration": {"95": 1.25}}]) == 1.25
    assert _value_of([{"latest.x": None, "flag": True, "y": 2}]) == 2.0
    timeseries = [{"beginTimeSeconds": 100, "endTimeSeconds": 160, "count": 1},
                  {"beginTimeSeconds": 220, "endTimeSeconds": 280, "count": None},
                  {"beginTimeSeconds": 160, "endTimeSeconds": 220, "count": 5}]
    assert _value_of(timeseries) == 5.0


def test_newrelic_fake_enforces_its_contract(newrelic):
    url = f"{newrelic.url}/graphql"
    ok_body = {"query": "query($accountId: Int!, $nrql: Nrql!) { actor { account(id: $accountId) "
                        "{ nrql(query: $nrql) { results } } } }", "variables": {"accountId": NR_ACCOUNT, "nrql": "x"}}
    assert httpx.post(url, json=ok_body).status_code == 401
    assert httpx.post(url, content=b"{}", headers={"API-Key": NR_KEY, "Content-Type": "text/plain"}).status_code == 415
    assert httpx.post(url, json=ok_body, headers={"API-Key": NR_KEY}).json()["data"]["actor"]["account"]["nrql"] == {
        "results": []}
    untyped = {**ok_body, "variables": {"accountId": str(NR_ACCOUNT), "nrql": "x"}}
    assert "errors" in httpx.post(url, json=untyped, headers={"API-Key": NR_KEY}).json()


def test_newrelic_from_config():
    source = NewRelicSource.from_config({"account_id": 7, "queries": {"error_rate": NR_ERRORS}, "interval": 60})
    assert source.account_id == 7 and source.url == "https://api.newrelic.com"
    with pytest.raises(ValueError, match="account_id"):
        NewRelicSource.from_config({"account_id": "7", "queries": {"error_rate": NR_ERRORS}})


# --- CloudWatch ---------------------------------------------------------------------------------

@pytest.fixture
def cloudwatch(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AWS_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    with CloudWatchFake(AWS_ID, AWS_SECRET, AWS_REGION) as fake:
        yield fake


LATENCY = CloudWatchMetric("AWS/ApplicationELB", "TargetResponseTime", stat="Average", period=60,
                           dimensions={"LoadBalancer": "app/web/50dc6c495c0c9188"})
ERRORS = CloudWatchMetric("IncidentResponse/API", "ErrorRatePercent", stat="Maximum", period=300)


def _cw(fake, **overrides) -> CloudWatchSource:
    settings = dict(region=AWS_REGION, queries={"response_time": LATENCY, "error_rate": ERRORS}, url=fake.url,
                    timeout=2.0)
    return CloudWatchSource(**{**settings, **overrides})


def test_cloudwatch_latest_datapoint_per_metric(cloudwatch, clock):
    now = clock()
    cloudwatch.set_datapoints("AWS/ApplicationELB", "TargetResponseTime",
                              [(now - timedelta(minutes=3), 0.9), (now - timedelta(minutes=1), 0.35),
                               (now - timedelta(hours=3), 50.0)])
    cloudwatch.set_datapoints("IncidentResponse/API", "ErrorRatePercent", [(now - timedelta(minutes=5), 61.0)])

    assert _cw(cloudwatch).sample(clock=clock) == [Sample("cloudwatch", "response_time", now, 0.35),
                                                   Sample("cloudwatch", "error_rate", now, 61.0)]


def test_cloudwatch_request_is_signed_and_carries_the_queries(cloudwatch, clock):
    _cw(cloudwatch, window=900).sample(clock=clock)

    [request] = cloudwatch.requests
    assert request.method == "POST"
    assert request.headers["content-type"].startswith("application/x-www-form-urlencoded")
    authorization = request.headers["authorization"]
    assert authorization.startswith(f"AWS4-HMAC-SHA256 Credential={AWS_ID}/")
    assert f"/{AWS_REGION}/monitoring/aws4_request" in authorization and AWS_SECRET not in authorization
    form = request.form()
    assert form["Action"] == "GetMetricData" and form["Version"] == "2010-08-01"
    assert form["StartTime"] == "2024-01-18T14:15:00Z" and form["EndTime"] == "2024-01-18T14:30:00Z"
    assert form["MetricDataQueries.member.1.MetricStat.Metric.Namespace"] == "AWS/ApplicationELB"
    assert form["MetricDataQueries.member.1.MetricStat.Metric.MetricName"] == "TargetResponseTime"
    assert form["MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Name"] == "LoadBalancer"
    assert form["MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Value"] == "app/web/50dc6c495c0c9188"
    assert form["MetricDataQueries.member.2.MetricStat.Stat"] == "Maximum"
    assert form["MetricDataQueries.member.2.MetricStat.Period"] == "300"


def test_cloudwatch_session_token_is_sent_and_signed(cloudwatch, clock, monkeypatch):
    cloudwatch.session_token = "FwoGZXIvYXdzEXAMPLETOKEN"
    assert "credentials" in _unavailable(_cw(cloudwatch), clock, AWS_SECRET, AWS_ID)  # token required, not sent
    monkeypatch.setenv("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEXAMPLETOKEN")
    assert _cw(cloudwatch).sample(clock=clock) == []
    assert "x-amz-security-token" in cloudwatch.requests[-1].headers["authorization"]


def test_cloudwatch_wrong_secret_fails_the_signature(cloudwatch, clock, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret-at-all")
    message = _unavailable(_cw(cloudwatch), clock, AWS_SECRET, "not-the-secret-at-all", AWS_ID)
    assert "SignatureDoesNotMatch" in message and "AWS_SECRET_ACCESS_KEY" in message


def test_cloudwatch_unknown_key_id_and_wrong_region(cloudwatch, clock, monkeypatch):
    assert "SignatureDoesNotMatch" in _unavailable(_cw(cloudwatch, region="us-east-1"), clock, AWS_SECRET)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDSOMEONEELSE00000")
    assert "InvalidClientTokenId" in _unavailable(_cw(cloudwatch), clock, AWS_SECRET, "AKIDSOMEONEELSE00000")


@pytest.mark.parametrize("failure, words", [("rate_limit", "rate limit"), ("server_error", "500"),
                                            ("garbage", "without a GetMetricDataResponse"),
                                            ("malformed", "without MetricDataResults")])
def test_cloudwatch_failures(cloudwatch, clock, failure, words):
    cloudwatch.fail_with(failure)
    assert words in _unavailable(_cw(cloudwatch), clock, AWS_SECRET, AWS_ID)


def test_cloudwatch_refuses_xml_entities(cloudwatch, clock):
    cloudwatch.xml_entities = True
    assert "DTD" in _unavailable(_cw(cloudwatch), clock, AWS_SECRET)


@pytest.mark.parametrize("variable", ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
def test_cloudwatch_missing_variable_is_named(cloudwatch, clock, monkeypatch, variable):
    monkeypatch.delenv(variable)
    assert variable in _unavailable(_cw(cloudwatch), clock)
    assert cloudwatch.requests == []


def test_cloudwatch_unreachable(clock, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AWS_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    source = CloudWatchSource(AWS_REGION, {"x": ERRORS}, url=_dead_url(), timeout=1)
    assert "unreachable" in _unavailable(source, clock, AWS_SECRET)


def test_cloudwatch_boto3_path_needs_the_extra(clock, monkeypatch):
    monkeypatch.setitem(sys.modules, "boto3", None)  # import boto3 -> ImportError, as when not installed
    message = _unavailable(CloudWatchSource(AWS_REGION, {"x": ERRORS}, use_boto3=True), clock)
    assert "incident-response[aws]" in message and "boto3" in message


def test_sigv4_matches_the_aws_documented_example():
    """AWS's worked example (IAM ListUsers, 2015-08-30): an outside check on the signer."""
    headers = sign_v4("GET", "https://iam.amazonaws.com/?Version=2010-05-08&Action=ListUsers",
                      {"Host": "iam.amazonaws.com", "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                      b"", access_key="AKIDEXAMPLE", secret_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                      region="us-east-1", service="iam", now=datetime(2015, 8, 30, 12, 36, tzinfo=timezone.utc))
    assert headers["X-Amz-Date"] == "20150830T123600Z"
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, "
        "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7")


def test_cloudwatch_fake_enforces_its_contract(cloudwatch):
    form = {"Action": "GetMetricData", "Version": "2010-08-01"}
    assert b"MissingAuthenticationToken" in httpx.post(cloudwatch.url + "/", data=form).content
    signed = sign_v4("POST", cloudwatch.url + "/", {"Host": f"127.0.0.1:{cloudwatch.port}",
                                                    "Content-Type": "application/x-www-form-urlencoded"},
                     b"Action=GetMetricData&Version=2010-08-01", access_key=AWS_ID, secret_key=AWS_SECRET,
                     region=AWS_REGION, service="monitoring", now=datetime.now(timezone.utc))
    tampered = httpx.post(cloudwatch.url + "/", content=b"Action=GetMetricData&Version=2010-08-02",
                          headers={"Content-Type": "application/x-www-form-urlencoded", **signed})
    assert tampered.status_code == 403 and b"SignatureDoesNotMatch" in tampered.content
    honest = httpx.post(cloudwatch.url + "/", content=b"Action=GetMetricData&Version=2010-08-01",
                        headers={"Content-Type": "application/x-www-form-urlencoded", **signed})
    assert honest.status_code == 400 and b"MissingParameter" in honest.content  # signed fine, StartTime missing
    stale = sign_v4("POST", cloudwatch.url + "/", {"Host": f"127.0.0.1:{cloudwatch.port}",
                                                   "Content-Type": "application/x-www-form-urlencoded"},
                    b"", access_key=AWS_ID, secret_key=AWS_SECRET, region=AWS_REGION, service="monitoring",
                    now=datetime.now(timezone.utc) - timedelta(minutes=20))
    assert b"Signature expired" in httpx.post(cloudwatch.url + "/", content=b"", headers={
        "Content-Type": "application/x-www-form-urlencoded", **stale}).content


def test_cloudwatch_from_config():
    source = CloudWatchSource.from_config({
        "region": "eu-west-1", "interval": 60, "window": 900,
        "queries": {"response_time": {"namespace": "AWS/ApplicationELB", "metric_name": "TargetResponseTime",
                                      "stat": "p99", "period": 60, "dimensions": {"LoadBalancer": "app/web/1"}}}})
    assert source.endpoint == "https://monitoring.eu-west-1.amazonaws.com" and source.window == 900.0
    assert source.queries["response_time"].stat == "p99"
    with pytest.raises(ValueError, match="period"):
        CloudWatchSource.from_config({"region": "eu-west-1", "queries": {
            "x": {"namespace": "N", "metric_name": "M", "period": 45}}})
    with pytest.raises(ValueError, match="region"):
        CloudWatchSource.from_config({"region": "Europe", "queries": {"x": {"namespace": "N", "metric_name": "M"}}})

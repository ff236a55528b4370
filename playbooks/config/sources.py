"""[sources.*] and [logs.*]: the metric sources polled for the rules, and the log sources an
incident's evidence is collected from. Each table matches its source class in integrations/
(a test holds their keys and defaults equal)."""
from __future__ import annotations

from pydantic import Field, field_validator

from playbooks.config.table import HTTP_URL, Seconds, Table, seconds_field


# --- [sources.*]: metric sources -------------------------------------------------------------
class HostSource(Table):
    """This host's CPU, memory, load, disk and network errors from /proc: on with no configuration."""

    enabled: bool = Field(True, description="false: do not sample this host")
    interval: Seconds = seconds_field(5, 1, 3600, "time between samples")


class PrometheusSource(Table):
    """A Prometheus server's instant queries, one metric each (in the rules' units: percent, ms)."""

    url: str = Field(pattern=HTTP_URL, description="the server's base URL", examples=['http://127.0.0.1:9090'])
    queries: dict[str, str] = Field(min_length=1, description=(
        "metric name = PromQL query, in the rules' units"), examples=[{'error_rate': 'sum(rate(http_errors_total[5m])) / sum(rate(http_requests_total[5m])) * 100'}])
    interval: Seconds = seconds_field(15, 0.2, 3600, "time between polls")
    timeout: Seconds = seconds_field(5, 0.1, 60, "how long one query may take")


class HealthCheck(Table):
    """One URL to GET, and the status it must answer."""

    name: str = Field(pattern=r"^[a-z0-9_-]+$", description="lowercase letters, digits, '_' or '-'; the metric name", examples=['api'])
    url: str = Field(pattern=HTTP_URL, description="the URL to GET", examples=['https://api.example.com/healthz'])
    expect_status: int = Field(200, ge=100, le=599, description="the HTTP status that means healthy")
    timeout: Seconds = seconds_field(5, 0, 60, "how long the check may take")


class HealthSource(Table):
    """HTTP health checks, each reported as up (1) or down (0) with its latency."""

    interval: Seconds = seconds_field(30, 1, 3600, "time between rounds of checks")
    checks: list[HealthCheck] = Field(default_factory=list, description="[[sources.health.checks]] entries")

    @field_validator("checks")
    @classmethod
    def _names_unique(cls, checks: list[HealthCheck]) -> list[HealthCheck]:
        names = [check.name for check in checks]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"the check name {repeated[0]!r} is used twice; accepted: a name of its own per check")
        return checks


class DatadogSource(Table):
    """Datadog metric queries (v1 query API)."""

    queries: dict[str, str] = Field(min_length=1, description="metric name = Datadog query", examples=[{'error_rate': 'sum:trace.http.request.errors{service:api}.as_rate()'}])
    url: str = Field("https://api.datadoghq.com", pattern=HTTP_URL, description="the site's API URL")
    api_key_env: str = Field("DD_API_KEY", description="variable holding the API key")
    app_key_env: str = Field("DD_APP_KEY", description="variable holding the application key")
    window: Seconds = seconds_field(300, 0, 86400, "history asked for")
    timeout: Seconds = seconds_field(10, 0, 86400, "how long one request may take")
    interval: Seconds = seconds_field(60, 1, 3600, "time between polls")


class NewRelicSource(Table):
    """New Relic NRQL queries (NerdGraph)."""

    account_id: int = Field(gt=0, description="your numeric account id", examples=[1234567])
    queries: dict[str, str] = Field(min_length=1, description="metric name = NRQL", examples=[{'response_time': 'SELECT average(duration) * 1000 FROM Transaction SINCE 5 minutes ago'}])
    url: str = Field("https://api.newrelic.com", pattern=HTTP_URL, description="the NerdGraph base URL")
    api_key_env: str = Field("NEW_RELIC_API_KEY", description="variable holding the user API key")
    timeout: Seconds = seconds_field(10, 0, 86400, "how long one request may take")
    interval: Seconds = seconds_field(60, 1, 3600, "time between polls")


class CloudWatchMetric(Table):
    """One CloudWatch metric: [sources.cloudwatch.queries.NAME]."""

    namespace: str = Field(min_length=1, description="the metric's namespace", examples=['AWS/ApplicationELB'])
    metric_name: str = Field(min_length=1, description="the metric's name", examples=['TargetResponseTime'])
    stat: str = Field("Average", description="Average, Sum, Minimum, Maximum, SampleCount or an extended statistic")
    period: int = Field(60, gt=0, description="seconds per datapoint")
    dimensions: dict[str, str] = Field(default_factory=dict, description="the metric's dimensions", examples=[{'LoadBalancer': 'app/web/50dc6c495c0c9188'}])


class CloudWatchSource(Table):
    """AWS CloudWatch GetMetricData, signed here with SigV4 (or through boto3)."""

    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d+$", description="the AWS region", examples=['eu-west-1'])
    queries: dict[str, CloudWatchMetric] = Field(default_factory=dict, description="metric name = its table",
                                                 examples=[{"response_time": {}}])
    url: str | None = Field(None, pattern=HTTP_URL, description="default: the region's monitoring endpoint")
    access_key_id_env: str = Field("AWS_ACCESS_KEY_ID", description="variable holding the access key id")
    secret_access_key_env: str = Field("AWS_SECRET_ACCESS_KEY", description="variable holding the secret key")
    session_token_env: str = Field("AWS_SESSION_TOKEN", description="variable holding a session token, if any")
    window: Seconds = seconds_field(600, 0, 86400, "history asked for")
    timeout: Seconds = seconds_field(10, 0, 86400, "how long one request may take")
    use_boto3: bool = Field(False, description="true: boto3's client and credential chain (pip extra `aws`)")
    interval: Seconds = seconds_field(60, 1, 3600, "time between polls")

    def required_secrets(self) -> list[str]:
        # boto3 finds credentials its own way; a session token is only for temporary keys.
        return [] if self.use_boto3 else ["access_key_id_env", "secret_access_key_env"]


class SourcesTable(Table):
    """Metric sources polled by the command center or `watch`; their samples feed the rules."""

    host: HostSource = Field(default_factory=HostSource, description="[sources.host]")
    prometheus: PrometheusSource | None = Field(None, description="[sources.prometheus]")
    health: HealthSource | None = Field(None, description="[sources.health]")
    datadog: DatadogSource | None = Field(None, description="[sources.datadog]")
    newrelic: NewRelicSource | None = Field(None, description="[sources.newrelic]")
    cloudwatch: CloudWatchSource | None = Field(None, description="[sources.cloudwatch]")

    def configured(self) -> list[str]:
        """Names of the sources that will be polled, in the table's order."""
        names = ["host"] if self.host.enabled else []
        for name in type(self).model_fields:
            table = getattr(self, name)
            if name != "host" and table is not None and not (name == "health" and not table.checks):
                names.append(name)
        return names


# --- [logs.*]: log sources for evidence bundles ----------------------------------------------
class SplunkLogs(Table):
    """Splunk search (REST, export endpoint) for log collection."""

    url: str = Field(pattern=HTTP_URL, description="the management (REST) URL", examples=['https://splunk.example.com:8089'])
    token_env: str = Field("SPLUNK_TOKEN", description="variable holding the bearer token")
    index: str = Field("main", min_length=1, description="the index searched")
    timeout: Seconds = seconds_field(30, 0, 600, "how long a search may take")


class ElasticsearchLogs(Table):
    """Elasticsearch search for log collection."""

    url: str = Field(pattern=HTTP_URL, description="the cluster URL", examples=['https://es.example.com:9200'])
    index: str = Field("logs-*", min_length=1, description="the index pattern searched")
    api_key_env: str = Field("ES_API_KEY", description="variable holding the API key")
    service_field: str = Field("service.name", min_length=1, description="the field naming the service")
    timeout: Seconds = seconds_field(30, 0, 600, "how long a search may take")


class LogsTable(Table):
    """Where the war room's `l` and the rules' begin_log_collection() fetch an incident's logs."""

    splunk: SplunkLogs | None = Field(None, description="[logs.splunk]")
    elasticsearch: ElasticsearchLogs | None = Field(None, description="[logs.elasticsearch]")

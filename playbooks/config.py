"""The configuration model: every table and key of config.toml, documented here and nowhere
else. The file is read once at the door (the CLI's Context, the command center's start) and
the checked `Configuration` is passed down; no layer below reads the file itself.

Each class is one table. Its docstring says what the table is for, each field's
`description` what the key does; docs/configuration.md and the commented file that
`incident-response init` writes are generated from these (reports/configuration.py), so
adding a table is one class here (plus the code that uses it).

Secrets never live in the file: a key ending in `_env` names the environment variable
that holds one (or, when that is unset, NAME_FILE names a file readable by its owner
alone; see integrations/secrets.py).
"""
from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from playbooks.errors import PlaybookError

HTTP_URL = r"^https?://[^\s/?#]+([/?#]\S*)?$"
E164 = r"^\+[1-9][0-9]{6,14}$"  # an international phone number: +, country code, at most 15 digits
EMAIL = r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$"  # one bare address; no display name, no list
SLACK_MEMBER = r"^[UW][A-Z0-9]{2,20}$"  # a Slack member id (U…/W…), not a display name
# The one place a default for a vendor's base URL is written for the docs; the notifiers
# keep theirs too, and a test holds both equal.


class Table(BaseModel):
    """Base of every table: unknown keys and non-finite numbers are refused, and a value must
    already be of its type (a quoted number is not a number)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True, frozen=True)
    # `_env` keys whose secret may be left unset (a login that is optional, say).
    OPTIONAL_SECRETS: ClassVar[frozenset[str]] = frozenset()

    def required_secrets(self) -> list[str]:
        """The `_env` keys of this table whose variable must hold a secret for it to work."""
        return [name for name in type(self).model_fields
                if name.endswith("_env") and name not in self.OPTIONAL_SECRETS]


Seconds = float


def _seconds(default: float | None, low: float, high: float, what: str) -> Any:
    """A number of seconds from `low` (0: above 0) to `high`."""
    if low == 0:
        return Field(default, gt=0, le=high, description=f"{what} (seconds, above 0, at most {high:g})")
    return Field(default, ge=low, le=high, description=f"{what} (seconds, {low:g} to {high:g})")


# --- [store] ---------------------------------------------------------------------------------
class StoreTable(Table):
    """Where incidents are kept. With no [store] table: the SQLite file in the data folder,
    owner-only (mode 0600 in a 0700 folder)."""

    url: str | None = Field(None, description=(
        "database URL: sqlite:///PATH or postgresql://USER@HOST/DB (a team across hosts); "
        "--db and IR_DATABASE_URL win over it; a password belongs in ~/.pgpass, not here"))
    group: str | None = Field(None, min_length=1, description=(
        "a group every member of the team belongs to (see `id -Gn`): the SQLite file is then 0660 "
        "and the folder the store made for it 2770, so the team on one host shares it (a folder the "
        "store did not make, such as a home, keeps its mode: open it to the group yourself)"),
        examples=['oncall'])


# --- [tui] -----------------------------------------------------------------------------------
class TuiTable(Table):
    """The command center."""

    export_dir: str | None = Field(None, min_length=1, description=(
        "folder where `x` writes the handover snapshot (SVG + Markdown), owner-only; default: handovers/ in "
        "the state folder (~/.local/state/incident-response/handovers)"), examples=['~/handovers'])
    keymap: dict[str, str] = Field(default_factory=dict, description=(
        "binding id = key(s) (? in the command center, 120 columns or wider, lists each key's id); a remap onto a "
        "key another binding has on that screen or app-wide is refused and both keep their keys"), examples=[{'war_room.tick': 'T'}])
    bell: bool = Field(False, description=(
        "true: ring the terminal bell with each announcement (a new SEV-1/2, an escalation, a missed update, "
        "someone else's change to the open incident)"))
    read_only: bool = Field(False, description=(
        "true: the command center watches and does not act (as `--read-only`): every writing key is refused"))

    @field_validator("export_dir")
    @classmethod
    def _home_known(cls, folder: str | None) -> str | None:
        if folder is not None:
            try:
                Path(folder).expanduser()
            except RuntimeError:  # ~name of a user this host does not know
                raise ValueError(f"{folder!r} starts with the home of a user this host does not know; accepted: "
                                 "a folder path, ~ or ~USER of a user on this host") from None
        return folder


# --- [sources.*]: metric sources -------------------------------------------------------------
class HostSource(Table):
    """This host's CPU, memory, load, disk and network errors from /proc: on with no configuration."""

    enabled: bool = Field(True, description="false: do not sample this host")
    interval: Seconds = _seconds(5, 1, 3600, "time between samples")


class PrometheusSource(Table):
    """A Prometheus server's instant queries, one metric each (in the rules' units: percent, ms)."""

    url: str = Field(pattern=HTTP_URL, description="the server's base URL", examples=['http://127.0.0.1:9090'])
    queries: dict[str, str] = Field(min_length=1, description=(
        "metric name = PromQL query, in the rules' units"), examples=[{'error_rate': 'sum(rate(http_errors_total[5m])) / sum(rate(http_requests_total[5m])) * 100'}])
    interval: Seconds = _seconds(15, 0.2, 3600, "time between polls")
    timeout: Seconds = _seconds(5, 0.1, 60, "how long one query may take")


class HealthCheck(Table):
    """One URL to GET, and the status it must answer."""

    name: str = Field(pattern=r"^[a-z0-9_-]+$", description="lowercase letters, digits, '_' or '-'; the metric name", examples=['api'])
    url: str = Field(pattern=HTTP_URL, description="the URL to GET", examples=['https://api.example.com/healthz'])
    expect_status: int = Field(200, ge=100, le=599, description="the HTTP status that means healthy")
    timeout: Seconds = _seconds(5, 0, 60, "how long the check may take")


class HealthSource(Table):
    """HTTP health checks, each reported as up (1) or down (0) with its latency."""

    interval: Seconds = _seconds(30, 1, 3600, "time between rounds of checks")
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
    window: Seconds = _seconds(300, 0, 86400, "history asked for")
    timeout: Seconds = _seconds(10, 0, 86400, "how long one request may take")
    interval: Seconds = _seconds(60, 1, 3600, "time between polls")


class NewRelicSource(Table):
    """New Relic NRQL queries (NerdGraph)."""

    account_id: int = Field(gt=0, description="your numeric account id", examples=[1234567])
    queries: dict[str, str] = Field(min_length=1, description="metric name = NRQL", examples=[{'response_time': 'SELECT average(duration) * 1000 FROM Transaction SINCE 5 minutes ago'}])
    url: str = Field("https://api.newrelic.com", pattern=HTTP_URL, description="the NerdGraph base URL")
    api_key_env: str = Field("NEW_RELIC_API_KEY", description="variable holding the user API key")
    timeout: Seconds = _seconds(10, 0, 86400, "how long one request may take")
    interval: Seconds = _seconds(60, 1, 3600, "time between polls")


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
    window: Seconds = _seconds(600, 0, 86400, "history asked for")
    timeout: Seconds = _seconds(10, 0, 86400, "how long one request may take")
    use_boto3: bool = Field(False, description="true: boto3's client and credential chain (pip extra `aws`)")
    interval: Seconds = _seconds(60, 1, 3600, "time between polls")

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
    timeout: Seconds = _seconds(30, 0, 600, "how long a search may take")


class ElasticsearchLogs(Table):
    """Elasticsearch search for log collection."""

    url: str = Field(pattern=HTTP_URL, description="the cluster URL", examples=['https://es.example.com:9200'])
    index: str = Field("logs-*", min_length=1, description="the index pattern searched")
    api_key_env: str = Field("ES_API_KEY", description="variable holding the API key")
    service_field: str = Field("service.name", min_length=1, description="the field naming the service")
    timeout: Seconds = _seconds(30, 0, 600, "how long a search may take")


class LogsTable(Table):
    """Where the war room's `l` and the rules' begin_log_collection() fetch an incident's logs."""

    splunk: SplunkLogs | None = Field(None, description="[logs.splunk]")
    elasticsearch: ElasticsearchLogs | None = Field(None, description="[logs.elasticsearch]")


# --- [integrations.*]: notifiers -------------------------------------------------------------
class Integration(Table):
    """Keys every integration has besides its own."""

    enabled: bool = Field(True, description="false: configured but switched off")
    max_per_second: float | None = Field(None, gt=0, description=(
        "pace deliveries below the vendor's documented rate limit (requests per second)"))


Timeout = Field(None, gt=0, le=600, description="seconds a request may take (default: the notifier's own)")


class PagerDutyIntegration(Integration):
    """PagerDuty Events API v2: trigger, acknowledge and resolve one alert per incident."""

    url: str = Field("https://events.pagerduty.com", pattern=HTTP_URL, description="the Events API base URL")
    routing_key_env: str = Field("PAGERDUTY_ROUTING_KEY", description="variable holding the integration's routing key")
    source: str = Field("incident-response", min_length=1, description="the alert's source field")
    timeout: float | None = Timeout


class SlackIntegration(Integration):
    """Slack: an incoming webhook, or the Web API (threads, a war-room channel per incident)."""

    mode: Literal["webhook", "web_api"] = Field("webhook", description="webhook or web_api")
    url: str = Field("https://slack.com", pattern=HTTP_URL, description="the Web API base URL")
    webhook_url_env: str = Field("SLACK_WEBHOOK_URL", description="variable holding the webhook URL (mode webhook)")
    token_env: str = Field("SLACK_BOT_TOKEN", description="variable holding the bot token (mode web_api)")
    incident_channel: str = Field("#incidents", min_length=1, description="channel for incident announcements")
    war_room_creation: bool = Field(False, description="create a channel per incident (web_api)")
    status_updates: bool = Field(True, description="post status updates")
    timeout: float | None = Timeout

    def required_secrets(self) -> list[str]:
        return ["webhook_url_env" if self.mode == "webhook" else "token_env"]


class StatuspageIntegration(Integration):
    """Atlassian Statuspage: one public incident per incident, walked through its statuses."""

    page_id: str = Field(min_length=1, description="the page's id", examples=['your-page-id'])
    url: str = Field("https://api.statuspage.io", pattern=HTTP_URL, description="the API base URL")
    api_key_env: str = Field("STATUSPAGE_API_KEY", description="variable holding the API key")
    component_mapping: dict[str, str] | bool | None = Field(None, description=(
        "service = component id; the components are marked with the incident"), examples=[{'checkout': 'component-id'}])
    auto_updates: bool = Field(True, description="post each status update to the page")
    timeout: float | None = Timeout


class OpsgenieIntegration(Integration):
    """Opsgenie Alert API v2."""

    url: str = Field("https://api.opsgenie.com", pattern=HTTP_URL, description="the API base URL (EU: api.eu.opsgenie.com)")
    api_key_env: str = Field("OPSGENIE_API_KEY", description="variable holding the API integration key")
    source: str = Field("incident-response", min_length=1, description="the alert's source field")
    timeout: float | None = Timeout


class JiraIntegration(Integration):
    """Jira Cloud REST v3: an incident ticket, and action items filed as issues."""

    url: str = Field(pattern=HTTP_URL, description="your Jira Cloud site", examples=['https://example.atlassian.net'])
    project_key: str = Field("INC", min_length=1, description="the project tickets go to")
    email_env: str = Field("JIRA_EMAIL", description="variable holding the account's e-mail")
    token_env: str = Field("JIRA_API_TOKEN", description="variable holding the API token")
    priority_mapping: dict[str, str] | bool | None = Field(None, description="severity = Jira priority", examples=[{'SEV-1': 'Highest', 'SEV-2': 'High'}])
    issue_type: str = Field("Incident", min_length=1, description="issue type of incident tickets")
    labels: list[str] = Field(["incident-response"], description="labels on every ticket")
    auto_ticket_creation: bool = Field(True, description="file a ticket when an incident is declared")
    timeout: float | None = Timeout
    action_item_issue_type: str = Field("Task", min_length=1, description="issue type of action items")


class RemedyIntegration(Integration):
    """BMC Remedy / Helix ITSM (AR System REST API): an incident through HPD:IncidentInterface_Create, kept in step."""

    url: str = Field(pattern=HTTP_URL, description="the AR System REST endpoint", examples=['https://remedy.example.com:8443'])
    user_env: str = Field("REMEDY_USER", description="variable holding the login name")
    password_env: str = Field("REMEDY_PASSWORD", description="variable holding the password")
    first_name: str = Field(min_length=1, description="first name of the person incidents are reported for", examples=['Allen'])
    last_name: str = Field(min_length=1, description="their last name (the People form)", examples=['Allbrook'])
    reported_source: str = Field("Systems Management", min_length=1, description="the incidents' Reported Source")
    service_type: str = Field("Infrastructure Restoration", min_length=1, description="Service_Type (security incidents: Security Incident)")
    status_reason: str = Field("No Further Action Required", min_length=1, description="Status_Reason when resolved")
    auto_ticket_creation: bool = Field(True, description="record an incident when one is declared")
    timeout: float | None = Timeout


class CherwellIntegration(Integration):
    """Cherwell Service Management REST API: an Incident business object and its journal."""

    url: str = Field(pattern=HTTP_URL, description="the CSM server (the API is under /CherwellAPI)", examples=['https://cherwell.example.com'])
    client_id_env: str = Field("CHERWELL_CLIENT_ID", description="variable holding the REST API client key")
    user_env: str = Field("CHERWELL_USER", description="variable holding the login name")
    password_env: str = Field("CHERWELL_PASSWORD", description="variable holding the password")
    customer_rec_id: str = Field(min_length=1, description="busObRecId of the customer incidents are filed for", examples=['93405caa107c376a2bd15c4c8885a900be316f3a72'])
    service: str = Field(min_length=1, description="the Incident's Service", examples=['IT Service'])
    category: str = Field(min_length=1, description="its Category", examples=['Monitoring'])
    subcategory: str = Field(min_length=1, description="its Subcategory", examples=['Alert'])
    source: str = Field("Event", min_length=1, description="the Incident's Source")
    business_object: str = Field("Incident", min_length=1, description="the business object incidents are")
    auto_ticket_creation: bool = Field(True, description="record an incident when one is declared")
    timeout: float | None = Timeout


class ServiceNowIntegration(Integration):
    """ServiceNow Table API: an incident record kept in step."""

    url: str = Field(pattern=HTTP_URL, description="your instance", examples=['https://example.service-now.com'])
    user_env: str = Field("SERVICENOW_USER", description="variable holding the user name")
    password_env: str = Field("SERVICENOW_PASSWORD", description="variable holding the password")
    category: str = Field("software", min_length=1, description="the record's category")
    close_code: str = Field("Solved (Permanently)", min_length=1, description="close code when resolved")
    source: str = Field("incident-response", min_length=1, description="the record's contact type / source")
    auto_ticket_creation: bool = Field(True, description="record an incident when one is declared")
    timeout: float | None = Timeout


class EmailIntegration(Integration):
    """E-mail over SMTP (STARTTLS by default) to each stakeholder group's recipients."""

    OPTIONAL_SECRETS: ClassVar[frozenset[str]] = frozenset({"username_env", "password_env"})  # no login

    host: str = Field(min_length=1, description="the SMTP server", examples=['smtp.example.com'])
    port: int = Field(587, ge=1, le=65535, description="its port")
    sender: str = Field(min_length=3, description="the From address", examples=['incidents@example.com'])
    recipients: dict[str, list[str]] | None = Field(None, description=(
        "stakeholder group = its addresses"), examples=[{'Executive Team': ['cto@example.com']}])
    starttls: bool = Field(True, description="upgrade the connection with STARTTLS")
    username_env: str = Field("SMTP_USERNAME", description="variable holding the user name (unset: no login)")
    password_env: str = Field("SMTP_PASSWORD", description="variable holding the password")
    timeout: float = Field(10, gt=0, le=600, description="seconds a delivery may take")
    executive_notifications: bool = Field(True, description="mail the executive groups")
    customer_updates: bool = Field(False, description="mail the customer groups")
    implicit_tls: bool = Field(False, description="TLS from the first byte (port 465)")
    ca_file: str | None = Field(None, description="a CA bundle to trust instead of the system's")
    executive_groups: list[str] = Field(["Executive Team"], description="groups counted as executives")
    customer_groups: list[str] = Field(["External Customers"], description="groups counted as customers")
    local_hostname: str | None = Field(None, description="the name given in EHLO (default: this host's)")


class SmsIntegration(Integration):
    """SMS through Twilio's Messages API."""

    account_sid: str = Field(min_length=1, description="the Twilio account SID", examples=['ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'])
    url: str = Field("https://api.twilio.com", pattern=HTTP_URL, description="the API base URL")
    auth_token_env: str = Field("TWILIO_AUTH_TOKEN", description="variable holding the auth token")
    from_number: str = Field(min_length=1, description="the sending number, E.164", examples=['+15005550006'])
    on_call_contacts: list[str] = Field(description="numbers texted, E.164", examples=[['+15005550001']])
    critical_only: bool = Field(True, description="text on SEV-1 only")
    timeout: float | None = Timeout


class WebhookIntegration(Integration):
    """A signed JSON webhook (HMAC-SHA256 in X-Signature-256, an Idempotency-Key per message)."""

    url: str = Field(pattern=HTTP_URL, description="where to POST", examples=['https://hooks.example.com/incidents'])
    secret_env: str = Field("IR_WEBHOOK_SIGNING_SECRET", description="variable holding the signing secret")
    name: str = Field("webhook", min_length=1, description="how it is named on screen")
    timeout: float | None = Timeout


class TeamsIntegration(Integration):
    """Microsoft Teams: an Adaptive Card posted to a channel through its Workflows webhook
    ("When a Teams webhook request is received")."""

    webhook_url_env: str = Field("TEAMS_WEBHOOK_URL", description="variable holding the workflow's webhook URL")
    timeout: float | None = Timeout


class VoiceIntegration(Integration):
    """A phone call through Twilio's Calls API that reads the message out to each recipient."""

    account_sid: str = Field(min_length=1, description="the Twilio account SID", examples=['ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'])
    url: str = Field("https://api.twilio.com", pattern=HTTP_URL, description="the API base URL")
    auth_token_env: str = Field("TWILIO_AUTH_TOKEN", description="variable holding the auth token")
    from_number: str = Field(pattern=E164, description="the calling number, E.164, one of the account's",
                             examples=['+15005550006'])
    timeout: float | None = Timeout


class IntegrationsTable(Table):
    """Notifiers: who hears what is decided by the comms matrix (playbooks comms.toml);
    every message is an outbox row delivered with retries."""

    pagerduty: PagerDutyIntegration | None = Field(None, description="[integrations.pagerduty]")
    slack: SlackIntegration | None = Field(None, description="[integrations.slack]")
    statuspage: StatuspageIntegration | None = Field(None, description="[integrations.statuspage]")
    opsgenie: OpsgenieIntegration | None = Field(None, description="[integrations.opsgenie]")
    jira: JiraIntegration | None = Field(None, description="[integrations.jira]")
    servicenow: ServiceNowIntegration | None = Field(None, description="[integrations.servicenow]")
    remedy: RemedyIntegration | None = Field(None, description="[integrations.remedy]")
    cherwell: CherwellIntegration | None = Field(None, description="[integrations.cherwell]")
    email: EmailIntegration | None = Field(None, description="[integrations.email]")
    sms: SmsIntegration | None = Field(None, description="[integrations.sms]")
    webhook: WebhookIntegration | None = Field(None, description="[integrations.webhook]")
    teams: TeamsIntegration | None = Field(None, description="[integrations.teams]")
    voice: VoiceIntegration | None = Field(None, description="[integrations.voice]")

    def configured(self) -> dict[str, Integration]:
        """The enabled integrations by name, in the table's order."""
        tables = {name: getattr(self, name) for name in type(self).model_fields}
        return {name: table for name, table in tables.items() if table is not None and table.enabled}


# --- [contacts.*], [groups.*]: the people a stakeholder group's messages reach ----------------
class Contact(Table):
    """A person who may be told about an incident, by any of these addresses. Person-addressed
    channels (SMS, a phone call, e-mail) reach the members of a stakeholder group."""

    email: str | None = Field(None, pattern=EMAIL, description="e-mail address", examples=["cto@example.com"])
    sms: str | None = Field(None, pattern=E164, description="mobile number texted, E.164", examples=["+14155550100"])
    phone: str | None = Field(None, pattern=E164, description="number called for SEV-1, E.164",
                              examples=["+14155550100"])
    slack: str | None = Field(None, pattern=SLACK_MEMBER, description="Slack member id", examples=["U012AB3CD"])


class StakeholderGroupTable(Table):
    """Who is in a comms-matrix group (its name as in comms.toml, e.g. "Executive Team")."""

    members: list[str] = Field(default_factory=list, description="names of [contacts.NAME] tables",
                               examples=[["cto"]])


# --- [drills], [environments.*]: who real notifications may reach ----------------------------
class DrillsTable(Table):
    """Drills reach no one real: a drill's messages go only to the integrations listed here;
    every other one is recorded as skipped ("drill"), never sent."""

    integrations: list[str] = Field(default_factory=list, description=(
        "integrations a drill may use (default none), e.g. a practice Slack channel"), examples=[["slack"]])

    @field_validator("integrations")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        known = list(IntegrationsTable.model_fields)
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not an integration; accepted: {', '.join(known)}")
        return names


class EnvironmentPolicy(Table):
    """What an incident in this environment may set off. Defaults: production (and "all")
    pages and publishes; staging and development tell only their chat and e-mail groups."""

    pages: bool = Field(description="page people: PagerDuty, Opsgenie, SMS", examples=[False])
    publishes: bool = Field(description="publish on the public status page", examples=[False])


DEFAULT_ENVIRONMENTS = {
    "production": EnvironmentPolicy(pages=True, publishes=True),
    "staging": EnvironmentPolicy(pages=False, publishes=False),
    "development": EnvironmentPolicy(pages=False, publishes=False),
}


# --- the whole file --------------------------------------------------------------------------
class Configuration(Table):
    """config.toml: every table is optional; with no file at all the command center runs on the
    embedded default (a local SQLite file, this host's metrics, no notifications)."""

    store: StoreTable = Field(default_factory=StoreTable, description="[store]")
    tui: TuiTable = Field(default_factory=TuiTable, description="[tui]")
    sources: SourcesTable = Field(default_factory=SourcesTable, description="[sources.*]")
    logs: LogsTable = Field(default_factory=LogsTable, description="[logs.*]")
    integrations: IntegrationsTable = Field(default_factory=IntegrationsTable, description="[integrations.*]")
    drills: DrillsTable = Field(default_factory=DrillsTable, description="[drills]")
    environments: dict[str, EnvironmentPolicy] = Field(default_factory=dict, description=(
        "[environments.NAME]: production, staging or development"), examples=[{"staging": {}}])
    contacts: dict[str, Contact] = Field(default_factory=dict, description=(
        "[contacts.NAME]: a person and their addresses"), examples=[{"cto": {}}])
    groups: dict[str, StakeholderGroupTable] = Field(default_factory=dict, description=(
        '[groups."GROUP NAME"]: a stakeholder group\'s members'), examples=[{"Executive Team": {}}])

    @field_validator("groups")
    @classmethod
    def _members_known(cls, groups: dict[str, StakeholderGroupTable], info) -> dict[str, StakeholderGroupTable]:
        contacts = info.data.get("contacts") or {}
        for name, group in groups.items():
            unknown = [member for member in group.members if member not in contacts]
            if unknown:
                known = ", ".join(contacts) or "none defined yet"
                raise ValueError(f"{name!r} names {unknown[0]!r}, who has no [contacts.{unknown[0]}] table; "
                                 f"accepted: names of [contacts.NAME] tables ({known})")
        return groups

    @field_validator("environments")
    @classmethod
    def _environments_known(cls, tables: dict[str, EnvironmentPolicy]) -> dict[str, EnvironmentPolicy]:
        unknown = [name for name in tables if name not in DEFAULT_ENVIRONMENTS]
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not an environment; accepted: {', '.join(DEFAULT_ENVIRONMENTS)} "
                             "(\"all\" follows production)")
        return tables

    def environment(self, name: str) -> EnvironmentPolicy:
        """The policy of an incident's environment ("all", and any other, as production)."""
        name = name if name in DEFAULT_ENVIRONMENTS else "production"
        return self.environments.get(name) or DEFAULT_ENVIRONMENTS[name]

    # Where it came from (None: no file, the embedded default); not a key of the file.
    _path: Path | None = PrivateAttr(None)

    @property
    def path(self) -> Path | None:
        return self._path

    def secret_variables(self) -> list[tuple[str, str]]:
        """Every (key path, variable name) of an `_env` key in effect (switched-off
        integrations left out), in file order: the variables that hold this configuration's
        secrets."""
        found: list[tuple[str, str]] = []

        def walk(table: BaseModel, where: str) -> None:
            for name in type(table).model_fields:
                value = getattr(table, name)
                if isinstance(value, Integration) and not value.enabled:
                    continue
                if isinstance(value, BaseModel):
                    walk(value, f"{where}.{name}" if where else name)
                elif name.endswith("_env") and isinstance(value, str):
                    found.append((f"{where}.{name}", value))

        for section in ("sources", "logs", "integrations"):
            walk(getattr(self, section), section)
        return found


KEY_PATH_SKIP = ("function-after",)
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key_path(location: tuple) -> str:
    parts: list[str] = []
    for part in location:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1]}[{part + 1}]"] if parts else [f"[{part + 1}]"]
        elif part in ("bool", "str", "int", "float", "list[str]", "dict[str,str]") or "[" in str(part) \
                or str(part).startswith(KEY_PATH_SKIP):
            continue  # the arm of a union pydantic tried, not a key
        else:
            text = str(part)
            parts.append(text if _BARE_KEY.fullmatch(text) else '"' + text.replace('"', '\\"') + '"')
    return ".".join(parts)


def _model_at(path: list[str]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = Configuration
    for part in path:
        part = part.split("[", 1)[0]
        if model is None or part not in model.model_fields:
            return None
        annotation = model.model_fields[part].annotation
        model = _table_class(annotation)
    return model


def _table_class(annotation: Any) -> type[BaseModel] | None:
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _table_class(arg)
        if found is not None:
            return found
    return None


_WANTED = {
    "bool_type": "true or false", "string_type": "a string", "int_type": "a whole number",
    "float_type": "a number", "dict_type": "a table", "list_type": "a list", "model_type": "a table",
    "finite_number": "a finite number", "missing": "a value (it is required)",
}


_PATTERNS = {HTTP_URL: "an http:// or https:// URL", E164: "an E.164 number like +14155550100",
             EMAIL: "one e-mail address like oncall@example.com", SLACK_MEMBER: "a Slack member id like U012AB3CD"}


def _accepted(error: dict) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "greater_than":
        return "a positive number" if ctx["gt"] == 0 else f"a number above {ctx['gt']:g}"
    if kind == "greater_than_equal":
        return f"a number of at least {ctx['ge']:g}"
    if kind == "less_than_equal":
        return f"a number of at most {ctx['le']:g}"
    if kind == "less_than":
        return f"a number below {ctx['lt']:g}"
    if kind == "string_pattern_mismatch":
        return _PATTERNS.get(ctx.get("pattern"), f"text matching {ctx.get('pattern')}")
    if kind == "string_too_short":
        return "a non-empty string" if ctx.get("min_length") == 1 else f"at least {ctx['min_length']} characters"
    if kind == "too_short":
        return "at least one entry"
    if kind == "literal_error":
        return ctx.get("expected", "one of the listed values").replace("'", '"')
    if kind == "value_error":
        return str(ctx.get("error", error["msg"])).split("accepted: ", 1)[-1]
    return _WANTED.get(kind, error["msg"].lower())


def configuration_error(error: ValidationError, where: str) -> PlaybookError:
    """The first problem of a validation as one sentence naming the key and the file."""
    problems = error.errors(include_url=False)
    # A union reports one error per arm; the first arm's says enough.
    first = problems[0]
    key = _key_path(first["loc"])
    if first["type"] == "extra_forbidden":
        parent = key.rsplit(".", 1)[0] if "." in key else ""
        model = _model_at(parent.split(".")) if parent else Configuration
        accepted = ", ".join(model.model_fields if model else ())
        what = "table" if isinstance(first.get("input"), dict) else "key"
        return PlaybookError(f"{where}: {key} is not a known {what}; accepted: {accepted or 'no keys here'}")
    if first["type"] == "missing":
        return PlaybookError(f"{where}: {key} is missing; accepted: a value for it (the key is required)")
    value = first.get("input")
    if first["type"] == "value_error":
        reason = str((first.get("ctx") or {}).get("error", first["msg"]))
        head, _, accepted = reason.partition("; accepted: ")
        return PlaybookError(f"{where}: {key}: {head}; accepted: {accepted or 'see docs/configuration.md'}")
    return PlaybookError(f"{where}: {key} is {_shown(value)}; accepted: {_accepted(first)}")


def _shown(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return "a table" if value else "an empty table"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_configuration(data: dict[str, Any], path: Path | None = None) -> Configuration:
    """The checked model of an already parsed TOML document (a dict); PlaybookError otherwise."""
    where = str(path) if path is not None else "config"
    try:
        configuration = Configuration.model_validate(data)
    except ValidationError as exc:
        raise configuration_error(exc, where) from None
    configuration._path = path
    return configuration


def load_configuration(path: Path) -> Configuration:
    """The configuration in `path` (the embedded default when there is no such file)."""
    if not path.exists():
        return Configuration()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PlaybookError(f"{path}: {exc}; accepted: a TOML file (see docs/configuration.md)") from None
    except RecursionError:
        raise PlaybookError(f"{path}: values are nested too deeply; accepted: a TOML file (see "
                            "docs/configuration.md)") from None
    except UnicodeDecodeError:
        raise PlaybookError(f"{path} is not UTF-8 text; accepted: a TOML file in UTF-8") from None
    except OSError as exc:
        raise PlaybookError(f"{path} cannot be read ({exc.strerror}); accepted: a readable TOML file") from None
    return parse_configuration(data, path)

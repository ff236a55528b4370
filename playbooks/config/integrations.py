"""[integrations.*]: the notifiers. Each table takes exactly the keys of its notifier class
(automation/notifiers.py builds one from it). A vendor's default base URL is written here for
the docs and kept by its notifier too; a test holds their keys and defaults equal."""
from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from playbooks.config.table import E164, HTTP_URL, Table


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

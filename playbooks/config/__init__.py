"""The configuration model: every table and key of config.toml, documented here and nowhere
else. The file is read once at the door (the CLI's Context, the command center's start) and
the checked `Configuration` is passed down; no layer below reads the file itself.

Each class is one table. Its docstring says what the table is for, each field's
`description` what the key does; docs/configuration.md and the commented file that
`incident-response init` writes are generated from these (reports/configuration.py), so
adding a table is one class in this package (plus the code that uses it).

The package, by part of the file: table.py (what every table shares), program.py ([store],
[tui]), sources.py ([sources.*], [logs.*]), integrations.py ([integrations.*]), audience.py
([contacts.*], [groups.*], [drills], [environments.*]), configuration.py (the whole file) and
reading.py (reading and checking it, refusals in one sentence).

Secrets never live in the file: a key ending in `_env` names the environment variable
that holds one (or, when that is unset, NAME_FILE names a file readable by its owner
alone; see integrations/secrets.py).
"""
from playbooks.config.audience import (
    DEFAULT_ENVIRONMENTS,
    Contact,
    DrillsTable,
    EnvironmentPolicy,
    StakeholderGroupTable,
)
from playbooks.config.configuration import Configuration
from playbooks.config.integrations import (
    CherwellIntegration,
    EmailIntegration,
    Integration,
    IntegrationsTable,
    JiraIntegration,
    OpsgenieIntegration,
    PagerDutyIntegration,
    RemedyIntegration,
    ServiceNowIntegration,
    SlackIntegration,
    SmsIntegration,
    StatuspageIntegration,
    TeamsIntegration,
    VoiceIntegration,
    WebhookIntegration,
)
from playbooks.config.program import StoreTable, TuiTable
from playbooks.config.reading import configuration_error, load_configuration, parse_configuration
from playbooks.config.sources import (
    CloudWatchMetric,
    CloudWatchSource,
    DatadogSource,
    ElasticsearchLogs,
    HealthCheck,
    HealthSource,
    HostSource,
    LogsTable,
    NewRelicSource,
    PrometheusSource,
    SourcesTable,
    SplunkLogs,
)
from playbooks.config.table import Table

__all__ = [
    "DEFAULT_ENVIRONMENTS", "CherwellIntegration", "CloudWatchMetric", "CloudWatchSource", "Configuration",
    "Contact", "DatadogSource", "DrillsTable", "ElasticsearchLogs", "EmailIntegration", "EnvironmentPolicy",
    "HealthCheck", "HealthSource", "HostSource", "Integration", "IntegrationsTable", "JiraIntegration",
    "LogsTable", "NewRelicSource", "OpsgenieIntegration", "PagerDutyIntegration", "PrometheusSource",
    "RemedyIntegration", "ServiceNowIntegration", "SlackIntegration", "SmsIntegration", "SourcesTable",
    "SplunkLogs", "StakeholderGroupTable", "StatuspageIntegration", "StoreTable", "Table", "TeamsIntegration",
    "TuiTable", "VoiceIntegration", "WebhookIntegration", "configuration_error", "load_configuration",
    "parse_configuration",
]

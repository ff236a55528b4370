"""Property: a user's playbook or config file, however broken, gets one sentence.

playbooks.load_policy(user_dir) with a generated file laid over the built-ins either returns
a Policy that answers its questions (deadlines, cadences, stakeholders, compliance clocks)
or raises PlaybookError: one printable line naming the file. Never another exception.

The same for the config.toml readers: metric and log sources, notifiers, the command
center's [tui] table, [store] group and the activity log's secret names.

Documents come three ways: random TOML, the real built-in files with values dropped,
retyped or pushed out of range, and the built-in files' bytes broken (cut, spliced, not
UTF-8).
"""
from __future__ import annotations

import tempfile
import tomllib
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from playbooks.errors import PlaybookError
from playbooks.loader import BUILTIN_DIR, POLICY_FILES, WORKFLOWS, load_policy
from tests.properties.common import note, property_settings
from tests.properties.toml_text import SCALARS, VALUES, broken_bytes, documents, dumps, mutated

SETTINGS = property_settings(200)
NOW = datetime(2024, 1, 18, 14, 30)

# Every file a user may override, by its path under the user's playbooks folder.
BUILTIN_FILES = {name: BUILTIN_DIR / name for name in POLICY_FILES} | {
    f"{WORKFLOWS}/{p.name}": p for p in sorted((BUILTIN_DIR / WORKFLOWS).glob("*.toml"))}
BUILTIN_DATA = {name: tomllib.loads(path.read_text(encoding="utf-8")) for name, path in BUILTIN_FILES.items()}
USER_FILES = sorted(BUILTIN_FILES) + [f"{WORKFLOWS}/custom.toml"]


def one_sentence(exc: Exception, names: Path, *, accepted: bool = True) -> None:
    message = str(exc)
    assert len(message.splitlines()) == 1, f"not one line: {message!r}"
    assert message.isprintable(), f"unprintable characters: {message!r}"
    assert str(names) in message, f"does not name {names}: {message!r}"
    if accepted:  # the playbook loader's promise; config readers word it their own way
        assert "accepted" in message, f"does not say what is accepted: {message!r}"


def use(policy) -> None:
    """What the program asks of a policy; none of it may fail once it loaded."""
    calendar = policy.calendar
    policy.severity_accepted()
    for level in policy.levels:
        assert policy.level(level.id) is level or policy.level(level.id).id == level.id
        policy.response_deadline(level, NOW)
        policy.next_update_due(level, NOW)
        policy.stakeholders(level)
    for workflow in policy.workflows.values():
        policy.workflow(workflow.type)
        policy.headline(workflow.type)
    for regime in policy.compliance.regimes:
        regime.due(NOW, calendar)
        policy.compliance.regimes_for(regime.applies_to)


def load_with(files: dict[str, bytes]) -> None:
    """Write the files into a fresh user folder and check what load_policy makes of them."""
    with tempfile.TemporaryDirectory(prefix="ir-playbooks-") as folder:
        user_dir = Path(folder)
        for name, content in files.items():
            path = user_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        try:
            policy = load_policy(user_dir)
        except PlaybookError as exc:
            note("refused")
            one_sentence(exc, user_dir)
            return
        note("loaded")
        use(policy)


def test_the_writer_round_trips_the_builtin_files():
    for name, data in BUILTIN_DATA.items():
        assert tomllib.loads(dumps(data)) == data, name
    load_with({name: dumps(data).encode() for name, data in BUILTIN_DATA.items()})


@SETTINGS
@given(name=st.sampled_from(USER_FILES), document=documents())
@example(name="severity.toml", document={"levels": [{"id": "SEV-1", "a\nb": 1}]})  # found: a two-line error
@example(name="runbooks.toml", document={"\x1b": []})  # found: an escape echoed into the message
def test_random_playbook_documents(name, document):
    load_with({name: dumps(document).encode("utf-8", "surrogatepass")})


@SETTINGS
@given(data=st.data(), name=st.sampled_from(sorted(BUILTIN_FILES)))
def test_builtin_playbooks_with_values_dropped_retyped_or_out_of_range(data, name):
    document = data.draw(mutated(BUILTIN_DATA[name]))
    load_with({name: dumps(document).encode("utf-8", "surrogatepass")})


@SETTINGS
@given(data=st.data(), name=st.sampled_from(sorted(BUILTIN_FILES)))
def test_builtin_playbooks_with_broken_bytes(data, name):
    load_with({name: data.draw(broken_bytes(BUILTIN_FILES[name].read_bytes()))})


@property_settings(60)
@given(data=st.data(), names=st.lists(st.sampled_from(sorted(BUILTIN_FILES)), min_size=2, max_size=4, unique=True))
def test_several_files_broken_at_once(data, names):
    load_with({name: dumps(data.draw(mutated(BUILTIN_DATA[name]))).encode("utf-8", "surrogatepass")
               for name in names})


# -- config.toml ----------------------------------------------------------------------------
VALID_CONFIG = {
    "store": {"group": "oncall"},
    "tui": {"export_dir": "~/handovers", "keymap": {"war_room.tick": "t"}},
    "sources": {
        "host": {"enabled": True, "interval": 5},
        "prometheus": {"url": "http://127.0.0.1:9090", "interval": 15, "timeout": 5,
                       "queries": {"error_rate": "sum(rate(errors[5m])) * 100"}},
        "health": {"interval": 30, "checks": [{"name": "api", "url": "https://api.example.com/healthz",
                                               "expect_status": 200, "timeout": 5}]},
        "datadog": {"queries": {"error_rate": "avg:errors{*}"}, "interval": 60},
        "newrelic": {"account_id": 12345, "queries": {"error_rate": "SELECT rate(count(*), 1 minute) FROM TransactionError"}},
        "cloudwatch": {"region": "eu-west-1", "queries": {"error_rate": {"namespace": "AWS/ApplicationELB",
                                                                         "metric_name": "HTTPCode_Target_5XX_Count",
                                                                         "stat": "Sum"}}},
    },
    "logs": {
        "splunk": {"url": "https://splunk.example.com:8089", "token_env": "SPLUNK_TOKEN", "index": "main"},
        "elasticsearch": {"url": "https://es.example.com:9200", "index": "logs-*", "api_key_env": "ES_API_KEY"},
    },
    "integrations": {
        "pagerduty": {"routing_key_env": "PAGERDUTY_ROUTING_KEY"},
        "slack": {"mode": "web_api", "token_env": "SLACK_BOT_TOKEN", "incident_channel": "#incidents",
                  "war_room_creation": True},
        "statuspage": {"page_id": "abc123", "component_mapping": {"checkout": "cmp1"}},
        "opsgenie": {"api_key_env": "OPSGENIE_API_KEY"},
        "jira": {"url": "https://example.atlassian.net", "project_key": "INC", "labels": ["incident-response"]},
        "servicenow": {"url": "https://example.service-now.com"},
        "email": {"host": "smtp.example.com", "port": 587, "sender": "ir@example.com",
                  "recipients": {"Executive Team": ["cto@example.com"]}},
        "sms": {"account_sid": "AC123", "from_number": "+15550100", "on_call_contacts": ["+15550101"]},
        "webhook": {"url": "https://hooks.example.com/ir", "name": "hooks"},
    },
}
CONFIG_KEYS = st.sampled_from(["store", "tui", "sources", "logs", "integrations", "webhook", "activity"]) | st.text(
    max_size=10)


def read_config(path: Path, monkeypatch) -> None:
    """The one reader of config.toml, then every builder over what it read; each returns or
    raises PlaybookError in one sentence."""
    from automation.config import log_sources_from_config, sources_from_config
    from automation.notifiers import notifiers_from_config
    from store.activity_log import activity_log_from_config
    from tui.configuration import load_checked_configuration
    from tui.settings import tui_settings

    monkeypatch.setenv("IR_CONFIG", str(path))
    try:
        configuration = load_checked_configuration()
    except PlaybookError as exc:
        one_sentence(exc, path, accepted=False)
        return
    builders = [
        lambda: sources_from_config(configuration),
        lambda: log_sources_from_config(configuration),
        lambda: notifiers_from_config(configuration),
        lambda: tui_settings(configuration),
        lambda: activity_log_from_config(configuration),
    ]
    for number, builder in enumerate(builders):
        try:
            builder()
            note(f"builder {number} built it")
        except PlaybookError as exc:
            one_sentence(exc, path, accepted=False)


def test_the_sample_config_is_valid(tmp_path, monkeypatch):
    path = tmp_path / "config.toml"
    path.write_text(dumps(VALID_CONFIG))
    from automation.config import log_sources_from_config, sources_from_config
    from automation.notifiers import notifiers_from_config
    from playbooks.config import load_configuration

    configuration = load_configuration(path)
    assert {s.name for s in sources_from_config(configuration)} == set(VALID_CONFIG["sources"])
    assert set(log_sources_from_config(configuration)) == {"splunk", "elasticsearch"}
    assert set(notifiers_from_config(configuration)) == set(VALID_CONFIG["integrations"])


@pytest.fixture
def config_file(tmp_path):
    return tmp_path / "config.toml"


@SETTINGS
@given(document=documents(CONFIG_KEYS))
# Found: a key echoed raw (a second line, an escape); a table that is not one; a notifier
# parameter of the wrong type reaching the notifier's code.
@example(document={"integrations": {"\x1b[2J": {}}})
@example(document={"sources": {"host": ""}})
@example(document={"integrations": {"jira": {"url": ["https://example.atlassian.net"]}}})
def test_random_config_documents(config_file, monkeypatch, document):
    config_file.write_bytes(dumps(document).encode("utf-8", "surrogatepass"))
    read_config(config_file, monkeypatch)


@property_settings(300)
@given(data=st.data())
@example(data=None)
@example(data="tui.export_dir")  # found: ~USER of an unknown user raised RuntimeError
def test_sample_config_with_values_dropped_retyped_or_out_of_range(config_file, monkeypatch, data):
    if data is None:
        document = VALID_CONFIG
    elif isinstance(data, str):  # a regression example: that field set to an unknown user's home
        table, key = data.split(".")
        document = {**VALID_CONFIG, table: {**VALID_CONFIG[table], key: "~no-such-user-ir-properties/x"}}
    else:
        document = data.draw(mutated(VALID_CONFIG))
    config_file.write_bytes(dumps(document).encode("utf-8", "surrogatepass"))
    read_config(config_file, monkeypatch)


@SETTINGS
@given(data=st.data())
def test_sample_config_with_broken_bytes(config_file, monkeypatch, data):
    config_file.write_bytes(data.draw(broken_bytes(dumps(VALID_CONFIG).encode())))
    read_config(config_file, monkeypatch)


@SETTINGS
@given(table=st.sampled_from(["sources", "logs", "integrations", "tui", "store"]), key=st.text(max_size=12),
       value=VALUES | SCALARS)
def test_any_value_in_any_table(config_file, monkeypatch, table, key, value):
    """One table, one key, any value: [sources] host = 3, [tui] keymap = [], ..."""
    config_file.write_bytes(dumps({table: {key: value}}).encode("utf-8", "surrogatepass"))
    read_config(config_file, monkeypatch)

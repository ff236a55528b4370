"""The configuration model is the one description of config.toml: the notifiers and sources it
builds take exactly its keys, the reference and the init template are generated from it, and
every mistake is one sentence naming the key and the file."""
from __future__ import annotations

import dataclasses
import inspect
import tomllib
from pathlib import Path

import pytest

from automation.notifiers import COMMON_KEYS, NOTIFIERS, notifier_class
from playbooks.config import Configuration, IntegrationsTable, load_configuration, parse_configuration
from playbooks.errors import PlaybookError
from reports.configuration import commented_config, example_header, example_toml, reference_markdown, tables

ROOT = Path(__file__).resolve().parents[2]


def test_the_reference_is_generated_from_the_model_and_has_not_drifted():
    committed = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == reference_markdown(), "docs/configuration.md is stale: run `make docs`"


def test_the_reference_names_every_table_and_key():
    text = reference_markdown()
    for _dotted, header, cls in tables():
        assert f"## `{header}`" in text
        for name in cls.model_fields:
            if not any(sub == f"{_dotted}.{name}" for sub, _h, _c in tables()):
                assert f"| `{name}` |" in text, f"{header} {name}"


def test_every_integration_table_matches_its_notifier():
    """Adding a key to a table without the notifier taking it (or the other way round), or a
    default that differs, fails here."""
    assert set(IntegrationsTable.model_fields) == set(NOTIFIERS)
    for name, info in IntegrationsTable.model_fields.items():
        table = info.annotation.__args__[0]
        parameters = {p.name: p for p in inspect.signature(notifier_class(name)).parameters.values()}
        assert set(table.model_fields) - COMMON_KEYS == set(parameters), name
        for key, field in table.model_fields.items():
            if key in COMMON_KEYS or field.is_required():
                continue
            default = parameters[key].default
            wanted = list(default) if isinstance(default, tuple) else default
            assert field.get_default(call_default_factory=True) == wanted, f"{name}.{key}"


def test_every_vendor_source_table_matches_its_source_class():
    from integrations.cloudwatch import CloudWatchSource
    from integrations.datadog import DatadogSource
    from integrations.elasticsearch import ElasticsearchSource
    from integrations.newrelic import NewRelicSource
    from integrations.splunk import SplunkSource
    from playbooks import config

    pairs = [(config.DatadogSource, DatadogSource), (config.NewRelicSource, NewRelicSource),
             (config.CloudWatchSource, CloudWatchSource), (config.SplunkLogs, SplunkSource),
             (config.ElasticsearchLogs, ElasticsearchSource)]
    for table, source in pairs:
        fields = {f.name: f for f in dataclasses.fields(source)}
        assert set(table.model_fields) - {"interval"} == set(fields), table.__name__
        for key, field in table.model_fields.items():
            if key in fields and fields[key].default is not dataclasses.MISSING:
                assert field.default == fields[key].default, f"{table.__name__}.{key}"


def test_the_example_sets_every_table_and_is_valid():
    configuration = parse_configuration(tomllib.loads(example_toml()))
    assert set(configuration.integrations.configured()) == set(NOTIFIERS)
    assert configuration.sources.configured() == ["host", "prometheus", "health", "datadog", "newrelic",
                                                  "cloudwatch"]
    assert configuration.logs.splunk is not None and configuration.logs.elasticsearch is not None


def test_the_init_template_is_the_example_commented_out():
    text = commented_config()
    assert tomllib.loads(text) == {}
    assert parse_configuration(tomllib.loads(text)) == Configuration()
    for _dotted, header, _cls in tables():
        if _cls.model_fields and header not in ("[sources]", "[logs]", "[integrations]"):
            shown = example_header(_dotted, header)
            assert f"# {shown}" in text, header
    # Every setting of the example is there, commented out, in the same order.
    settings = [line for line in example_toml().splitlines() if line and not line.startswith("#")]
    assert [line[2:] for line in text.splitlines() if line[2:] in settings] == settings


@pytest.mark.parametrize("text,sentence", [
    ("[sotre]\ngroup = \"oncall\"\n", "sotre is not a known table; accepted: store, tui, sources, logs, integrations"),
    ("[sources.host]\nintervall = 5\n", "sources.host.intervall is not a known key; accepted: enabled, interval"),
    ("[sources.host]\ninterval = nan\n", "sources.host.interval is nan; accepted: a finite number"),
    ("[integrations.pagerduty]\nmax_per_second = nan\n",
     "integrations.pagerduty.max_per_second is nan; accepted: a finite number"),
    ("[integrations.pagerduty]\ntimeout = -1\n", "integrations.pagerduty.timeout is -1; accepted: a positive number"),
    ("[integrations.slack]\nmode = \"carrier\"\n",
     "integrations.slack.mode is 'carrier'; accepted: \"webhook\" or \"web_api\""),
    ("[sources.host]\ninterval = \"5\"\n", "sources.host.interval is '5'; accepted: a number"),
    ("[[sources.health.checks]]\nname = \"api\"\nurl = \"http://127.0.0.1/\"\ntimeoutt = 3\n",
     "sources.health.checks[1].timeoutt is not a known key; accepted: name, url, expect_status, timeout"),
    ("[integrations.sms]\naccount_sid = \"AC1\"\nfrom_number = \"+1\"\n",
     "integrations.sms.on_call_contacts is missing; accepted: a value for it"),
    ("[tui.keymap]\n\"war_room.tick\" = 5\n", "tui.keymap.\"war_room.tick\" is 5; accepted: a string"),
    ("[store\n", "accepted: a TOML file"),
    ("a = " + "[" * 5000 + "1" + "]" * 5000 + "\n", "values are nested too deeply; accepted: a TOML file"),
    ("[tui]\nexport_dir = \"~no-such-user-xyz/handovers\"\n",
     "tui.export_dir: '~no-such-user-xyz/handovers' starts with the home of a user this host does not know"),
])
def test_each_mistake_is_one_sentence_naming_the_key_and_the_file(tmp_path, text, sentence):
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(PlaybookError) as refused:
        load_configuration(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: " if "TOML" not in sentence else str(path))
    assert sentence in message
    assert "\n" not in message and message.count("; accepted: ") == 1


def test_no_file_is_the_embedded_default(tmp_path):
    configuration = load_configuration(tmp_path / "none.toml")
    assert configuration == Configuration() and configuration.path is None
    assert configuration.sources.configured() == ["host"]
    assert configuration.integrations.configured() == {}

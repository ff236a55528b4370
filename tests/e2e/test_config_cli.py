"""`init`, `config check` and `config show` as a new team runs them, and a broken config.toml
refused by every command in one sentence naming what is wrong."""
from __future__ import annotations

import argparse
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.pagerduty_fake import PagerDutyFake
from tui.cli import CONFIGURATION_FREE, _command_parser, main

IR = str(Path(sys.executable).parent / "incident-response")


def ir(*args, env=None, check=True):
    result = subprocess.run([IR, *args], capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, **(env or {})))
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def config_file(tmp_path) -> Path:
    return tmp_path / "xdg_config_home" / "incident-response" / "config.toml"


def test_init_then_config_check_pass(config_file, tmp_path):
    done = ir("init")
    assert f"Wrote {config_file}" in done.stdout
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(config_file.parent.stat().st_mode) == 0o700
    assert "# [integrations.pagerduty]" in config_file.read_text()
    checked = ir("config", "check")
    assert checked.stdout.startswith(f"config: {config_file} - valid\n")
    assert "sources: host every 5s" in checked.stdout
    assert "On-Call Engineers: SEV-1, SEV-2, SEV-3, SEV-4: nobody is told (configure pagerduty)" in checked.stdout
    assert checked.stdout.rstrip().endswith("ready (add --online to reach each server)")
    # The file works for every other command too.
    ir("list")


def test_init_refuses_to_overwrite_without_force(config_file):
    ir("init")
    config_file.write_text("[tui]\nexport_dir = \"~/mine\"\n")
    refused = ir("init", check=False)
    assert refused.returncode == 2
    assert refused.stderr == (f"incident-response: {config_file} already exists; accepted: --force to replace it "
                              "(or edit it, then `incident-response config check`)\n")
    assert config_file.read_text() == "[tui]\nexport_dir = \"~/mine\"\n"
    ir("init", "--force")
    assert "# [integrations.pagerduty]" in config_file.read_text()


def test_init_playbooks_copies_the_built_in_files_to_edit(config_file):
    done = ir("init", "--playbooks")
    folder = config_file.parent / "playbooks"
    assert (folder / "severity.toml").is_file() and (folder / "workflows" / "outage.toml").is_file()
    assert f"to {folder}" in done.stdout
    # An edit there is the policy every command then uses.
    severity = folder / "severity.toml"
    text = severity.read_text()
    assert 'response_target = { within = "15m", clock = "wall" }' in text
    severity.write_text(text.replace('response_target = { within = "15m", clock = "wall" }',
                                     'response_target = { within = "10m", clock = "wall" }', 1))
    declared = ir("critical", "outage", "production", "--no-tui", env={"IR_NOW": "2024-01-18T15:00:00Z"})
    detail = ir("show", declared.stdout.strip(), "--json")
    assert '"response_due_at": "2024-01-18T15:10:00Z"' in detail.stdout


# --- a broken file is refused by every command ------------------------------------------------
BROKEN = {
    "misspelt table": ("[sotre]\ngroup = \"oncall\"\n",
                       "sotre is not a known table; accepted: store, tui, sources, logs, integrations"),
    "misspelt key": ("[sources.host]\nintervall = 5\n",
                     "sources.host.intervall is not a known key; accepted: enabled, interval"),
    "NaN": ("[integrations.pagerduty]\nmax_per_second = nan\n",
            "integrations.pagerduty.max_per_second is nan; accepted: a finite number"),
    "negative timeout": ("[sources.prometheus]\nurl = \"http://127.0.0.1:9\"\nqueries = { a = \"up\" }\n"
                         "timeout = -5\n", "sources.prometheus.timeout is -5; accepted: a number of at least 0.1"),
    "insecure secret file": ("[integrations.pagerduty]\nrouting_key_env = \"PD_ROUTING_KEY\"\n",
                             "integrations.pagerduty.routing_key_env = 'PD_ROUTING_KEY': PD_ROUTING_KEY_FILE points "
                             "at {secret}, which others can read (mode 0644)"),
}


def every_command_line() -> list[list[str]]:
    """One well-formed command line per command the parser has (so a new command is covered
    without editing this test), plus the declare form and the bare command center."""
    parser = _command_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    lines = [[], ["critical", "outage", "production", "--no-tui"]]
    for name, command in sub.choices.items():
        if name in CONFIGURATION_FREE and name != "config":
            continue
        argv = [name]
        for action in command._actions:
            if action.option_strings and action.required:  # e.g. summary's --summary TEXT
                argv += [action.option_strings[-1], "Pool raised"]
                continue
            if action.option_strings or action.nargs in ("?", "*"):
                continue
            argv.append(str(action.choices[0]) if action.choices else "INC-2024-0118-001")
        lines.append(argv)
    return lines


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_config_is_refused_by_every_command(case, config_file, tmp_path, monkeypatch, capsys):
    text, sentence = BROKEN[case]
    secret = tmp_path / "pd-key"
    secret.write_text("R0UTINGKEYsecretvalue")
    secret.chmod(0o644)
    monkeypatch.setenv("PD_ROUTING_KEY_FILE", str(secret))
    monkeypatch.delenv("PD_ROUTING_KEY", raising=False)
    config_file.parent.mkdir(parents=True)
    config_file.write_text(text)
    database = tmp_path / "xdg_data_home" / "incident-response" / "incidents.db"
    lines = every_command_line()
    assert ["config", "check"] in lines and ["list"] in lines and len(lines) > 30
    for argv in lines:
        assert main(argv) == 2, argv
        out, err = capsys.readouterr()
        assert out == "", argv
        assert err == f"incident-response: {config_file}: {sentence.format(secret=secret)}" + err[
            len(f"incident-response: {config_file}: {sentence.format(secret=secret)}"):], (argv, err)
        assert err.count("\n") == 1 and "accepted: " in err, (argv, err)
        assert "R0UTINGKEYsecretvalue" not in err
    assert not database.exists(), "a refused command must not create the database"


# --- secrets: resolved, never printed ---------------------------------------------------------
def test_config_check_resolves_secrets_without_printing_them(config_file, tmp_path):
    config_file.parent.mkdir(parents=True)
    config_file.write_text('[integrations.pagerduty]\nrouting_key_env = "PD_ROUTING_KEY"\n'
                           '[integrations.slack]\nmode = "web_api"\ntoken_env = "SLACK_TOKEN"\n'
                           '[integrations.opsgenie]\napi_key_env = "OG_KEY"\n'
                           '[store]\nurl = "postgresql://oncall:hunter2secret@db.internal/incidents"\n')
    secret = tmp_path / "slack-token"
    secret.write_text("xoxb-FILE-SECRET-123")
    secret.chmod(0o600)
    env = {"PD_ROUTING_KEY": "PD-ENV-SECRET-456", "SLACK_TOKEN_FILE": str(secret)}
    checked = ir("config", "check", env=env, check=False)
    assert checked.returncode == 1, checked.stderr  # Opsgenie's key is missing
    out = checked.stdout
    assert "  ok  integrations.pagerduty.routing_key_env: PD_ROUTING_KEY: set (environment)" in out
    assert f"  ok  integrations.slack.token_env: SLACK_TOKEN: set (file {secret})" in out
    assert "  BAD integrations.opsgenie.api_key_env: OG_KEY: not set" in out
    # The Slack webhook variable is not needed in web_api mode.
    assert "  ok  integrations.slack.webhook_url_env: SLACK_WEBHOOK_URL: not set (optional)" in out
    assert "store: postgresql://oncall:***@db.internal/incidents" in out
    assert "1 problem(s) found; the configuration is valid but not ready" in out
    shown = ir("config", "show", env=env)
    assert 'routing_key_env = "PD_ROUTING_KEY"    # set (environment)' in shown.stdout
    assert 'url = "postgresql://oncall:***@db.internal/incidents"' in shown.stdout
    for output in (checked.stdout + checked.stderr, shown.stdout + shown.stderr):
        for value in ("PD-ENV-SECRET-456", "xoxb-FILE-SECRET-123", "hunter2secret"):
            assert value not in output


def test_config_check_online_reaches_each_server(config_file, tmp_path):
    pagerduty = PagerDutyFake()
    try:
        config_file.parent.mkdir(parents=True)
        config_file.write_text(
            '[sources.host]\nenabled = true\n'
            f'[integrations.pagerduty]\nurl = "{pagerduty.url}"\nrouting_key_env = "PD_ROUTING_KEY"\n'
            '[integrations.webhook]\nurl = "http://127.0.0.1:9/hooks"\nsecret_env = "HOOK_SECRET"\n')
        checked = ir("config", "check", "--online", "--timeout", "3",
                     env={"PD_ROUTING_KEY": "k" * 32, "HOOK_SECRET": "s" * 32}, check=False)
        received = list(pagerduty.received)
    finally:
        pagerduty.close()
    out = checked.stdout
    assert "reachable from this host:" in out
    assert "  ok  sources.host: " in out and "sample(s): " in out
    assert f"  ok  integrations.pagerduty: {pagerduty.url}/ answered HTTP " in out
    assert "  BAD integrations.webhook: " in out  # nothing listens on port 9
    assert checked.returncode == 1
    # Knocking sent one GET of the origin and no event: nobody was paged by a check.
    assert [(r.method, r.path) for r in received] == [("GET", "/")]
    assert pagerduty.alerts == {}


def test_online_goes_with_check_only(config_file):
    refused = ir("config", "show", "--online", check=False)
    assert refused.returncode == 2
    assert refused.stderr == ("incident-response: --online goes with `config check`; accepted: "
                              "incident-response config check --online\n")


def test_names_from_files_are_shown_as_data(config_file, tmp_path):
    """A group name or store URL holding an escape sequence is printed escaped, never acted on."""
    config_file.parent.mkdir(parents=True)
    config_file.write_text('[store]\nurl = "sqlite:////tmp/x\\u001b[2J.db"\n')
    checked = ir("config", "check", check=False)
    assert "\x1b" not in checked.stdout
    assert "store: sqlite:////tmp/x%1B%5B2J.db" in checked.stdout  # the URL's own escaping of it


def test_config_check_says_what_the_on_call_engine_will_do(config_file):
    config_file.parent.mkdir(parents=True)
    config_file.write_text(
        '[contacts.ann]\nemail = "ann@example.com"\n[contacts.bob]\nemail = "bob@example.com"\n'
        '[schedules.primary]\nmembers = ["ann", "bob"]\nrotation = "1w"\nstart = "2026-03-02T09:00"\n'
        'timezone = "Europe/Berlin"\n'
        '[escalation.sev1]\nseverities = ["SEV-1"]\nsteps = [{ notify = "schedule:primary", after = "0s" },'
        ' { notify = "contact:bob", after = "15m" }]\n'
        '[heartbeats.nightly-backup]\ninterval = "1d"\ngrace = "30m"\n')
    lines = ir("config", "check").stdout.splitlines()
    assert "schedules: primary (ann, bob; every 1w, Europe/Berlin)" in lines
    assert "escalation policies: sev1 (2 step(s), SEV-1)" in lines
    assert "heartbeats: nightly-backup every 1d (+30m grace)" in lines
    config_file.write_text("")
    lines = ir("config", "check").stdout.splitlines()
    assert "schedules: none: `oncall` names nobody; add a [schedules.NAME] table" in lines
    assert "heartbeats: none" in lines

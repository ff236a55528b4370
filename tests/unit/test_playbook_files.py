"""User playbooks override or add by name; broken ones give one sentence, never a traceback."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from playbooks import PlaybookError, load_policy
from playbooks.loader import BUILTIN_DIR


@pytest.fixture
def user_dir(tmp_path):
    path = tmp_path / "playbooks"
    (path / "workflows").mkdir(parents=True)
    return path


def test_user_workflow_adds_a_type(user_dir):
    text = (BUILTIN_DIR / "workflows" / "outage.toml").read_text()
    (user_dir / "workflows" / "database.toml").write_text(text.replace('type = "outage"', 'type = "database"'))
    policy = load_policy(user_dir)
    assert "database" in policy.workflows and "outage" in policy.workflows


def test_user_file_overrides_builtin_by_name(user_dir):
    text = (BUILTIN_DIR / "severity.toml").read_text().replace('timezone = "UTC"', 'timezone = "Europe/Berlin"')
    (user_dir / "severity.toml").write_text(text)
    assert load_policy(user_dir).calendar.timezone == "Europe/Berlin"


BROKEN = [
    ("severity.toml", 'levels = [\n  { id = "SEV-1", name = \n]', r"severity\.toml: .*line 2.*accepted: TOML syntax"),
    ("severity.toml", None, r"severity\.toml: field levels\.0\.response_target\.within: 'soon' is not a duration; accepted"),
    ("comms.toml", "[[groups]]\nname = 'x'\nseverities = ['SEV-9']\nchannel = 'c'\nintegrations = []\n",
     r"comms\.toml: field groups\.0\.severities\.0: accepted: 'SEV-1', 'SEV-2', 'SEV-3' or 'SEV-4'"),
    ("rules.toml", "[[rules]]\nname = 'r'\nconditions = ['x > 1']\nduration = '5m'\nactions = ['a()']\ncolour = 1\n",
     r"rules\.toml: field rules\.0\.colour is not a known field"),
    ("workflows/outage.toml", 'type = "outage"\nname = "x"\ntitle = "x"\nheadline = "x"\nphases = []\n',
     r"outage\.toml: field phases is empty; accepted: at least one item"),
    ("compliance.toml", b"\xff\xfe", r"compliance\.toml: is not UTF-8 text; accepted: a UTF-8 TOML file"),
]


@pytest.mark.parametrize("name,content,pattern", BROKEN)
def test_broken_file_names_file_and_place(user_dir, name, content, pattern):
    if content is None:
        content = (BUILTIN_DIR / name).read_text().replace('within = "15m"', 'within = "soon"', 1)
    target = user_dir / name
    target.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(PlaybookError, match=pattern) as error:
        load_policy(user_dir)
    message = str(error.value)
    assert "\n" not in message and str(target) in message


SEVERITY_EDITS = [
    ('opens = "09:00"', 'opens = "09:00+01:00"', r"field calendar\.opens: '09:00\+01:00' is not a local time of day; accepted: HH:MM"),
    ('opens = "09:00"', 'opens = "18:00"', r"opens \(18:00\) is not earlier than closes \(17:00\); accepted: opens < closes"),
    ('update_every = "30m"', 'update_every = "0m"', r"update_every '0m' is under a minute; accepted"),
    ('update_every = "30m"', 'update_every = "99999999999d"', r"is longer than ten years; accepted"),
    ('within = "5d", clock = "business_days"', 'within = "12h", clock = "business_days"',
     r"within '12h' is not whole days; accepted with clock business_days"),
    ('timezone = "UTC"', 'timezone = "Mars/Olympus"', r"unknown timezone 'Mars/Olympus'; accepted: an IANA name"),
    ('days = ["mon"', 'days = ["funday"', r"unknown weekday \['funday'\]; accepted: mon, tue"),
]


@pytest.mark.parametrize("old,new,pattern", SEVERITY_EDITS)
def test_bad_severity_values_are_named(user_dir, old, new, pattern):
    text = (BUILTIN_DIR / "severity.toml").read_text()
    assert old in text
    (user_dir / "severity.toml").write_text(text.replace(old, new, 1))
    with pytest.raises(PlaybookError, match=pattern):
        load_policy(user_dir)


def test_toml_native_times_are_accepted(user_dir):
    text = (BUILTIN_DIR / "severity.toml").read_text().replace('opens = "09:00"', "opens = 08:30:00")
    (user_dir / "severity.toml").write_text(text)
    assert load_policy(user_dir).calendar.opens.isoformat() == "08:30:00"


def test_cli_reports_a_broken_playbook_in_one_line(tmp_path):
    config = tmp_path / "xdg_config_home" / "incident-response" / "playbooks"
    config.mkdir(parents=True)
    (config / "severity.toml").write_text("levels = [")
    result = subprocess.run([sys.executable, "-m", "tui.cli", "list"], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "severity.toml" in lines[0] and "line 1" in lines[0]
    assert "Traceback" not in result.stderr

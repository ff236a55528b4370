"""Shell completion: `incident-response completion bash|zsh|fish`, generated from the parsers,
run in the real shells (bash with COMP_WORDS, zsh through its completion system in a pty,
fish with `complete -C`), with open incident ids read back from a real database."""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.e2e.test_cli import IR, ir
from tui.commands import completion
from tui.commands.completion.fish import fish_quote

BIN = Path(sys.executable).parent
SEVERITIES = {"critical", "high", "medium", "low"}
TYPES = {"outage", "security", "performance", "data", "integration"}
ENVIRONMENTS = {"production", "staging", "development", "all"}
STATUSES = {"investigating", "identified", "monitoring", "resolved", "closed"}


def _command_names() -> set[str]:
    from tui.cli import _command_parser

    parser = _command_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices)


# -- the generator -------------------------------------------------------------------------

def toy_parsers():
    """A command line with what the real one may grow: a command with subcommands of its
    own (`config check`, `config show`), choices, a|b metavars, an id, a file."""
    top = argparse.ArgumentParser(prog="incident-response")
    top.add_argument("--db", metavar="URL")
    sub = top.add_subparsers(dest="command", metavar="COMMAND")
    config = sub.add_parser("config", help="check or show config.toml")
    inner = config.add_subparsers(dest="action")
    check = inner.add_parser("check", help="validate the file")
    check.add_argument("--online", action="store_true", help="try each integration")
    check.add_argument("--level", choices=("quick", "full", "a b", "$(touch pwned)"))
    inner.add_parser("show", help="print the effective configuration")
    sub.add_parser("ack", help="acknowledge").add_argument("id")
    export = sub.add_parser("export", help="write an incident")
    export.add_argument("id")
    export.add_argument("--format", choices=("json", "md"))
    export.add_argument("-o", "--output")
    export.add_argument("--secret", help=argparse.SUPPRESS)
    sub.add_parser("action", help="act on an item").add_argument("verb", metavar="add|done|N")
    note = sub.add_parser("note", help="add a note")
    note.add_argument("id")
    note.add_argument("text", nargs="+")
    declare = argparse.ArgumentParser(prog="incident-response")
    declare.add_argument("severity")
    declare.add_argument("type")
    declare.add_argument("environment")
    declare.add_argument("--title")
    domain = {"severity": ("critical", "high", "medium", "low"), "type": ("outage", "data"),
              "environment": ("production", "staging"), "status": tuple(STATUSES)}
    return completion.spec_table(completion.grammars(top, declare, domain))


def test_generator_reads_subcommands_options_and_values_from_the_parser():
    table = toy_parsers()
    assert table["/|subs"] == "config ack export action note"
    assert table["/config/|subs"] == "check show"
    assert table["/config/|help|check"] == "validate the file"
    assert set(table["/config/check/|opts"].split()) == {"-h", "--help", "--online", "--level"}
    assert table["/config/check/|takes"] == "--level"
    # Words a shell would split, expand or run are never offered.
    assert table["/config/check/|opt|--level"] == "w:quick full"
    assert table["/ack/|slot|0"] == "ids"
    assert table["/export/|opt|--format"] == "w:json md"
    assert table["/export/|opt|-o"] == table["/export/|opt|--output"] == "files"
    assert "--secret" not in table["/export/|opts"].split()
    assert table["/action/|slot|0"] == "w:add done"  # N is a placeholder
    assert (table["/note/|slots"], table["/note/|slot|1"], table["/note/|variadic"]) == ("2", "", "1")
    assert table["/|fallback"] == "/@declare/"
    assert [table[f"/@declare/|slot|{i}"] for i in range(3)] == [
        "w:critical high medium low", "w:outage data", "w:production staging"]
    assert "--title" in table["/@declare/|opts"].split()


def test_the_real_command_line_in_the_table():
    from tui.cli import _command_parser, _declare_parser
    from playbooks import load_policy

    table = completion.spec_table(completion.grammars(_command_parser(), _declare_parser(),
                                                      completion.domain_values(load_policy())))
    assert set(table["/|subs"].split()) == _command_names()
    assert {"--status", "--severity", "--type", "--env", "--limit", "--json", "--db", "--as"} <= set(
        table["/list/|opts"].split())
    assert table["/list/|opt|--status"] == "w:open all " + " ".join(
        ("investigating", "identified", "monitoring", "resolved", "closed"))
    assert table["/status/|slot|0"] == "ids" and set(table["/status/|slot|1"][2:].split()) == STATUSES
    assert table["/show/|slot|0"] == table["/note/|slot|0"] == table["/outbox/|opt|--incident"] == "ids"
    assert table["/export/|opt|--format"] == "w:json md svg html"
    assert table["/report/|opt|--format"] == "w:text md html json"  # the module's FORMATS
    assert table["/outbox/|opt|--state"] == "w:all pending dead sent skipped"  # the module's STATE_CHOICES
    assert table["/import/|slot|0"] == "files"
    assert set(table["/@declare/|slot|0"][2:].split()) == SEVERITIES
    assert set(table["/@declare/|slot|1"][2:].split()) == TYPES
    assert set(table["/@declare/|slot|2"][2:].split()) == ENVIRONMENTS
    assert "--incident-ids" not in table["/completion/|opts"].split()


def test_open_statuses_are_the_policys():
    from playbooks.statuses import OPEN_STATUSES

    assert completion.OPEN_STATUSES == OPEN_STATUSES


@pytest.mark.parametrize("args,words", [
    (["completion", "tcsh"], "unknown shell 'tcsh'; accepted: bash, zsh, fish"),
    (["completion"], "completion needs the name of a shell; accepted: bash, zsh, fish"),
])
def test_an_unknown_shell_is_one_sentence_and_exit_2(args, words):
    result = ir(*args, check=False)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"incident-response: {words}\n"


# -- open incident ids ---------------------------------------------------------------------------

def test_incident_ids_are_the_open_ones_on_both_backends(db_url, monkeypatch):
    open_id = ir("critical", "outage", "production", "--no-tui", db=db_url, now="2024-01-18T15:00:00Z").stdout.strip()
    resolved = ir("low", "data", "staging", "--no-tui", db=db_url, now="2024-01-18T15:00:00Z").stdout.strip()
    ir("resolve", resolved, db=db_url)
    result = ir("completion", "--incident-ids", db=db_url)
    assert result.stdout.splitlines() == [open_id] and result.stderr == ""
    monkeypatch.setenv("IR_DATABASE_URL", db_url)
    assert ir("completion", "--incident-ids").stdout.splitlines() == [open_id]


def test_incident_ids_without_a_database_print_nothing_and_create_nothing(tmp_path):
    missing = tmp_path / "nowhere" / "incidents.db"
    result = ir("completion", "--incident-ids", db=f"sqlite:///{missing}")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    result = ir("completion", "--incident-ids")  # the default file in the (empty) data folder
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert not missing.parent.exists()
    assert not any(Path(os.environ["XDG_DATA_HOME"]).rglob("*"))
    unreachable = ir("completion", "--incident-ids", db="postgresql://nobody@127.0.0.1:9/none")
    assert (unreachable.returncode, unreachable.stdout, unreachable.stderr) == (0, "", "")


def test_incident_ids_follow_config_store_url_and_stay_silent_on_a_broken_config(tmp_path):
    db = f"sqlite:///{tmp_path / 'team.db'}"
    open_id = ir("high", "security", "production", "--no-tui", db=db).stdout.strip()
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "incident-response" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'[store]\nurl = "{db}"\n')
    assert ir("completion", "--incident-ids").stdout.splitlines() == [open_id]
    assert [path.name for path in tmp_path.glob("team.db*")] == ["team.db"]  # no -wal or -shm left behind
    config.write_text(f'[sotre]\nurl = "{db}"\n')
    broken = ir("completion", "--incident-ids")
    assert (broken.returncode, broken.stdout, broken.stderr) == (0, "", "")


# -- the scripts in their shells -------------------------------------------------------------------

def shell(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        reason = f"{name} is not installed (scripts/ensure-servers installs it)"
        if IN_CI:
            pytest.fail(f"{reason}; the completion tests need it under CI=true")
        pytest.skip(reason)
    return found


def shell_env() -> dict[str, str]:
    # The program the scripts call back is the .venv's, found on PATH as a user's would be.
    return dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


def run_bash(script: Path, lines: list[list[str]], env: dict[str, str]) -> list[list[str]]:
    """Each line is COMP_WORDS (the last the word being completed); calls the function that
    `complete -p` names for the command, as bash does on Tab; returns COMPREPLY per line."""
    driver = [f"source {shlex.quote(str(script))}", """
t() {
    local function=$(complete -p "$1" | sed -n 's/.*-F \\([^ ]*\\) .*/\\1/p')
    COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    "$function" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    echo BEGIN; printf '%s\\n' "${COMPREPLY[@]}"; echo END
}"""]
    driver += ["t " + " ".join(shlex.quote(word) for word in words) for words in lines]
    result = subprocess.run([shell("bash"), "--norc", "--noprofile", "-c", "\n".join(driver)], capture_output=True,
                            text=True, timeout=120, env=env)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return _sections(result.stdout)


def _sections(output: str) -> list[list[str]]:
    sections, current = [], None
    for line in output.splitlines():
        if line == "BEGIN":
            current = []
        elif line == "END":
            sections.append(current)
            current = None
        elif current is not None and line:
            current.append(line)
    return sections


# zsh's completion system in an interactive zsh on a pseudo-terminal: compinit, the script
# sourced as a user would, then each line typed with a Tab. compadd is wrapped to print what
# it added after zsh's own matching against the typed prefix; comppostfuncs marks the end.
ZSH_CAPTURE = r'''
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PROMPT='' RPROMPT='' LISTMAX=100000; autoload -Uz compinit && compinit -u -D"
zpty -w z "source ${(q)1}"
zpty -w z 'compadd() {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
  local -a hits; builtin compadd -A hits "$@"; print -rl -- "" ${hits/#/"MA""TCH:$IPREFIX"}; builtin compadd "$@"
}'
zpty -w z '_ir_end() { print -r -- "" "END""OFCOMPLETION"; comppostfuncs=(_ir_end) }; comppostfuncs=(_ir_end)'
shift
for line in "$@"; do
  print -r -- BEGIN
  zpty -w -n z "$line"$'\t'
  zpty -r z out '*ENDOFCOMPLETION*'
  print -rl -- ${${(@M)${(f)out//$'\r'/}:#MATCH:*}#MATCH:}
  print -r -- END
  zpty -w -n z $'\C-e\C-u'
done
zpty -d z
'''


def run_zsh(script: Path, lines: list[str], env: dict[str, str]) -> list[list[str]]:
    capture = script.with_name("capture.zsh")
    capture.write_text(ZSH_CAPTURE)
    result = subprocess.run([shell("zsh"), "-f", str(capture), str(script), *lines], capture_output=True,
                            text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    return _sections(result.stdout)


def run_fish(script: Path | None, lines: list[str], env: dict[str, str]) -> list[list[str]]:
    """complete -C for each line, with `script` sourced (None: as fish finds it by itself,
    from the completions folder of its configuration)."""
    commands = [f"source {fish_quote(str(script))}"] if script else []
    for line in lines:
        commands += ["echo BEGIN", f"complete -C {fish_quote(line)}", "echo END"]
    result = subprocess.run([shell("fish"), *(["--no-config"] if script else []), "-c", "\n".join(commands)],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return [[line.split("\t")[0] for line in section] for section in _sections(result.stdout)]


def complete(shell_name: str, script: Path, lines: list[str], env: dict[str, str]) -> list[list[str]]:
    """What each typed line (ending where Tab is pressed) completes to in `shell_name`."""
    if shell_name == "bash":
        return run_bash(script, [line.split(" ") for line in lines], env)
    return (run_zsh if shell_name == "zsh" else run_fish)(script, lines, env)


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """Two databases, made once for the module: the main one (one open and one resolved
    incident) and another one (one open incident)."""
    folder = tmp_path_factory.mktemp("stores")
    # Module scope runs outside isolated_dirs: the program gets empty XDG folders here too.
    env = dict(os.environ, USER="tester", **{name: str(folder / name.lower()) for name in (
        "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")})
    env.pop("IR_DATABASE_URL", None)

    def declare(db: str, *args: str, now: str | None = None) -> str:
        result = subprocess.run([IR, "--db", db, *args], capture_output=True, text=True, timeout=60,
                                env=dict(env, IR_NOW=now) if now else env)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    main, other = f"sqlite:///{folder / 'main.db'}", f"sqlite:///{folder / 'other.db'}"
    open_id = declare(main, "critical", "outage", "production", "--no-tui", now="2024-01-18T15:00:00Z")
    resolved = declare(main, "low", "data", "staging", "--no-tui", now="2024-01-18T15:05:00Z")
    declare(main, "resolve", resolved)
    other_id = declare(other, "high", "security", "production", "--no-tui", now="2024-02-01T09:00:00Z")
    return {"main_db": main, "open": open_id, "resolved": resolved, "other": other_id, "other_db": other}


@pytest.fixture
def incidents(stores, monkeypatch):
    """The main store is IR_DATABASE_URL's; the other one is named by --db on the line."""
    monkeypatch.setenv("IR_DATABASE_URL", stores["main_db"])
    return stores


def script_for(shell_name: str, tmp_path: Path) -> Path:
    shell(shell_name)
    result = subprocess.run([IR, "completion", shell_name], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    path = tmp_path / f"incident-response.{shell_name}"
    path.write_text(result.stdout)
    return path


@pytest.mark.parametrize("shell_name", ["bash", "zsh", "fish"])
def test_script_completes_commands_options_values_and_open_ids(shell_name, tmp_path, incidents):
    script = script_for(shell_name, tmp_path)
    open_id, other_db = incidents["open"], incidents["other_db"]
    lines = [
        "incident-response ",
        "incident-response li",
        "incident-response list --",
        "incident-response list --severity ",
        "incident-response show ",
        "ir note ",
        f"incident-response --db {other_db} ack ",
        f"incident-response resolve --db {other_db} ",
        "incident-response critical ",
        "incident-response critical outage ",
        "incident-response critical outage production --t",
        f"incident-response status {open_id} ",
        f"incident-response export {open_id} --format ",
        "incident-response export INC --format=",
        "incident-response outbox ",
        "incident-response completion ",
        "incident-response completion --",
    ]
    got = dict(zip(lines, map(set, complete(shell_name, script, lines, shell_env())), strict=True))
    assert got["incident-response "] == _command_names() | SEVERITIES
    assert got["incident-response li"] == {"list"}
    assert {"--status", "--severity", "--type", "--env", "--limit", "--json", "--db", "--as"} <= got[
        "incident-response list --"]
    assert got["incident-response list --severity "] == SEVERITIES
    # Open incidents of the database the command would use; never the resolved one.
    assert got["incident-response show "] == got["ir note "] == {open_id}
    assert got[f"incident-response --db {other_db} ack "] == {incidents["other"]}
    assert got[f"incident-response resolve --db {other_db} "] == {incidents["other"]}
    assert got["incident-response critical "] == TYPES
    assert got["incident-response critical outage "] == ENVIRONMENTS
    assert got["incident-response critical outage production --t"] == {"--title"}
    assert got[f"incident-response status {open_id} "] == STATUSES
    assert got[f"incident-response export {open_id} --format "] == {"json", "md", "svg", "html"}
    # One word `--format=` (bash splits at "=" by default: the next test) completes whole.
    assert got["incident-response export INC --format="] == {
        f"--format={word}" for word in ("json", "md", "svg", "html")}
    assert got["incident-response outbox "] == {"retry"}
    assert got["incident-response completion "] == {"bash", "zsh", "fish"}
    assert "--incident-ids" not in got["incident-response completion --"]


def test_bash_completes_an_option_value_after_the_equals_sign_it_splits_off(tmp_path, incidents):
    script = script_for("bash", tmp_path)
    # bash splits `--format=j` into `--format`, `=`, `j` (COMP_WORDBREAKS); readline replaces
    # what follows the "=", so the reply is the value alone.
    got = run_bash(script, [["incident-response", "export", "X", "--format", "=", "j"],
                            ["incident-response", "export", "X", "--format", "="],
                            ["incident-response", "--db", "=", incidents["other_db"], "show", ""]], shell_env())
    assert got == [["json"], ["json", "md", "svg", "html"], [incidents["other"]]]


@pytest.mark.parametrize("shell_name", ["bash", "zsh", "fish"])
def test_subcommands_of_a_command_complete_without_editing_the_script(shell_name, tmp_path):
    """A parser like the one `config check|show` brings: its script (rendered from the toy
    parser) completes the inner subcommands and their options in the real shell."""
    shell(shell_name)
    script = tmp_path / f"toy.{shell_name}"
    script.write_text(completion.RENDER[shell_name](toy_parsers()))
    lines = ["incident-response con", "incident-response config ", "incident-response config check --",
             "incident-response config check --level ", "incident-response action ", "incident-response export X -o "]
    (tmp_path / "handover.md").write_text("")
    env = shell_env()
    got = complete(shell_name, script, [line.replace(" -o ", f" -o {tmp_path}/han") for line in lines], env)
    assert got[0] == ["config"]
    assert set(got[1]) == {"check", "show"}
    assert set(got[2]) == {"--help", "--online", "--level"}
    assert set(got[3]) == {"quick", "full"}
    assert set(got[4]) == {"add", "done"}
    assert [Path(path).name for path in got[5]] == ["handover.md"]


@pytest.mark.parametrize("shell_name", ["zsh", "fish"])
def test_installed_as_the_readme_says_the_shell_loads_it_by_itself(shell_name, tmp_path, incidents):
    script = script_for(shell_name, tmp_path).read_text()
    lines = ["incident-response li", "incident-response show "]
    if shell_name == "zsh":
        # incident-response completion zsh > ~/.zfunc/_incident-response, ~/.zfunc on fpath before compinit
        functions = tmp_path / "home" / ".zfunc"
        functions.mkdir(parents=True)
        (functions / "_incident-response").write_text(script)
        zshrc = tmp_path / "zshrc"
        zshrc.write_text(f"fpath=({shlex.quote(str(functions))} $fpath); autoload -Uz compinit && compinit -u -D\n")
        got = run_zsh(zshrc, lines, shell_env())
    else:
        # incident-response completion fish > ~/.config/fish/completions/incident-response.fish
        folder = Path(os.environ["XDG_CONFIG_HOME"]) / "fish" / "completions"
        folder.mkdir(parents=True)
        (folder / "incident-response.fish").write_text(script)
        got = run_fish(None, lines, shell_env())
    assert got == [["list"], [incidents["open"]]]

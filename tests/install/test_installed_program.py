"""The program as a user gets it: the wheel built from this checkout, installed with pipx into
a fresh venv outside the checkout, run from a folder of its own with its own HOME.

An editable install (what `make run` does) hides a wheel that lacks a subpackage or a data
file; only a real install from the wheel shows it.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.tui.test_live_pty import Terminal

# One build and install per worker that runs any of these: under xdist's --dist loadgroup
# they all go to one worker.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("installed-program")]

ROOT = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
PACKAGES = ("playbooks", "store", "integrations", "automation", "reports", "tui")
TITLE = "Checkout down"
NOTE = "DB pool at max connections since 14:02; rolled back deploy 4711"
INCIDENT_ID = re.compile(r"INC-\d{4}-\d{4}-\d{3}")
# Building a wheel and installing its dependencies can take minutes on a cold package cache.
INSTALL_TIMEOUT = 900


@dataclass
class Installed:
    wheel: Path
    venv: Path  # pipx's venv for the program
    program: Path  # the `incident-response` pipx put on the user's PATH
    home: Path
    cwd: Path  # a folder of the user's, outside the checkout
    env: dict[str, str]


def unavailable(reason: str):
    if IN_CI:
        pytest.fail(f"the installed-program test must run under CI=true: {reason}")
    pytest.skip(reason)


def tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def copy_of_the_checkout(target: Path) -> Path:
    """The files git sees (tracked, plus new ones not ignored), copied. Building in the checkout
    itself would leave build/ behind, and a stale build/lib ships modules since deleted."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True)
    if listed.returncode != 0:
        unavailable(f"cannot list the checkout's files with git: {tail(listed.stderr)}")
    for name in filter(None, listed.stdout.split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the work tree is not shipped
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(source.read_bytes())
    return target


def without_the_checkout(environ: dict[str, str]) -> dict[str, str]:
    """The environment minus whatever would point a program at this checkout or its venv."""
    checkout_bin = str(Path(sys.executable).parent)
    env = {key: value for key, value in environ.items()
           if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV") and not key.startswith(("IR_", "PIPX_"))}
    env["PATH"] = os.pathsep.join(p for p in environ.get("PATH", "").split(os.pathsep) if p and p != checkout_bin)
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    base = tmp_path_factory.mktemp("installed")
    assert not base.resolve().is_relative_to(ROOT), "the install must happen outside the checkout"
    pipx = subprocess.run([sys.executable, "-m", "pipx", "--version"], capture_output=True, text=True)
    if pipx.returncode != 0:
        unavailable(f"pipx is not installed beside pytest (the `test` extra has it): {tail(pipx.stderr, 3)}")

    source = copy_of_the_checkout(base / "source")
    wheels = base / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", str(source), "-w", str(wheels)],
                           cwd=base, env=without_the_checkout(dict(os.environ)), capture_output=True, text=True,
                           timeout=INSTALL_TIMEOUT)
    found = sorted(wheels.glob("incident_response-*.whl"))
    if built.returncode != 0 or len(found) != 1:
        unavailable(f"the wheel could not be built: {tail(built.stdout + built.stderr)}")

    pipx_home, bin_dir = base / "pipx", base / "bin"
    # pip's download cache is left where it is: it changes nothing the program reads, and
    # saves downloading every dependency again on each run.
    install_env = dict(without_the_checkout(dict(os.environ)), PIPX_HOME=str(pipx_home), PIPX_BIN_DIR=str(bin_dir),
                       PIPX_MAN_DIR=str(base / "man"))
    install = subprocess.run([sys.executable, "-m", "pipx", "install", str(found[0])], cwd=base, env=install_env,
                             capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    if install.returncode != 0:
        unavailable(f"pipx could not install the wheel: {tail(install.stdout + install.stderr)}")

    home, cwd = base / "home", base / "work"
    cwd.mkdir()
    env = without_the_checkout(dict(os.environ))
    env.update(home_environment(home), USER="tester", TERM="xterm-256color",
               PATH=os.pathsep.join([str(bin_dir), env["PATH"]]))
    env.pop("SSH_CONNECTION", None)  # a local terminal, not the SSH frame rate
    for name in ("COLUMNS", "LINES"):  # set by xdist's workers; the size is the pty's
        env.pop(name, None)
    return Installed(wheel=found[0], venv=pipx_home / "venvs" / "incident-response",
                     program=bin_dir / "incident-response", home=home, cwd=cwd, env=env)


def home_environment(home: Path) -> dict[str, str]:
    return dict(HOME=str(home), XDG_DATA_HOME=str(home / ".local/share"), XDG_CONFIG_HOME=str(home / ".config"),
                XDG_STATE_HOME=str(home / ".local/state"), XDG_CACHE_HOME=str(home / ".cache"))


def run(installed: Installed, *args: str, check: bool = True, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess:
    result = subprocess.run([str(installed.program), *args], cwd=installed.cwd, env=env or installed.env,
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result


@pytest.fixture(scope="module")
def declared(installed) -> str:
    result = run(installed, "critical", "outage", "production", "--title", TITLE, "--no-tui")
    incident_id = result.stdout.strip()
    assert INCIDENT_ID.fullmatch(incident_id), result.stdout
    return incident_id


def test_the_wheel_ships_every_file_of_every_package(installed):
    listed = subprocess.run(["git", "ls-files", *PACKAGES], cwd=ROOT, capture_output=True, text=True, check=True)
    tracked = [name for name in listed.stdout.split() if not name.endswith(".md")]
    assert "tui/command_center.tcss" in tracked and "tui/screens/__init__.py" in tracked
    shipped = set(zipfile.ZipFile(installed.wheel).namelist())
    assert [name for name in tracked if name not in shipped] == []


def test_the_program_runs_from_the_pipx_venv_not_the_checkout(installed):
    python = installed.venv / "bin" / "python"
    code = "import json, playbooks, store, tui; print(json.dumps([m.__file__ for m in (playbooks, store, tui)]))"
    result = subprocess.run([str(python), "-c", code], cwd=installed.cwd, env=installed.env, capture_output=True,
                            text=True, check=True)
    for module_file in map(Path, json.loads(result.stdout)):
        assert module_file.is_relative_to(installed.venv), module_file
        assert not module_file.resolve().is_relative_to(ROOT), module_file
    # The program on PATH is pipx's, which runs the venv's interpreter.
    assert installed.program.resolve().is_relative_to(installed.venv.resolve())


def test_version_and_help(installed):
    assert run(installed, "--version").stdout == f"incident-response {VERSION}\n"
    shown = run(installed, "--help").stdout
    assert shown.startswith("usage: incident-response")
    for command in ("list", "show", "note", "ack", "export", "audit", "report", "backup"):
        assert re.search(rf"^\s+{command}\s", shown, re.MULTILINE), (command, shown)


def test_a_user_works_an_incident_from_the_shell(installed, declared):
    listed = run(installed, "list").stdout
    assert declared in listed and TITLE in listed

    # The built-in playbook's checklist: TOML the program reads from its installed package.
    shown = run(installed, "show", declared).stdout
    assert declared in shown and TITLE in shown and "SEV-1" in shown
    assert "Confirm incident scope and impact" in shown

    assert run(installed, "note", declared, NOTE).stdout.startswith(f"Noted on {declared} ")
    assert run(installed, "ack", declared).stdout.strip() == f"{declared} acknowledged by tester"
    detail = json.loads(run(installed, "show", declared, "--json").stdout)
    assert [e["summary"] for e in detail["timeline"] if e["kind"] == "note"] == [NOTE]
    assert detail["acknowledged_at"] is not None

    handover = run(installed, "export", declared, "--format", "md").stdout
    assert handover.startswith(f"# Handover: {declared} — {TITLE}")
    assert NOTE in handover

    audit = run(installed, "audit", "verify").stdout
    assert audit.startswith("audit ok:") and "hash chain intact" in audit

    report = json.loads(run(installed, "report", "--format", "json").stdout)
    assert report["total"] >= 1 and report["by_severity"]["SEV-1"] >= 1

    # Everything went to the user's data dir; nothing into the folder they ran it from.
    assert (installed.home / ".local/share/incident-response/incidents.db").is_file()
    assert list(installed.cwd.iterdir()) == []


def exit_status(terminal: Terminal, timeout: float) -> int | None:
    """The program's exit status, reading the pty meanwhile: a full pty buffer would block the
    program's last writes (a 160x48 repaint, the terminal restored), and so its exit."""
    deadline = time.monotonic() + timeout
    while terminal.proc.poll() is None and time.monotonic() < deadline:
        terminal.pump(0.05)
    return terminal.proc.poll()


def test_the_command_center_shows_the_incident_and_q_quits(installed, declared, monkeypatch):
    monkeypatch.chdir(installed.cwd)  # the pty's child starts in the user's folder
    # 160 columns: at 80 the dashboard shortens ids to their date and number.
    terminal = Terminal([str(installed.program)], installed.env, size=(160, 48))
    try:
        assert terminal.wait_for("Active Incidents (1)", timeout=60) is not None, terminal.text()[-2000:]
        for needle in (declared, TITLE, "SEV-1"):
            assert terminal.wait_for(needle, timeout=15) is not None, (needle, terminal.text()[-2000:])
        terminal.send("q")
        assert exit_status(terminal, timeout=30) == 0, terminal.text()[-2000:]
    finally:
        terminal.close()


def test_a_new_team_runs_init_then_config_check(installed, tmp_path):
    # A HOME of its own: the other tests run on no configuration file at all.
    env = dict(installed.env, **home_environment(tmp_path / "newcomer"))
    config = tmp_path / "newcomer/.config/incident-response"
    written = run(installed, "init", "--playbooks", env=env).stdout
    assert f"Wrote {config / 'config.toml'} (owner-only)" in written
    assert (config / "config.toml").stat().st_mode & 0o077 == 0
    # --playbooks copies the built-in playbooks out of the installed package.
    shipped = {name.removeprefix("playbooks/builtin/") for name in zipfile.ZipFile(installed.wheel).namelist()
               if name.startswith("playbooks/builtin/") and name.endswith(".toml")}
    copied = {str(path.relative_to(config / "playbooks")) for path in (config / "playbooks").rglob("*.toml")}
    assert copied == shipped and "workflows/outage.toml" in copied
    assert f"Copied {len(shipped)} built-in playbook file(s)" in written

    checked = run(installed, "config", "check", env=env)
    assert checked.returncode == 0
    assert f"config: {config / 'config.toml'} - valid" in checked.stdout
    assert run(installed, "init", env=env, check=False).returncode == 2  # never overwritten without --force

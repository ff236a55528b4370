"""`incident-response --version`: the project's version, at once, in either form of the command line."""
import json
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from tui.cli import main

ROOT = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def version_output(argv, capsys) -> str:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


@pytest.mark.parametrize("argv", [["--version"], ["--db", "sqlite:///x.db", "--version"], ["--as", "alice", "--version"]])
def test_version_prints_the_installed_version(argv, capsys):
    assert version_output(argv, capsys) == f"incident-response {VERSION}\n"
    assert metadata.version("incident-response") == VERSION  # the installed metadata is the project's


def test_version_in_the_declare_form_declares_nothing(tmp_path, capsys):
    db = tmp_path / "incidents.db"
    out = version_output(["--db", f"sqlite:///{db}", "critical", "outage", "production", "--version"], capsys)
    assert out == f"incident-response {VERSION}\n"
    assert not db.exists()


def test_version_without_installed_metadata_reads_the_source_tree(monkeypatch, capsys):
    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", not_installed)
    assert version_output(["--version"], capsys) == f"incident-response {VERSION}\n"


def test_version_imports_nothing_heavy():
    code = (
        "import json, sys\n"
        "from tui.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit as exc:\n    code = exc.code\n"
        "heavy = ('textual', 'sqlalchemy', 'sqlmodel', 'pydantic', 'httpx', 'store.database', 'playbooks.loader')\n"
        "print(json.dumps([code, sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy)]))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    code, loaded = json.loads(result.stdout.splitlines()[-1])
    assert code == 0
    assert loaded == []
    assert result.stdout.splitlines()[0] == f"incident-response {VERSION}"

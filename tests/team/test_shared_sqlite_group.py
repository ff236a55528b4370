"""A team sharing one SQLite file on a jump host: `[store] group = "NAME"` in config.toml
makes the file (and the WAL and shared-memory files SQLite adds) 0660 and its folder
2770, all of that group; without it everything stays owner-only."""
from __future__ import annotations

import grp
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from playbooks.errors import PlaybookError
from store.database import open_database
from store.operations import IncidentStore

SYSTEM_PYTHON = "/usr/bin/python3"


def _a_group() -> grp.struct_group:
    """A group this process may hand files to that is not its own primary group."""
    for group in grp.getgrall():
        if group.gr_gid != os.getegid() and (os.geteuid() == 0 or group.gr_gid in os.getgroups()):
            return group
    pytest.skip("this user belongs to no group besides its primary one")


@pytest.fixture
def shared_root():
    """A folder every user can traverse (pytest's tmp_path is root-only), removed after."""
    root = Path(tempfile.mkdtemp(prefix="ir-shared-", dir="/tmp"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _config(tmp_path, monkeypatch, body: str) -> str | None:
    """Write config.toml and read it as every program does at its door: its [store] group."""
    from tui.configuration import load_checked_configuration

    config = tmp_path / "config.toml"
    config.write_text(body)
    monkeypatch.setenv("IR_CONFIG", str(config))
    return load_checked_configuration().store.group


def test_a_configured_group_shares_the_file_its_wal_and_its_folder(tmp_path, monkeypatch, policy, clock,
                                                                     shared_root):
    group = _a_group()
    configured = _config(tmp_path, monkeypatch, f'[store]\ngroup = "{group.gr_name}"\n')
    path = shared_root / "incidents" / "incidents.db"
    db = open_database(f"sqlite:///{path}", group=configured)
    try:
        IncidentStore(db, policy, clock).declare("critical", "outage", "production", actor="alice", title="shared")
        folder = path.parent.stat()
        assert (stat.S_IMODE(folder.st_mode), folder.st_gid) == (0o2770, group.gr_gid)
        for each in (path, path.with_name("incidents.db-wal"), path.with_name("incidents.db-shm")):
            info = each.stat()
            assert (stat.S_IMODE(info.st_mode), info.st_gid) == (0o660, group.gr_gid), each
    finally:
        db.dispose()
    if os.geteuid() != 0 or not os.path.exists(SYSTEM_PYTHON) or not shutil.which("runuser"):
        return
    # Another engineer in the group reads (which writes the shared-memory file) and takes
    # the write lock; someone outside the group cannot open it at all.
    probe = ("import sqlite3, sys\nconn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
             "conn.execute('BEGIN IMMEDIATE'); print(conn.execute('SELECT title FROM incident').fetchall())\n"
             "conn.execute('ROLLBACK')\n")
    member = subprocess.run(["runuser", "-u", "nobody", "-G", group.gr_name, "--", SYSTEM_PYTHON, "-c", probe,
                             str(path)], capture_output=True, text=True, timeout=30)
    assert member.returncode == 0, member.stderr
    assert member.stdout.strip() == "[('shared',)]"
    outsider = subprocess.run(["runuser", "-u", "nobody", "--", SYSTEM_PYTHON, "-c", probe, str(path)],
                              capture_output=True, text=True, timeout=30)
    assert outsider.returncode != 0 and "unable to open database file" in outsider.stderr


def test_a_file_made_owner_only_is_shared_once_the_group_is_configured(tmp_path, monkeypatch, shared_root):
    path = shared_root / "incidents" / "incidents.db"
    open_database(f"sqlite:///{path}").dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    group = _a_group()
    configured = _config(tmp_path, monkeypatch, f'[store]\ngroup = "{group.gr_name}"\n')
    open_database(f"sqlite:///{path}", group=configured).dispose()
    assert (stat.S_IMODE(path.stat().st_mode), path.stat().st_gid) == (0o660, group.gr_gid)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o2770


def test_without_a_group_the_file_stays_owner_only(tmp_path, monkeypatch, shared_root):
    configured = _config(tmp_path, monkeypatch, "[tui]\nexport_dir = \"~/handovers\"\n")
    assert configured is None
    path = shared_root / "incidents" / "incidents.db"
    open_database(f"sqlite:///{path}", group=configured).dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.stat().st_gid == os.getegid()


@pytest.mark.parametrize("body,expected", [
    ('[store]\ngroup = "no-such-group-xyz"\n', "'no-such-group-xyz' is not a group on this host; accepted: "),
    ("[store]\ngroup = 7\n", "config.toml: store.group is 7; accepted: a string"),
    ('store = "oncall"\n', "config.toml: store is 'oncall'; accepted: a table"),
])
def test_a_wrong_group_is_refused_in_one_sentence_and_creates_nothing(tmp_path, monkeypatch, shared_root, body,
                                                                       expected):
    path = shared_root / "incidents" / "incidents.db"
    with pytest.raises(PlaybookError) as refused:
        open_database(f"sqlite:///{path}", group=_config(tmp_path, monkeypatch, body))
    assert expected in str(refused.value) and "\n" not in str(refused.value)
    assert not path.parent.exists()


def test_the_cli_refuses_a_wrong_group_with_exit_2(tmp_path, shared_root):
    import sys

    config = tmp_path / "config.toml"
    config.write_text('[store]\ngroup = "no-such-group-xyz"\n')
    env = dict(os.environ, IR_CONFIG=str(config))
    result = subprocess.run([str(Path(sys.executable).parent / "incident-response"), "--db",
                             f"sqlite:///{shared_root / 'incidents' / 'incidents.db'}", "high", "outage",
                             "production", "--no-tui"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "is not a group on this host" in result.stderr
    assert not (shared_root / "incidents").exists()

"""`incident-response backup` and `restore`, run as a user would (issue 7, acceptance 4).

The incidents are written in-process (quick); every backup, restore and check is the
installed command in a subprocess."""
from __future__ import annotations

import gzip
import json
import re
from datetime import datetime

import pytest

from tests.e2e.test_cli import ir

NOW = "2024-01-18T15:00:00Z"


def seed(url: str) -> list[str]:
    from playbooks import load_policy
    from store.compliance import mark_exposure
    from store.database import open_database
    from store.operations import IncidentStore

    moment = datetime(2024, 1, 18, 14, 50, 0, 123456)
    store = IncidentStore(open_database(url), load_policy(), lambda: moment)
    first = store.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    second = store.declare("high", "security", "production", actor="sec", title="Credential stuffing")
    store.acknowledge(first.id, actor="bob")
    store.assign_role(first.id, "ic", "bob", actor="alice")
    store.tick(first.id, ["1", "2"], actor="bob")
    store.add_note(first.id, "DB pool exhausted — ünïcödé", actor="bob")
    store.post_status_update(first.id, "Fix deployed, monitoring recovery", actor="bob", affected="All users")
    store.start_remediation(first.id, "Connection pool increased", actor="bob")
    mark_exposure(store, second.id, ["personal_data"], actor="sec")
    store.db.dispose()
    return [first.id, second.id]


def seen_by_a_user(db: str, incident: str) -> tuple:
    return (json.loads(ir("list", "--status", "all", "--json", db=db, now=NOW).stdout),
            json.loads(ir("show", incident, "--json", db=db, now=NOW).stdout))


def one_line_refusal(result, words: str) -> None:
    assert result.returncode == 2 and result.stdout == "", result
    assert len(result.stderr.strip().splitlines()) == 1 and words in result.stderr, result.stderr


def test_backup_then_restore_into_a_new_store(db_url, tmp_path, monkeypatch):
    """The default form of each backend (SQLite file; JSON for PostgreSQL, which restores
    here into SQLite: across backends) and back, as seen through list, show and audit."""
    first, second = seed(db_url)
    native = "backup.db" if db_url.startswith("sqlite") else "backup.json"
    monkeypatch.chdir(tmp_path)  # FILE as people type it: relative to where they are
    line = ir("backup", native, db=db_url, now=NOW).stdout.strip()
    assert re.fullmatch(rf"Backed up 2 incidents, \d+ timeline events \(\d+ rows in \d+ tables, schema \d+\) to "
                        rf"{re.escape(native)} \((SQLite|JSON), (\d+) bytes\)", line), line
    assert int(re.search(r"(\d+) bytes", line).group(1)) == (tmp_path / native).stat().st_size
    assert oct((tmp_path / native).stat().st_mode & 0o777) == "0o600"

    new = f"sqlite:///{tmp_path / 'restored.db'}"
    restored = ir("restore", native, db=new, now=NOW).stdout.strip().splitlines()
    assert len(restored) == 2, restored
    assert restored[0].startswith("Restored 2 incidents, ") and f"from {native} (" in restored[0], restored
    assert restored[1].startswith("audit ok: ") and restored[1].endswith("hash chain intact"), restored
    assert seen_by_a_user(new, first) == seen_by_a_user(db_url, first)
    # Work goes on with the day's next number (the store tests check the chain goes on too).
    assert ir("low", "data", "development", "--no-tui", db=new, now=NOW).stdout.strip() == "INC-2024-0118-003"


def test_a_portable_json_backup_of_a_sqlite_store_restores(tmp_path):
    db = f"sqlite:///{tmp_path / 'incidents.db'}"
    first, _ = seed(db)
    backup_file = tmp_path / "portable.json.gz"
    assert "(JSON, " in ir("backup", str(backup_file), "--format", "json", db=db, now=NOW).stdout
    assert json.loads(gzip.decompress(backup_file.read_bytes()).splitlines()[0])["format"] == "incident-response backup"
    new = f"sqlite:///{tmp_path / 'restored.db'}"
    assert ir("restore", str(backup_file), db=new, now=NOW).stdout.splitlines()[1].startswith("audit ok:")
    shown = [ir("show", first, "--json", db=url, now=NOW).stdout for url in (db, new)]
    assert shown[0] == shown[1] and json.loads(shown[0])["timeline"]


def test_backup_keeps_an_existing_file_unless_forced(db_url, tmp_path):
    seed(db_url)
    target = tmp_path / "b.json"
    target.write_text("yesterday")
    one_line_refusal(ir("backup", str(target), "--format", "json", db=db_url, check=False),
                     f"{target} already exists; accepted: another file name, or --force to replace it")
    one_line_refusal(ir("backup", str(tmp_path / "x.bin"), "--format", "tar", db=db_url, check=False),
                     "--format tar is not known; accepted: sqlite, json")
    assert target.read_text() == "yesterday" and not (tmp_path / "x.bin").exists()
    if not db_url.startswith("sqlite"):
        one_line_refusal(ir("backup", str(tmp_path / "x.db"), "--format", "sqlite", db=db_url, check=False),
                         "a SQLite backup needs a SQLite store; accepted: --format json for PostgreSQL")
    assert ir("backup", str(target), "--format", "json", "--force", db=db_url, now=NOW).returncode == 0
    assert json.loads(target.read_text().splitlines()[0])["row_counts"]["incident"] == 2


@pytest.mark.parametrize("case", ["not empty", "cut", "missing"])
def test_restore_refusals_are_one_line_and_leave_nothing_behind(tmp_path, case):
    db = f"sqlite:///{tmp_path / 'incidents.db'}"
    first, _ = seed(db)
    ir("backup", str(tmp_path / "b.json"), "--format", "json", db=db, now=NOW)
    if case == "not empty":
        before = seen_by_a_user(db, first)
        one_line_refusal(ir("restore", str(tmp_path / "b.json"), db=db, check=False),
                         "the target store already holds 2 incidents; accepted: an empty store (a new --db)")
        assert seen_by_a_user(db, first) == before
        return
    source = tmp_path / ("cut.json" if case == "cut" else "missing.db")
    if case == "cut":
        source.write_bytes((tmp_path / "b.json").read_bytes()[:3000])
    fresh = tmp_path / "never.db"
    one_line_refusal(ir("restore", str(source), db=f"sqlite:///{fresh}", check=False),
                     "is not a readable backup (the file ends early" if case == "cut" else "there is no file")
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith("never.db")]  # no empty store left behind

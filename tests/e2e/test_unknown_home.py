"""A path starting with ~name of a user this host does not know is refused in one sentence
by every command that writes or reads a file a person names (it used to be an internal
error, or a folder literally named ~name)."""
from __future__ import annotations

import pytest

from tests.e2e.test_cli import ir


@pytest.mark.parametrize("words", [
    ["export", "{id}", "-o", "~nosuchuser-ir/e.json"],
    ["report", "--output", "~nosuchuser-ir/r.txt"],
    ["rca", "{id}", "--export", "md", "-o", "~nosuchuser-ir/r.md"],
    ["backup", "~nosuchuser-ir/b.db"],
    ["restore", "~nosuchuser-ir/b.db"],
])
def test_an_unknown_users_home_is_one_sentence(tmp_path, monkeypatch, words):
    monkeypatch.chdir(tmp_path)
    db = f"sqlite:///{tmp_path / 'a.db'}"
    incident = ir("high", "outage", "production", "--no-tui", db=db).stdout.strip()
    if words[0] == "restore":
        db = f"sqlite:///{tmp_path / 'new.db'}"
    result = ir(*[w.format(id=incident) for w in words], db=db, check=False)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "user this host does not know" in result.stderr
    assert not (tmp_path / "~nosuchuser-ir").exists()

"""The short id the dashboard shows (`0118-001`) works in every command that takes an id."""
from __future__ import annotations

import json

from tests.e2e.test_cli import db, ir  # noqa: F401 (db: the store on SQLite and PostgreSQL)

NOW = "2024-01-20T10:00:00Z"


def declare(db, now, title):
    return ir("high", "outage", "production", "--no-tui", "--title", title, db=db, now=now).stdout.strip()


def refused(result) -> str:
    """A refusal: exit 2 and one line on stderr, nothing on stdout."""
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_short_ids_resolve_when_unique_this_year_first_and_are_refused_when_ambiguous_or_unknown(db):
    older = declare(db, "2023-01-18T09:00:00Z", "Checkout down last year")
    oldest = declare(db, "2022-01-18T09:00:00Z", "Checkout down two years ago")
    only = declare(db, "2023-01-17T09:00:00Z", "Search slow")
    assert (older, oldest, only) == ("INC-2023-0118-001", "INC-2022-0118-001", "INC-2023-0117-001")

    # Two years end with 0118-001 and neither is this year's: which one is not guessed.
    sentence = refused(ir("show", "0118-001", db=db, now=NOW, check=False))
    assert "0118-001 names 2 incidents (INC-2023-0118-001, INC-2022-0118-001)" in sentence
    assert "accepted: one of their full ids" in sentence

    # Unique: the one incident that ends with it, in any status, by every command.
    shown = json.loads(ir("show", "0117-001", "--json", db=db, now=NOW).stdout)
    assert (shown["id"], shown["title"]) == (only, "Search slow")
    assert ir("ack", "0117-001", db=db, now=NOW).stdout.startswith(f"{only} acknowledged")
    assert ir("note", "0117-001", "index rebuilt", db=db, now=NOW).stdout.startswith(f"Noted on {only}")
    assert ir("resolve", "0117-001", db=db, now=NOW).stdout.strip() == f"{only} is now resolved"
    shown = json.loads(ir("show", "0117-001", "--json", db=db, now=NOW).stdout)
    assert shown["status"] == "resolved"
    assert [e["summary"] for e in shown["timeline"] if e["kind"] == "note"] == ["index rebuilt"]

    # The year-qualified form names one year's incident even when the short one is ambiguous.
    assert json.loads(ir("show", "2022-0118-001", "--json", db=db, now=NOW).stdout)["id"] == oldest

    # Once this year has one, the short id means this year's.
    current = declare(db, "2024-01-18T09:00:00Z", "Checkout down again")
    assert current == "INC-2024-0118-001"
    assert ir("ack", "0118-001", db=db, now=NOW).stdout.startswith(f"{current} acknowledged")
    assert json.loads(ir("show", "0118-001", "--json", db=db, now=NOW).stdout)["acknowledged_at"] is not None
    assert json.loads(ir("show", older, "--json", db=db, now=NOW).stdout)["acknowledged_at"] is None

    # Unknown: one sentence naming both accepted forms; nothing written.
    sentence = refused(ir("ack", "0119-001", db=db, now=NOW, check=False))
    assert sentence.endswith("no incident ends with 0119-001; accepted: a full id like INC-2026-0115-001 "
                             "or the short one the dashboard shows (0115-001)")
    assert "no incident INC-2021-0118-001" in refused(ir("show", "2021-0118-001", db=db, now=NOW, check=False))

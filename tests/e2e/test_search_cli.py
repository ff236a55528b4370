"""`incident-response search` as an engineer types it (a real subprocess), both backends:
ranked matches with where they matched, --json, --limit, refusals in one sentence, and
stored text printed as data."""
import json

from tests.e2e.test_cli import ir

NOW = "2024-01-18T15:00:00Z"


def declare(db, title, severity="high"):
    return ir(severity, "outage", "production", "--no-tui", "--title", title, db=db, now=NOW).stdout.strip()


def test_matches_are_ranked_with_where_they_matched(db_url):
    db = db_url
    in_note = declare(db, "Slow checkout pages")
    ir("note", in_note, "the replica lag grew to minutes", db=db, now=NOW)
    in_title = declare(db, "Replica lag on orders", severity="critical")
    ir("update", in_title, "Replica caught up after failover", db=db, now=NOW)
    declare(db, "Unrelated")
    lines = ir("search", "replica", "lag", db=db, now=NOW).stdout.splitlines()
    assert lines[0].split() == ["ID", "SEV", "STATUS", "IN", "TITLE"]
    assert lines[1].split()[:4] == [in_title, "SEV-1", "investigating", "title"]
    assert lines[2].split()[:4] == [in_note, "SEV-2", "investigating", "note"]
    assert lines[3].strip() == "the replica lag grew to minutes"  # the snippet of the note
    assert len(lines) == 4
    only = ir("search", "replica", "--limit", "1", db=db, now=NOW).stdout.splitlines()
    assert [line.split()[0] for line in only[1:] if line.startswith("INC-")] == [in_title]


def test_json_and_nothing_found(db_url):
    db = db_url
    incident = declare(db, "Certificate expired on the API gateway")
    document = json.loads(ir("search", "certificate", "--json", db=db, now=NOW).stdout)
    assert document["query"] == "certificate"
    assert document["method"] in ("fts5", "postgresql")
    (hit,) = document["incidents"]
    assert (hit["id"], hit["matched_in"], hit["title"]) == (incident, "title", "Certificate expired on the API gateway")
    assert ir("search", "unicorn", db=db, now=NOW).stdout.strip() == "No incident mentions unicorn."
    assert json.loads(ir("search", "unicorn", "--json", db=db, now=NOW).stdout)["incidents"] == []


def test_refusals_are_one_sentence(db_url):
    db = db_url
    declare(db, "anything")
    nothing = ir("search", '"*"', db=db, now=NOW, check=False)
    assert nothing.returncode == 2 and nothing.stdout == ""
    assert nothing.stderr.strip().endswith("accepted: text with letters or digits, like 'database connection pool'")
    bad = ir("search", "x", "--limit", "0", db=db, now=NOW, check=False)
    assert bad.returncode == 2 and "accepted: a whole number from 1 to 1000" in bad.stderr


def test_stored_text_is_printed_as_data(db_url, tmp_path):
    from store.database import open_database

    db = db_url
    incident = declare(db, "Outage [bold red]marked[/] <b>html</b>")
    # Planted past validation (a direct write): the terminal must see escapes, not a command.
    store = open_database(db)
    with store.write() as session:
        from store.models import Incident

        row = session.get(Incident, incident)
        row.title = "Outage \x1b[2J\u202ecleared [bold red]marked[/] <b>html</b>"
        session.add(row)
    store.dispose()
    out = ir("search", "outage", db=db, now=NOW).stdout
    assert "\x1b" not in out and "\u202e" not in out
    assert "Outage \\x1b[2J\\u202ecleared [bold red]marked[/] <b>html</b>" in out
    document = ir("search", "outage", "--json", db=db, now=NOW).stdout
    assert "\x1b" not in document and "\\u001b" in document
    assert json.loads(document)["incidents"][0]["title"].startswith("Outage \x1b[2J\u202ecleared")

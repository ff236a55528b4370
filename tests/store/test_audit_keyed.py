"""The keyed audit chain (issue 13, acceptance 6), on SQLite and PostgreSQL: with the audit
key, a chain recomputed by someone without it is found; an incident changed directly in
the database no longer matches the state its chain recorded; an anchor kept outside the
database finds a rewritten chain; `backup` warns when the chain fails."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from store.audit import Anchor, current_anchor, event_hash, event_mac, parse_anchor, use_audit_key, verify_chain
from store.audit_key import AuditKeyError, audit_key_from_environment
from store.migrations.v0001_initial import GENESIS_HASH
from store.models import TimelineEvent

KEY = b"correct horse battery staple 0123456789"
IR = str(Path(sys.executable).parent / "incident-response")
NOW = "2024-01-18T14:30:00Z"


@pytest.fixture
def keyed(store):
    use_audit_key(store.db, KEY)
    return store


def work(store):
    incident = store.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    store.tick(incident.id, ["1", "2"], actor="alice")
    store.add_note(incident.id, "DB connections at max", actor="bob")
    store.change_severity(incident.id, "high", actor="bob")
    store.acknowledge(incident.id, actor="carol")
    return incident


def verify(store, **options):
    with store.db.read() as session:
        return verify_chain(session, **options)


def tamper(store, sql, **params):
    # Raw SQL, as someone with write access to the database (but not the program) would do it.
    with store.db.write_engine.connect() as conn:
        conn.execute(text(sql), params)
        conn.commit()


def recompute_chain(store, *, summary_of: dict[int, str], macs: str) -> None:
    """What a forger who knows the code but not the key does: change some summaries, then
    hash every event again so each follows the one before; `macs` "keep" leaves the MACs as
    they were, "strip" removes them, "forge" signs with a key of the forger's own."""
    with store.db.read() as session:
        events = session.exec(select(TimelineEvent).order_by(TimelineEvent.seq)).all()
    previous = GENESIS_HASH
    for event in events:
        summary = summary_of.get(event.seq, event.summary)
        digest = event_hash(previous, event.seq, event.incident_id, event.at, event.actor, event.kind, summary,
                            event.data, event.state)
        mac = {"keep": event.mac, "strip": None, "forge": event_mac(b"the forger's own key material", digest)}[macs]
        tamper(store, "UPDATE timeline_event SET summary = :s, prev_hash = :p, hash = :h, mac = :m WHERE seq = :q",
               s=summary, p=previous, h=digest, m=mac, q=event.seq)
        previous = digest
    tamper(store, "UPDATE chain_head SET last_hash = :h WHERE id = 1", h=previous)


def test_a_keyed_chain_verifies_with_its_key_and_every_event_is_signed(keyed):
    work(keyed)
    result = verify(keyed, key=KEY)
    assert result.ok and result.keyed and result.events_checked == 6 and result.incidents_checked == 1
    assert result.sentence() == ("audit ok: 6 timeline events, hash chain intact; every event signed with the "
                                 "audit key")
    with keyed.db.read() as session:
        events = session.exec(select(TimelineEvent)).all()
    assert all(e.mac == event_mac(KEY, e.hash) for e in events)
    assert verify(keyed, key=b"another key of sixteen bytes or more").problem.startswith("timeline event #1 ")


@pytest.mark.parametrize("macs,says", [
    ("keep", "is not signed with this audit key: the chain was recomputed by someone without the key"),
    ("forge", "is not signed with this audit key"),
    ("strip", "timeline events #1..#6 are not signed with the audit key: written by a program without "
              "IR_AUDIT_KEY, or recomputed by someone without the key"),
])
def test_a_chain_recomputed_without_the_key_is_found_with_it(keyed, macs, says):
    work(keyed)
    recompute_chain(keyed, summary_of={3: "DB connections fine"}, macs=macs)
    assert verify(keyed).ok  # without the key a recomputed chain looks intact: that is what the key is for
    result = verify(keyed, key=KEY)
    assert not result.ok and says in result.problem, result.problem
    assert result.seq == (3 if macs == "keep" else 1)  # kept MACs still vouch for the events before the change


def test_events_written_without_the_key_after_signed_ones_are_named(keyed):
    incident = work(keyed)
    use_audit_key(keyed.db, None)  # a teammate's program without IR_AUDIT_KEY
    keyed.add_note(incident.id, "written without the key", actor="dave")
    result = verify(keyed, key=KEY)
    assert not result.ok and result.problem.startswith("timeline events #7..#7 are not signed with the audit key")
    use_audit_key(keyed.db, KEY)  # the next signed event vouches for every hash before it
    keyed.add_note(incident.id, "signed again", actor="alice")
    assert verify(keyed, key=KEY).ok


@pytest.mark.parametrize("sql,changed", [
    ("UPDATE incident SET severity = 'SEV-4'", "severity 'SEV-2' -> 'SEV-4'"),
    ("UPDATE incident SET status = 'resolved'", "status 'investigating' -> 'resolved'"),
    ("UPDATE incident SET is_drill = true", "is_drill False -> True"),
    ("UPDATE incident SET title = 'Nothing happened'", "title 'Checkout down' -> 'Nothing happened'"),
])
def test_an_incident_changed_directly_in_the_database_is_found(store, sql, changed):
    incident = work(store)
    assert verify(store).ok
    tamper(store, sql + " WHERE id = :i", i=incident.id)
    result = verify(store)
    assert not result.ok and result.problem == (
        f"incident {incident.id} differs from the state its timeline event #6 recorded ({changed}): it was "
        "changed outside the program"), result.problem
    assert verify(store, incidents=False).ok  # the events alone are intact: the incident row is what changed


def test_a_changed_acknowledgement_time_is_found_on_a_keyed_chain(keyed):
    # The month's MTTA is built on acknowledged_at (and its stored duration): moving it is found.
    incident = work(keyed)
    tamper(keyed, "UPDATE incident SET acknowledged_at = '2024-01-18 14:31:00.000000' WHERE id = :i", i=incident.id)
    result = verify(keyed, key=KEY)
    assert not result.ok and "acknowledged_at" in result.problem and incident.id in result.problem


def test_an_anchor_kept_outside_finds_a_rewritten_chain(store):
    incident = work(store)
    with store.db.read() as session:
        anchor = current_anchor(session)
    assert anchor.seq == 6 and len(anchor.hash) == 64 and anchor.at is not None
    assert parse_anchor(anchor.line()) == Anchor(6, anchor.hash)
    store.add_note(incident.id, "later work keeps the anchor", actor="bob")
    assert verify(store, anchor=parse_anchor(anchor.line())).anchor_seq == 6
    assert verify(store, anchor=parse_anchor(anchor.hash)).ok  # a bare hash is found wherever it is

    recompute_chain(store, summary_of={4: "nothing to see"}, macs="strip")
    assert verify(store).ok  # unkeyed and recomputed: only the anchor can tell
    result = verify(store, anchor=parse_anchor(anchor.line()))
    assert not result.ok and result.problem.startswith(f"the anchor #6 {anchor.hash[:16]}... is not in the chain")


def test_an_anchor_finds_a_chain_cut_back(store):
    incident = work(store)
    with store.db.read() as session:
        anchor = current_anchor(session)
        before_last = session.get(TimelineEvent, 5)
    # Cut the newest event and move the head back: the chain is consistent, and shorter.
    tamper(store, "DELETE FROM timeline_event WHERE seq = 6")
    tamper(store, "UPDATE chain_head SET last_seq = 5, last_hash = :h WHERE id = 1", h=before_last.hash)
    tamper(store, "UPDATE incident SET version = version - 1, acknowledged_at = NULL, response_s = NULL, "
                  "status = 'investigating' WHERE id = :i", i=incident.id)
    result = verify(store, anchor=anchor)
    assert not result.ok and "is not in the chain" in result.problem


# -- the door: the key from the environment, the CLI ------------------------------------------

def test_the_key_comes_from_the_environment_or_an_owner_only_file(tmp_path):
    assert audit_key_from_environment({}) is None
    assert audit_key_from_environment({"IR_AUDIT_KEY": KEY.decode()}) == KEY
    key_file = tmp_path / "audit.key"
    key_file.write_text(KEY.decode() + "\n")
    key_file.chmod(0o600)
    assert audit_key_from_environment({"IR_AUDIT_KEY_FILE": str(key_file)}) == KEY
    key_file.chmod(0o640)
    with pytest.raises(AuditKeyError, match=r"only you can read \(mode 0640\); accepted: a file of yours with mode "
                                            r"0600 \(chmod 600 "):
        audit_key_from_environment({"IR_AUDIT_KEY_FILE": str(key_file)})
    link = tmp_path / "link.key"
    key_file.chmod(0o600)
    link.symlink_to(key_file)
    with pytest.raises(AuditKeyError, match="accepted: a regular file readable by its owner alone, not a symlink"):
        audit_key_from_environment({"IR_AUDIT_KEY_FILE": str(link)})
    with pytest.raises(AuditKeyError, match="is 5 bytes long; accepted: at least 16 bytes"):
        audit_key_from_environment({"IR_AUDIT_KEY": "short"})


def ir(db_url, *args, key: bytes | None = None, check=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("IR_AUDIT_KEY")}
    env.update(IR_NOW=NOW, **({"IR_AUDIT_KEY": key.decode()} if key else {}))
    result = subprocess.run([IR, "--db", db_url, *args], capture_output=True, text=True, env=env, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_the_cli_signs_with_the_key_anchors_and_verifies_against_the_anchor(db_url, tmp_path):
    declared = ir(db_url, "critical", "outage", "production", "--title", "Checkout down", key=KEY)
    incident_id = next(word for word in declared.stdout.split() if word.startswith("INC-"))
    ir(db_url, "severity", incident_id, "high", key=KEY)
    assert ir(db_url, "audit", "verify", key=KEY).stdout.strip().endswith("every event signed with the audit key")
    anchor_file = tmp_path / "anchor.txt"
    printed = ir(db_url, "audit", "anchor", "--output", str(anchor_file)).stdout.strip()
    assert printed == anchor_file.read_text().strip() and printed.startswith("audit anchor #2 ")
    assert (anchor_file.stat().st_mode & 0o777) == 0o600
    assert "already exists" in ir(db_url, "audit", "anchor", "--output", str(anchor_file), check=False).stderr
    as_json = json.loads(ir(db_url, "audit", "anchor", "--json").stdout)
    assert as_json["seq"] == 2 and as_json["hash"] == printed.split()[3]

    ir(db_url, "note", incident_id, "work goes on", key=KEY)
    assert "anchor #2 still in the chain" in ir(db_url, "audit", "verify", "--anchor", str(anchor_file),
                                                  key=KEY).stdout
    assert ir(db_url, "audit", "verify", "--anchor", printed.split()[3]).returncode == 0

    # Someone without the key changes the severity behind the program's back.
    from store.database import open_database

    db = open_database(db_url)
    with db.write_engine.connect() as conn:
        conn.execute(text("UPDATE incident SET severity = 'SEV-4' WHERE id = :i"), {"i": incident_id})
        conn.commit()
    db.dispose()
    failed = ir(db_url, "audit", "verify", "--json", key=KEY, check=False)
    assert failed.returncode == 1 and "severity 'SEV-2' -> 'SEV-4'" in json.loads(failed.stdout)["problem"]
    refused = ir(db_url, "audit", "verify", "--anchor", "not-an-anchor", check=False)
    assert refused.returncode == 2 and "holds no anchor; accepted: " in refused.stderr


def test_backup_warns_when_the_chain_fails(db_url, tmp_path):
    declared = ir(db_url, "critical", "outage", "production")
    incident_id = next(word for word in declared.stdout.split() if word.startswith("INC-"))
    clean = ir(db_url, "backup", str(tmp_path / "clean.json"), "--format", "json")
    assert clean.stderr == ""
    from store.database import open_database

    db = open_database(db_url)
    with db.write_engine.connect() as conn:
        conn.execute(text("UPDATE incident SET severity = 'SEV-4' WHERE id = :i"), {"i": incident_id})
        conn.commit()
    db.dispose()
    warned = ir(db_url, "backup", str(tmp_path / "tampered.json"), "--format", "json")
    assert (tmp_path / "tampered.json").exists() and warned.stdout.strip()  # written, and said so as ever
    lines = warned.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("incident-response: warning: the backup was written, but the "
                                                   "store it copies fails `audit verify` (incident ")
    assert "severity 'SEV-1' -> 'SEV-4'" in lines[0]
    # Keyed: a store written without the key fails verification with it, and backup says so.
    keyed = ir(db_url, "backup", str(tmp_path / "keyed.json"), "--format", "json", key=KEY)
    assert "events #1..#1 are not signed with the audit key" in keyed.stderr, keyed.stderr

"""Backup and restore (issue 7, acceptance 4): a store with everything in it goes to a
backup and back, into the same backend and into the other one (SQLite <-> PostgreSQL),
and every row of every table comes back as it was; the audit chain holds; new work
continues where the old store stopped. Refusals are one sentence and write nothing."""
from __future__ import annotations

import gzip
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine, insert, select, text
from sqlmodel import select as sm_select

from store.backup import legacy_json
from store import migrations
from store.audit import verify_chain
from store.backup import BackupRefused, backup, inspect_backup, restore, schema_tables, write_json
from store.database import open_database
from store.models import (
    Anomaly, ChainHead, Incident, MetricSample, Notification, TimelineEvent, VendorReference,
)
from store.operations import IncidentStore
from tests.support import lifetime

ENABLED = {"slack", "pagerduty", "email", "jira", "statuspage", "teams"}


# -- a store with everything in it ---------------------------------------------------------------

def build_rich_store(store: IncidentStore, clock) -> dict:
    """Several incidents worked the way people work them, written through the store's own
    operations (outbox rows through the router), plus the rows automation writes."""
    from automation.routing import route_by_matrix
    from store import compliance, review

    store.router = route_by_matrix(store.policy, ENABLED)
    odd = dict(seconds=61, microseconds=123457)  # every timestamp carries microseconds
    a = store.declare("critical", "outage", "production", actor="alice", title="Checkout down — «payments»",
                      service="checkout")
    clock.advance(**odd)
    store.acknowledge(a.id, actor="bob")
    store.assign_role(a.id, "ic", "alice", actor="alice")
    store.assign_role(a.id, "comms", "carol", actor="alice")
    store.assign_role(a.id, "comms", "dave", actor="alice")  # carol released
    store.tick(a.id, ["1", "2", "3"], actor="bob")
    clock.advance(**odd)
    store.add_note(a.id, "DB pool at max connections\n\ttabbed line, ünïcödé, emoji 🚨, quote \" and \\ backslash",
                   actor="bob")
    store.post_status_update(a.id, "We are investigating elevated errors at checkout.", actor="dave",
                             affected="All users")
    action = store.start_remediation(a.id, "Connection pool increased", actor="bob")
    clock.advance(**odd)
    store.finish_remediation(a.id, action.id, actor="bob", outcome="pool at 200, errors gone")
    store.change_status(a.id, "identified", actor="alice")
    store.change_severity(a.id, "high", actor="alice")
    review.update_rca(store, a.id, actor="alice", root_cause="Pool limit lowered by a deployment",
                      add_details=["Deploy 4711 changed the default"], add_factors=["No alert on pool usage"],
                      impact="Checkout failed for 100% of users", customers_affected="1,200", estimated_cost="45000.75")
    item = review.add_action_item(store, a.id, "Alert on connection pool usage", actor="alice", category="immediate",
                                  owner="bob", due="2024-02-01")
    review.add_action_item(store, a.id, "Load test the pool", actor="alice", category="long-term")
    review.ticket_action_item(store, item.id, actor="alice")
    review.update_review(store, a.id, actor="alice", scheduled_at="2024-01-19T10:00:00Z", facilitator="erin",
                         add_attendees=["alice", "bob"], notes={1: "Timeline agreed"}, add_lessons=["Watch the pool"])
    clock.advance(**odd)
    b = store.declare("high", "security", "production", actor="sec", title="Credential stuffing")
    compliance.mark_exposure(store, b.id, ["personal_data", "card_data"], actor="sec")
    clock.advance(**odd)
    compliance.mark_obligation_met(store, b.id, "GDPR", actor="dpo", note="Filed with the authority")
    c = store.declare("low", "data", "development", actor="dev", title="Stale report", service="reports")
    store.resolve(c.id, actor="dev")
    clock.advance(**odd)
    store.close(c.id, actor="dev")
    d = store.declare("medium", "performance", "staging", actor="perf")
    clock.advance(**odd)
    # What automation writes next to the incidents.
    with store.db.write() as session:
        session.add(MetricSample(source="host", metric="cpu_percent", at=clock(), value=0.1 + 0.2))
        session.add(MetricSample(source="host", metric="tiny", at=clock(), value=1e-300))
        session.add(MetricSample(source="host", metric="huge", at=clock(), value=1.7976931348623157e308))
        session.add(MetricSample(source="host", metric="third", at=clock(), value=1 / 3))
        session.add(Anomaly(at=clock(), metric="cpu_percent", value=97.25, baseline=41.0, rule="cpu",
                            description="CPU above 95%", incident_id=d.id))
        session.add(Anomaly(at=clock(), metric="memory", value=None, baseline=None, rule=None,
                            description="no incident"))
        session.add(VendorReference(incident_id=a.id, integration="pagerduty", reference="dedup-" + a.id))
        sent, dead = session.exec(sm_select(Notification).order_by(Notification.id).limit(2)).all()
        sent.state, sent.sent_at, sent.attempts = "sent", clock(), 1
        dead.state, dead.attempts, dead.last_error = "dead", 12, "Slack answered 404 (channel_not_found)."
    return {"ids": [a.id, b.id, c.id, d.id]}


def snapshot(db) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order, every column."""
    out = {}
    with db.read() as session:
        conn = session.connection()
        for table in schema_tables():
            key = list(table.primary_key.columns) or list(table.columns)
            out[table.name] = [tuple(row) for row in conn.execute(select(*table.columns).order_by(*key))]
    return out


def audit(db):
    with db.read() as session:
        return verify_chain(session)


@pytest.fixture
def new_url(request, tmp_path):
    """A new, empty database of either backend (several per test)."""
    made: list[tuple] = []

    def make(backend: str, name: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / (name + '.db')}"
        server = request.getfixturevalue("postgres_server")
        database = server.create_database()
        made.append((server, database))
        return server.url(database)

    yield make
    for server, database in made:
        server.drop_database(database)


def backend_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgres"


def open_store(url, policy, clock) -> IncidentStore:
    return IncidentStore(open_database(url), policy, clock)


def check_lossless_and_continuing(source: IncidentStore, target: IncidentStore, result, clock) -> None:
    expected = snapshot(source.db)
    restored = snapshot(target.db)
    assert restored.keys() == expected.keys()
    for name in expected:  # table by table, so a failure names the table
        assert restored[name] == expected[name], name
    assert sum(len(rows) for rows in expected.values()) > 60 and all(
        expected[name] for name in ("incident", "timeline_event", "checklist_step", "role_assignment",
                                    "status_update", "remediation_action", "action_item", "root_cause_analysis",
                                    "post_incident_review", "data_exposure", "compliance_obligation",
                                    "notification", "vendor_reference", "metric_sample", "anomaly",
                                    "incident_sequence", "chain_head"))
    assert result.audit.ok, result.audit.problem
    assert result.rows == {name: len(rows) for name, rows in expected.items()}
    assert "hash chain intact" in result.audit.sentence()
    # Work goes on where it stopped: the day's numbering, ids, the chain.
    last_ids = {name: max(row[0] for row in rows) for name, rows in expected.items()
                if rows and isinstance(rows[0][0], int) and name not in ("chain_head", "schema_version")}
    from automation.routing import route_by_matrix

    target.router = route_by_matrix(target.policy, ENABLED)
    clock.advance(minutes=1)
    new = target.declare("critical", "outage", "production", actor="zoe", title="After the restore")
    target.add_note(new.id, "still counting", actor="zoe")
    target.start_remediation(new.id, "restart", actor="zoe")
    assert new.id == "INC-2024-0118-005"  # four were declared that day before the backup
    after = snapshot(target.db)
    for name, last in last_ids.items():
        added = [row for row in after[name] if row not in expected[name]]
        assert all(row[0] > last for row in added), name
    assert len(after["checklist_step"]) > len(expected["checklist_step"])
    assert len(after["notification"]) > len(expected["notification"])
    # The new events hang off the restored chain: numbered on from its head, linked to its hash.
    _, last_seq, last_hash = expected["chain_head"][0]
    columns = [c.name for c in TimelineEvent.__table__.columns]
    added = [dict(zip(columns, row)) for row in after["timeline_event"] if row[0] > last_seq]
    assert [e["seq"] for e in added] == list(range(last_seq + 1, last_seq + 1 + len(added))) and len(added) >= 3
    assert added[0]["prev_hash"] == last_hash
    ok = audit(target.db)
    assert ok.ok and ok.events_checked == last_seq + len(added), ok.problem


# -- round trips -----------------------------------------------------------------------------------

@pytest.mark.parametrize("form", ["default", "json", "json.gz"])
def test_round_trip_into_the_same_backend_is_lossless(store, clock, policy, tmp_path, new_url, form):
    build_rich_store(store, clock)
    if form == "default":
        name = "backup.db" if store.db.is_sqlite else "backup.json"
        result = backup(store.db, tmp_path / name, now=clock())
        assert result.format == ("sqlite" if store.db.is_sqlite else "json")
    else:
        name = f"backup.{form}"
        result = backup(store.db, tmp_path / name, format="json", now=clock())
    target_file = tmp_path / name
    assert oct(target_file.stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary left over
    assert result.bytes == target_file.stat().st_size and result.rows["incident"] == 4
    assert f"Backed up 4 incidents, {result.rows['timeline_event']} timeline events" in result.sentence()
    target = open_store(new_url(backend_of(store.db.url), "same"), policy, clock)
    try:
        restored = restore(target.db, target_file)
        assert restored.sentence().startswith(f"Restored 4 incidents, {result.rows['timeline_event']} timeline events")
        check_lossless_and_continuing(store, target, restored, clock)
    finally:
        target.db.dispose()


@pytest.mark.parametrize("form", ["default", "json.gz"])
def test_round_trip_into_the_other_backend_is_lossless(store, clock, policy, tmp_path, new_url, form):
    """SQLite file -> PostgreSQL, JSON -> SQLite (and the other way)."""
    build_rich_store(store, clock)
    name = ("backup.db" if store.db.is_sqlite else "backup.json") if form == "default" else "backup.json.gz"
    backup(store.db, tmp_path / name, format=None if form == "default" else "json", now=clock())
    other = "postgres" if store.db.is_sqlite else "sqlite"
    target = open_store(new_url(other, "other"), policy, clock)
    try:
        restored = restore(target.db, tmp_path / name)
        assert restored.format == ("sqlite" if name.endswith(".db") else "json")
        check_lossless_and_continuing(store, target, restored, clock)
    finally:
        target.db.dispose()


def test_the_json_form_is_the_documented_document(store, clock, tmp_path, new_url, policy):
    """JSON Lines: a header line with the format version, then one table row per line."""
    build_rich_store(store, clock)
    backup(store.db, tmp_path / "b.json", format="json", now=clock())
    text_ = (tmp_path / "b.json").read_text(encoding="utf-8")
    assert text_.endswith("\n")
    header, *rows = [json.loads(line) for line in text_.splitlines()]  # every line is a whole JSON value
    assert (header["format"], header["format_version"]) == ("incident-response backup", 2)
    assert header["schema_version"] == migrations.head_version()
    assert header["source"] == ("sqlite" if store.db.is_sqlite else "postgresql")
    assert header["written_at"] == clock().isoformat(timespec="microseconds") + "Z"
    assert [t["name"] for t in header["tables"]] == [t.name for t in schema_tables()]  # every table, FK order
    assert all(set(row) == {"table", "row"} for row in rows)
    order = [t["name"] for t in header["tables"]]
    assert [row["table"] for row in rows] == sorted((row["table"] for row in rows), key=order.index)  # grouped
    incidents = next(t for t in header["tables"] if t["name"] == "incident")
    row = next(r["row"] for r in rows if r["table"] == "incident")
    assert list(row) == incidents["columns"]
    assert incidents["types"][incidents["columns"].index("declared_at")] == "datetime"
    assert row["declared_at"] == "2024-01-18T14:30:00.000000Z" and row["is_drill"] is False
    assert row["title"] == "Checkout down — «payments»"
    samples = [r["row"]["value"] for r in rows if r["table"] == "metric_sample"]
    assert samples == [0.1 + 0.2, 1e-300, 1.7976931348623157e308, 1 / 3]  # exact
    assert header["row_counts"] == {name: [r["table"] for r in rows].count(name) for name in order}
    # Re-encoded by a tool (ASCII escapes, other spacing), it still restores: each line goes through a real JSON reader.
    pretty = tmp_path / "pretty.json"
    pretty.write_text("".join(json.dumps(json.loads(line), ensure_ascii=True) + "\n" for line in text_.splitlines()),
                      encoding="utf-8")
    target = open_store(new_url("sqlite", "pretty"), policy, clock)
    try:
        assert restore(target.db, pretty).audit.ok
        assert snapshot(target.db) == snapshot(store.db)
    finally:
        target.db.dispose()


FIXTURES = Path(__file__).parent.parent / "fixtures"
FORMAT_1 = FIXTURES / "backup-format-1.json"  # written by the single-document writer before JSON Lines


@pytest.mark.parametrize("chunk", [None, 7])
def test_an_old_format_backup_restores_to_the_same_rows(store, clock, tmp_path, new_url, policy, monkeypatch, chunk):
    """The older single JSON document (format 1) still restores; its reader streams across any
    chunk boundary (7 characters: every value split across reads)."""
    build_rich_store(store, clock)
    assert json.loads(FORMAT_1.read_text(encoding="utf-8"))["format_version"] == 1
    if chunk:
        monkeypatch.setattr(legacy_json.JsonStream, "CHUNK", chunk)
    target = open_store(new_url(backend_of(store.db.url), "old-format"), policy, clock)
    try:
        result = restore(target.db, FORMAT_1)
        # The fixture was written at schema 8; a newer program brings it forward.
        forward = None if result.schema_version == migrations.head_version() else migrations.head_version()
        assert result.audit.ok and result.format == "json" and result.migrated_to == forward
        assert snapshot(target.db) == snapshot(store.db)
    finally:
        target.db.dispose()


def test_an_old_format_backup_of_an_old_schema_is_brought_forward(store, clock, tmp_path, new_url, policy):
    build_rich_store(store, clock)
    hashed_as_before_schema_7(store)
    source = FIXTURES / "backup-format-1-schema-3.json"
    assert inspect_backup(source).schema_version == OLD
    target = open_store(new_url(backend_of(store.db.url), "old-format-old-schema"), policy, clock)
    try:
        result = restore(target.db, source)
        assert (result.schema_version, result.migrated_to) == (OLD, migrations.head_version())
        assert result.audit.ok, result.audit.problem
        before, after = snapshot(store.db), snapshot(target.db)
        for name in ("incident", "timeline_event", "chain_head", "checklist_step", "notification", "incident_sequence"):
            assert after[name] == before[name], name
    finally:
        target.db.dispose()


def test_a_truncated_json_lines_backup_is_refused_naming_the_line(store, clock, tmp_path, new_url, policy):
    build_rich_store(store, clock)
    backup(store.db, tmp_path / "b.json", format="json", now=clock())
    lines = (tmp_path / "b.json").read_text(encoding="utf-8").splitlines(keepends=True)
    mid_row, at_a_line = tmp_path / "mid-row.json", tmp_path / "at-a-line.json"
    mid_row.write_text("".join(lines[:20]) + lines[20][:25], encoding="utf-8")
    at_a_line.write_text("".join(lines[:20]), encoding="utf-8")
    target = open_store(new_url("sqlite", "truncated"), policy, clock)
    try:
        for path, words in ((mid_row, "the file ends early in line 21, which stops mid-row"),
                            (at_a_line, "the file ends early after line 20: table ")):
            with pytest.raises(BackupRefused) as refused:
                restore(target.db, path)
            message = one_sentence(refused.value)
            assert message.startswith(f"{path} is not a readable backup ({words}"), message
            assert snapshot(target.db)["incident"] == []
    finally:
        target.db.dispose()


def test_a_backup_of_an_unknown_format_version_is_refused(store, clock, tmp_path):
    backup(store.db, tmp_path / "b.json", format="json", now=clock())
    text_ = (tmp_path / "b.json").read_text(encoding="utf-8")
    for version in (3, "2"):
        future = tmp_path / f"future-{version}.json"
        future.write_text(text_.replace('"format_version":2', f'"format_version":{json.dumps(version)}', 1),
                          encoding="utf-8")
        with pytest.raises(BackupRefused) as refused:
            inspect_backup(future)
        assert one_sentence(refused.value) == (
            f"{future} is a backup in format version {version!r}; accepted: format version 2 (JSON Lines) or 1 "
            "(one JSON document), a newer file needs a newer incident-response")


def test_a_big_store_is_streamed_not_held_in_memory(store, clock, tmp_path, new_url, policy):
    rows = 15_000
    with store.db.write() as session:
        session.connection().execute(insert(MetricSample.__table__), [
            {"source": "host", "metric": f"metric-{n % 50}", "at": clock(), "value": n / 7} for n in range(rows)])
    tracemalloc.start()
    try:
        backup(store.db, tmp_path / "big.json.gz", format="json", now=clock())
        _, dump_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        target = open_store(new_url("sqlite", "big"), policy, clock)
        result = restore(target.db, tmp_path / "big.json.gz")
        _, restore_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    try:
        assert result.rows["metric_sample"] == rows
        # All rows as Python objects would take about 5 MB; batches of 1000 take a fraction.
        assert dump_peak < 3_000_000 and restore_peak < 3_000_000, (dump_peak, restore_peak)
    finally:
        target.db.dispose()


# -- older backups are brought forward -------------------------------------------------------------

OLD = 3


def hashed_as_before_schema_7(store) -> None:
    """The store's chain as a program before schema 7 wrote it: no recorded incident state,
    no MACs, each hash over the event alone (so an older backup made from it verifies)."""
    from store.audit import event_hash
    from store.migrations.v0001_initial import GENESIS_HASH
    from store.models import TimelineEvent

    with store.db.write() as session:
        previous = GENESIS_HASH
        for event in session.exec(sm_select(TimelineEvent).order_by(TimelineEvent.seq)).all():
            event.state, event.mac, event.prev_hash = None, None, previous
            event.hash = previous = event_hash(previous, event.seq, event.incident_id, event.at, event.actor,
                                               event.kind, event.summary, event.data)
            session.add(event)
        session.execute(text("UPDATE chain_head SET last_hash = :h WHERE id = 1"), {"h": previous})


def old_store_from(store, path: Path) -> None:
    """A SQLite store at schema 3 holding what the current store holds (where schema 3 has it)."""
    hashed_as_before_schema_7(store)
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        migrations.migrate(conn, target=OLD)
        reflected = MetaData()
        reflected.reflect(conn)
        conn.execute(text("DELETE FROM chain_head"))
        with store.db.read() as session:
            source = session.connection()
            for table in schema_tables():
                old = reflected.tables.get(table.name)
                if old is None or table.name == "schema_version":
                    continue
                columns = [table.c[c.name] for c in old.columns]
                rows = [dict(r._mapping) for r in source.execute(select(*columns))]
                if rows:
                    conn.execute(old.insert(), rows)
    engine.dispose()


@pytest.mark.parametrize("form", ["sqlite", "json"])
def test_an_older_backup_is_brought_to_the_current_schema(store, clock, policy, tmp_path, new_url, form):
    build_rich_store(store, clock)
    old_db = tmp_path / "old.db"
    old_store_from(store, old_db)
    source = old_db
    if form == "json":
        source = tmp_path / "old.json"
        engine = create_engine(f"sqlite:///{old_db}")
        with engine.connect() as conn, conn.begin(), open(source, "w", encoding="utf-8") as out:
            reflected = MetaData()
            reflected.reflect(conn)
            write_json(conn, reflected.sorted_tables, out, schema_version=OLD, source="sqlite", written_at=clock())
        engine.dispose()
    assert inspect_backup(source).schema_version == OLD
    target = open_store(new_url(backend_of(store.db.url), "upgraded"), policy, clock)
    try:
        result = restore(target.db, source)
        assert (result.schema_version, result.migrated_to) == (OLD, migrations.head_version())
        assert f"schema {OLD}, upgraded to schema {migrations.head_version()}" in result.sentence()
        assert result.audit.ok, result.audit.problem
        before, after = snapshot(store.db), snapshot(target.db)
        for name in ("incident", "timeline_event", "chain_head", "checklist_step", "notification", "incident_sequence"):
            assert after[name] == before[name], name
        assert old_db.read_bytes()[:16] == b"SQLite format 3\x00"
        with sqlite3.connect(old_db) as conn:  # the user's file is left as it was
            assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == OLD
    finally:
        target.db.dispose()


# -- refusals: one sentence, nothing written -------------------------------------------------------

def one_sentence(exc: BaseException) -> str:
    message = str(exc)
    assert "\n" not in message and "accepted:" in message, message
    return message


@pytest.fixture
def backed_up(store, clock, tmp_path):
    build_rich_store(store, clock)
    sqlite_file = tmp_path / "b.db"
    if store.db.is_sqlite:
        backup(store.db, sqlite_file)
    else:  # the same store as a SQLite file, for the damaged-file cases
        scratch = open_database(f"sqlite:///{tmp_path / 'scratch.db'}")
        restore(scratch, backup(store.db, tmp_path / "tmp.json", format="json").path)
        backup(scratch, sqlite_file)
        scratch.dispose()
    backup(store.db, tmp_path / "b.json", format="json")
    return {"sqlite": sqlite_file, "json": tmp_path / "b.json"}


def test_restore_into_a_store_that_holds_incidents_is_refused(store, backed_up):
    before = snapshot(store.db)
    for source in backed_up.values():
        with pytest.raises(BackupRefused) as refused:
            restore(store.db, source)
        assert one_sentence(refused.value) == ("the target store already holds 4 incidents; accepted: an empty store "
                                               "(a new --db)")
    assert snapshot(store.db) == before


def test_empty_means_no_incident_and_no_timeline_event(backed_up, clock, policy, db_url, new_url):
    """A store with one global timeline event is not empty; one with only this host's metric
    samples (the command center samples as soon as it opens) is, and gets the backup's."""
    with_event = open_store(new_url(backend_of(db_url), "event"), policy, clock)
    sampled = open_store(new_url(backend_of(db_url), "sampled"), policy, clock)
    try:
        with with_event.db.write() as session:
            with_event.record_event(session, None, clock(), "watch", "detection_started", "Detection started")
        before = snapshot(with_event.db)
        with pytest.raises(BackupRefused) as refused:
            restore(with_event.db, backed_up["json"])
        assert one_sentence(refused.value) == ("the target store already holds 1 timeline event; accepted: an empty "
                                               "store (a new --db)")
        assert snapshot(with_event.db) == before
        with sampled.db.write() as session:
            session.add(MetricSample(source="host", metric="cpu_percent", at=clock(), value=12.5))
        assert restore(sampled.db, backed_up["json"]).audit.ok
        with sampled.db.read() as session:
            values = session.exec(sm_select(MetricSample.value).order_by(MetricSample.id)).all()
        assert values == [0.1 + 0.2, 1e-300, 1.7976931348623157e308, 1 / 3]
    finally:
        with_event.db.dispose()
        sampled.db.dispose()


def damaged(files: dict, tmp_path: Path) -> dict[str, tuple[Path, str]]:
    db_bytes = files["sqlite"].read_bytes()
    json_text = files["json"].read_text(encoding="utf-8")
    cases = {}

    def case(name: str, data: bytes, words: str) -> None:
        path = tmp_path / name
        path.write_bytes(data)
        cases[name] = (path, words)

    case("truncated.db", db_bytes[: len(db_bytes) // 2], "is damaged")
    scrambled = bytearray(db_bytes)
    for page in range(1, len(db_bytes) // 4096):
        scrambled[page * 4096 + 100: page * 4096 + 400] = os.urandom(300)
    case("scrambled.db", bytes(scrambled), "is damaged")
    case("header-only.db", db_bytes[:100], "")
    case("truncated.json", json_text[: len(json_text) * 2 // 3].encode(), "the file ends early")
    case("cut-at-a-line.json", "\n".join(json_text.splitlines()[:30]).encode() + b"\n", "the file ends early")
    case("truncated.json.gz", gzip.compress(json_text.encode())[:-40], "ends early")
    case("broken.json", json_text.replace('{"table":"incident","row":{', '{"table":"incident","row":{}', 1).encode(),
         "not a readable backup")
    newer = json_text.replace(f'"schema_version":{migrations.head_version()}',
                              f'"schema_version":{migrations.head_version() + 1}', 1)
    case("newer.json", newer.encode(), f"newer than this program's {migrations.head_version()}")
    lines = json_text.splitlines()
    missing_row = [line for line in lines
                   if not line.startswith('{"table":"incident","row":{"id":"INC-2024-0118-002","title":"Credential stuffing"')]
    assert len(missing_row) == len(lines) - 1
    case("row-removed.json", "\n".join(missing_row).encode(), "not a whole backup")
    case("other.json", b'{"incidents": []}', "not an incident-response backup")
    case("notes.txt", b"just some text\n", "neither a SQLite backup nor a JSON backup")
    case("empty.json", b"", "neither a SQLite backup nor a JSON backup")
    other = sqlite3.connect(tmp_path / "plain.sqlite")
    other.execute("CREATE TABLE t (x)")
    other.commit()
    other.close()
    cases["plain.sqlite"] = (tmp_path / "plain.sqlite", "not an incident-response store")
    return cases


def test_damaged_truncated_foreign_or_newer_files_are_refused_writing_nothing(clock, policy, tmp_path, backed_up,
                                                                             db_url, new_url):
    target = open_store(new_url(backend_of(db_url), "target"), policy, clock)
    try:
        empty = snapshot(target.db)
        for name, (path, words) in damaged(backed_up, tmp_path).items():
            with pytest.raises(BackupRefused) as refused:
                restore(target.db, path)
            message = one_sentence(refused.value)
            assert words in message, (name, message)
            assert snapshot(target.db) == empty, name
        with pytest.raises(BackupRefused) as refused:
            restore(target.db, tmp_path / "nothing-here.db")
        assert one_sentence(refused.value).startswith("there is no file")
        assert snapshot(target.db) == empty
    finally:
        target.db.dispose()


def test_an_existing_backup_file_is_replaced_only_with_force(store, clock, tmp_path):
    build_rich_store(store, clock)
    existing = tmp_path / "keep.json"
    existing.write_text("yesterday's backup")
    for form in ("json", "sqlite") if store.db.is_sqlite else ("json",):
        with pytest.raises(BackupRefused) as refused:
            backup(store.db, existing, format=form)
        assert one_sentence(refused.value) == (f"{existing} already exists; accepted: another file name, or --force "
                                               "to replace it")
        assert existing.read_text() == "yesterday's backup"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    os.chmod(existing, 0o644)
    result = backup(store.db, existing, format="json", force=True)
    assert result.rows["incident"] == 4 and json.loads(existing.read_text().splitlines()[0])["format"] == "incident-response backup"
    assert oct(existing.stat().st_mode & 0o777) == "0o600"


def test_other_backup_targets_refused(store, tmp_path):
    for target, words in ((tmp_path, "is a folder"), (tmp_path / "no" / "such" / "b.json", "does not exist")):
        with pytest.raises(BackupRefused) as refused:
            backup(store.db, target, format="json")
        assert words in one_sentence(refused.value)
    if store.db.is_sqlite:
        with pytest.raises(BackupRefused) as refused:
            backup(store.db, store.db.sqlite_path, force=True)
        assert "is the live database itself" in one_sentence(refused.value)
    else:
        with pytest.raises(BackupRefused) as refused:
            backup(store.db, tmp_path / "b.db", format="sqlite")
        assert one_sentence(refused.value) == ("a SQLite backup needs a SQLite store; accepted: --format json for "
                                               "PostgreSQL")
    with pytest.raises(BackupRefused) as refused:
        backup(store.db, tmp_path / "b.xml", format="xml")
    assert one_sentence(refused.value) == "backup format 'xml' is not known; accepted: sqlite, json"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith((".", "b."))] == []  # nothing written


# -- online: a backup while another process writes -------------------------------------------------

WRITER = textwrap.dedent("""
    import sys
    from playbooks import load_policy
    from store.database import open_database
    from store.operations import IncidentStore
    store = IncidentStore(open_database(sys.argv[1]), load_policy())
    n = 0
    while True:
        incident = store.declare("high", "outage", "production", actor="writer", title=f"load {n}")
        store.tick(incident.id, ["1"], actor="writer")
        store.add_note(incident.id, f"note {n}", actor="writer")
        n += 1
        print(n, flush=True)
""")


def test_a_backup_taken_while_another_process_writes_is_one_consistent_state(store, clock, policy, tmp_path,
                                                                          new_url):
    build_rich_store(store, clock)
    writer = lifetime.popen([sys.executable, "-c", WRITER, store.db.url], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    backups = []
    try:
        for attempt in range(3):
            for _ in range(5):  # let it write a few more between backups
                assert writer.stdout.readline(), writer.stderr.read() if writer.poll() is not None else "no output"
            name = f"live-{attempt}." + ("db" if store.db.is_sqlite else "json")
            backups.append(backup(store.db, tmp_path / name))
    finally:
        writer.kill()
        writer.wait(timeout=30)
    counts = [b.rows["incident"] for b in backups]
    assert counts == sorted(counts) and counts[0] > 4 and counts[-1] > counts[0], counts
    for number, taken in enumerate(backups):
        if taken.format == "sqlite":
            with sqlite3.connect(taken.path) as conn:
                assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
            assert not Path(f"{taken.path}-wal").exists()
        target = open_store(new_url(backend_of(store.db.url), f"live{number}"), policy, clock)
        try:
            result = restore(target.db, taken.path)
            assert result.audit.ok, result.audit.problem
            assert result.rows == taken.rows
            with target.db.read() as session:
                # Each declaration is whole: an incident with all its steps and its 'declared' event.
                incidents = session.exec(sm_select(Incident.id)).all()
                declared = session.exec(sm_select(TimelineEvent.incident_id).where(TimelineEvent.kind == "declared")
                                        ).all()
                assert sorted(incidents) == sorted(declared)
                head = session.get(ChainHead, 1)
                assert head.last_seq == result.rows["timeline_event"]
        finally:
            target.db.dispose()

"""Full-text search ("this happened before") on SQLite (FTS5) and PostgreSQL (tsvector):
titles, notes, status updates and root cause analyses are found, ranked, kept current by
every writer (the store, import, restore), and what is typed or stored is only ever text."""
from __future__ import annotations

import json

import pytest

from store.backup import backup, restore
from store.database import open_database
from store.operations import IncidentStore
from store.review import add_action_item, update_rca
from store.search import SearchRefused, search_incidents, similar_incidents, snippet
from store.transfer import import_incidents, parse_import


def _search(store, query, **kwargs):
    with store.db.read() as session:
        return search_incidents(session, query, **kwargs)


def _ids(store, query, **kwargs) -> list[str]:
    return [hit.id for hit in _search(store, query, **kwargs).hits]


def _declare(store, title, **kwargs):
    return store.declare(kwargs.pop("severity", "high"), kwargs.pop("type", "outage"), "production",
                         actor="alice", title=title, **kwargs)


def test_title_note_update_and_rca_are_each_found_with_where_it_matched(store):
    by_title = _declare(store, "Checkout latency spike")
    by_note = _declare(store, "Payments degraded")
    store.add_note(by_note.id, "Redis eviction storm after the deploy", actor="bob")
    by_update = _declare(store, "Login errors")
    store.post_status_update(by_update.id, "Mitigated by rotating the expired certificate", actor="carol")
    by_rca = _declare(store, "Search down")
    update_rca(store, by_rca.id, actor="dave", root_cause="Elasticsearch heap exhausted",
               root_cause_details=["shard rebalancing loop"])
    _declare(store, "Unrelated noise")

    assert _ids(store, "checkout") == [by_title.id]
    assert _ids(store, "eviction") == [by_note.id]
    assert _ids(store, "certificate") == [by_update.id]
    assert _ids(store, "heap") == [by_rca.id]
    assert _ids(store, "rebalancing") == [by_rca.id]  # a root cause detail counts too
    kinds = {hit.id: hit.kind for q in ("checkout", "eviction", "certificate", "heap")
             for hit in _search(store, q).hits}
    assert kinds == {by_title.id: "title", by_note.id: "note", by_update.id: "update", by_rca.id: "rca"}
    hit, = _search(store, "eviction").hits
    assert "Redis eviction storm" in hit.snippet and hit.title == "Payments degraded"
    assert (hit.severity, hit.status) == ("SEV-2", "investigating")
    assert _search(store, "eviction").method == ("fts5" if store.db.is_sqlite else "postgresql")


def test_stems_match_and_every_word_must_be_in_one_text(store):
    incident = _declare(store, "Database connections failing")
    assert _ids(store, "failed connection") == [incident.id]  # stems: failing/failed, connections
    assert _ids(store, "database unicorn") == []


def test_a_title_match_outranks_a_passing_note_and_more_matches_rank_higher(store):
    in_note = _declare(store, "Slow pages")
    store.add_note(in_note.id, "someone mentioned the kafka lag once", actor="bob")
    in_title = _declare(store, "Kafka consumer lag")
    everywhere = _declare(store, "Kafka brokers down")
    store.add_note(everywhere.id, "kafka partitions offline", actor="bob")
    update_rca(store, everywhere.id, actor="bob", root_cause="Kafka disk full")
    ranked = _search(store, "kafka").hits
    assert [hit.id for hit in ranked] == [everywhere.id, in_title.id, in_note.id]
    assert ranked[0].score > ranked[1].score > ranked[2].score
    assert _ids(store, "kafka", limit=1) == [everywhere.id]


def test_changes_are_indexed_as_they_are_written(store):
    incident = _declare(store, "Mystery")
    assert _ids(store, "thundering") == []
    store.add_note(incident.id, "thundering herd on the cache", actor="bob")
    assert _ids(store, "thundering") == [incident.id]
    store.post_status_update(incident.id, "Rate limiter enabled", actor="bob")
    assert _ids(store, "limiter") == [incident.id]
    update_rca(store, incident.id, actor="bob", root_cause="cron job stampede")
    assert _ids(store, "stampede") == [incident.id]
    update_rca(store, incident.id, actor="bob", root_cause="a retry storm")  # the old cause is no longer found
    assert _ids(store, "stampede") == [] and _ids(store, "retry storm") == [incident.id]


def test_imported_incidents_are_indexed(store):
    record = {"title": "Historic DNS resolver outage", "severity": "high", "type": "outage",
              "environment": "production", "status": "resolved", "detected_at": "2024-01-05T10:00:00Z",
              "declared_at": "2024-01-05T10:05:00Z", "resolved_at": "2024-01-05T12:00:00Z"}
    ids = import_incidents(store, parse_import(store, json.dumps([record])), actor="historian")
    assert _ids(store, "resolver") == ids


@pytest.mark.parametrize("form", ["default", "json"])
def test_a_restored_store_is_searchable(store, policy, clock, tmp_path, form):
    incident = _declare(store, "Queue backlog")
    store.add_note(incident.id, "consumer group rebalanced endlessly", actor="bob")
    store.post_status_update(incident.id, "Workers scaled out", actor="bob")
    update_rca(store, incident.id, actor="bob", root_cause="session timeout too short")
    name = "b.json" if form == "json" else ("b.db" if store.db.is_sqlite else "b.json")
    backup(store.db, tmp_path / name, format="json" if form == "json" else None, now=clock())
    target_url = f"sqlite:///{tmp_path / 'restored.db'}"
    target = IncidentStore(open_database(target_url), policy, clock)
    try:
        restore(target.db, tmp_path / name)
        for query in ("backlog", "rebalanced", "scaled", "timeout"):
            assert _ids(target, query) == [incident.id], query
    finally:
        target.db.dispose()


@pytest.mark.parametrize("query", [
    '"', 'NEAR(a b)', 'title:x OR', '*', "a' OR 1=1 --", "%_%", "checkout) AND (", "-checkout",
    "[bold]checkout[/]", "\x1b[31mcheckout",
])
def test_hostile_search_text_is_only_words(store, query):
    incident = _declare(store, "checkout x a b bold 31mcheckout")
    hits = _search(store, query).hits if any(c.isalnum() for c in query) else None
    if hits is None:
        with pytest.raises(SearchRefused, match="accepted: text with letters or digits"):
            _search(store, query)
    else:
        assert all(hit.id == incident.id for hit in hits)


def test_hostile_stored_text_comes_back_as_it_was(store):
    planted = "[red]NEAR(\"x\") <b>DROP</b> \\x1b"
    incident = _declare(store, f"Deadlock {planted}")
    hit, = _search(store, "deadlock").hits
    assert hit.title == f"Deadlock {planted}" and planted in hit.snippet


def test_nothing_to_search_for_is_one_sentence(store):
    with pytest.raises(SearchRefused, match=r"holds no word to search for; accepted:"):
        _search(store, "  -- ** ")


def test_similar_incidents_prefer_the_same_service_and_bring_cause_and_actions(store):
    past_same = _declare(store, "Checkout payment timeouts", service="checkout")
    update_rca(store, past_same.id, actor="bob", root_cause="Connection pool exhausted")
    add_action_item(store, past_same.id, "Alert on pool saturation", actor="bob", category="short-term")
    past_other = _declare(store, "Payment timeouts in reporting", service="reporting", type="performance")
    _declare(store, "Unrelated disk alarm", service="storage")
    current = _declare(store, "Payment timeouts again", service="checkout")
    with store.db.read() as session:
        similar = similar_incidents(session, current.id)
    assert [s.hit.id for s in similar] == [past_same.id, past_other.id]
    first = similar[0]
    assert first.same_service and first.same_type
    assert first.root_cause == "Connection pool exhausted"
    assert first.corrective_actions == ["Alert on pool saturation"]
    assert similar[1].root_cause is None and similar[1].corrective_actions == []
    assert current.id not in [s.hit.id for s in similar]


def test_snippet_shows_the_words_in_context():
    body = "x " * 100 + "the replica fell behind by minutes " + "y " * 100
    text = snippet(body, ["replica"], width=40)
    assert "replica fell behind" in text and text.startswith("…") and text.endswith("…")
    assert snippet("line one\nline two", ["two"]) == "line one line two"

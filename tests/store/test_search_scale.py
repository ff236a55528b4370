"""Similar incidents on a store where the incident's words are common: what is ranked is
narrowed to the rarest words (store/search.py SIMILAR_RANKED), and the closest incident still
comes first — on SQLite (where the narrowing runs) and PostgreSQL (which ranks every match)."""
from __future__ import annotations

from store import search
from store.search import similar_incidents


def _declare(store, title, service):
    return store.declare("high", "outage", "production", actor="alice", title=title, service=service)


def test_common_words_narrow_to_the_rarest_and_the_closest_incident_comes_first(store, monkeypatch):
    monkeypatch.setattr(search, "SIMILAR_RANKED", 2)  # as if "replication" were in tens of thousands of texts
    for n in range(5):
        _declare(store, f"Replication stalled on shard {n}", "orders")
    closest = _declare(store, "Catalog replication lag", "catalog")
    _declare(store, "Lag in search indexing", "search")
    current = _declare(store, "Replication lag on catalog", "catalog")
    with store.db.read() as session:
        similar = similar_incidents(session, current.id)
        if store.db.is_sqlite:
            words, any_word = search._distinctive(session.connection(), current.id, ["replication", "lag", "catalog"])
            # Others' texts: catalog 1, lag 2, replication 6: catalog and lag (3) would pass 2.
            assert (words, any_word) == (["catalog"], True)
    assert similar and similar[0].hit.id == closest.id and similar[0].same_service
    assert current.id not in [s.hit.id for s in similar]


def test_when_even_the_rarest_word_is_common_the_words_must_be_said_together(store, monkeypatch):
    monkeypatch.setattr(search, "SIMILAR_RANKED", 2)
    for n in range(3):
        _declare(store, f"Disk latency on node {n}", "storage")
        _declare(store, f"Queue latency in worker {n}", "queue")
    closest = _declare(store, "Disk queue latency", "storage")
    current = _declare(store, "Disk queue latency again", "storage")
    with store.db.read() as session:
        similar = similar_incidents(session, current.id)
        if store.db.is_sqlite:
            # Others' texts: again 0 (only this one says it), disk 4, queue 4, latency 7: each past 2;
            # disk and queue together: 1.
            words, any_word = search._distinctive(session.connection(), current.id, ["disk", "queue", "latency", "again"])
            assert set(words) == {"disk", "queue"} and any_word is False
    assert similar[0].hit.id == closest.id

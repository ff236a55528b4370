"""The pinned summary / next steps, on SQLite and PostgreSQL: each pin is a timeline event on
the audit chain, the latest is the pinned one, text is checked like a note, and a refused pin
writes nothing."""
from __future__ import annotations

import json

import pytest
from sqlmodel import select

from playbooks.errors import PolicyValueError
from store.audit import verify_chain
from store.errors import ChangeRefused, IncidentNotFound
from store.models import TimelineEvent
from store.queries import incident_detail
from store.transfer import export_json, parse_import
from tests.properties.digest import table_digest


def _detail(store, incident_id):
    with store.db.read() as session:
        return incident_detail(session, store.policy, incident_id, store.now())


def test_none_is_pinned_until_someone_pins_one(store):
    incident = store.declare("high", "outage", "production", actor="alice", title="Checkout down")
    assert _detail(store, incident.id)["pinned_summary"] is None


def test_the_latest_pin_is_the_pinned_one_and_every_pin_is_on_the_chain(store, clock):
    incident = store.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    first = store.pin_summary(incident.id, "DB pool exhausted", "Raise the pool", actor="alice")
    clock.advance(minutes=7)
    second = store.pin_summary(incident.id, "  Pool raised; errors falling\nreplica lag 3s  ", None, actor="bob")
    assert second.seq > first.seq and second.kind == "summary_pinned"
    pinned = _detail(store, incident.id)["pinned_summary"]
    assert pinned == {"summary": "Pool raised; errors falling\nreplica lag 3s", "next_steps": None, "by": "bob",
                      "at": _detail(store, incident.id)["timeline"][-1]["at"], "seq": second.seq}
    with store.db.read() as session:
        rows = session.exec(select(TimelineEvent).where(TimelineEvent.incident_id == incident.id,
                                                        TimelineEvent.kind == "summary_pinned")
                            .order_by(TimelineEvent.seq)).all()
        assert [(e.actor, e.summary, json.loads(e.data)) for e in rows] == [
            ("alice", "Summary: DB pool exhausted\nNext steps: Raise the pool",
             {"summary": "DB pool exhausted", "next_steps": "Raise the pool"}),
            ("bob", "Summary: Pool raised; errors falling\nreplica lag 3s",
             {"summary": "Pool raised; errors falling\nreplica lag 3s", "next_steps": None}),
        ]
        assert verify_chain(session).ok
    # A pin tells no stakeholder anything: the team's own note.
    assert _detail(store, incident.id)["notifications"] == []


def test_stored_text_is_kept_as_typed_markup_and_all(store):
    incident = store.declare("high", "outage", "production", actor="alice")
    store.pin_summary(incident.id, "[bold]x[/] **not** <b>html</b>", "[@click=app.quit]q[/]", actor="alice")
    pinned = _detail(store, incident.id)["pinned_summary"]
    assert (pinned["summary"], pinned["next_steps"]) == ("[bold]x[/] **not** <b>html</b>", "[@click=app.quit]q[/]")


@pytest.mark.parametrize(("summary", "next_steps", "message"), [
    ("", "x", r"^the summary is empty; accepted: some text$"),
    ("ok\x1b[2J", None, r"^the summary contains the control character '\\x1b'"),
    ("ok", "a\u202eb", r"^the next steps contains the bidi control"),
    ("x" * 10_001, None, r"^the summary is 10001 characters long; accepted: at most 10000$"),
])
def test_a_bad_summary_is_refused_and_writes_nothing(store, summary, next_steps, message):
    incident = store.declare("high", "outage", "production", actor="alice")
    before = table_digest(store.db)
    with pytest.raises(PolicyValueError, match=message):
        store.pin_summary(incident.id, summary, next_steps, actor="alice")
    assert table_digest(store.db) == before


def test_an_unknown_or_closed_incident_is_refused(store):
    with pytest.raises(IncidentNotFound):
        store.pin_summary("INC-2024-0101-999", "x", actor="alice")
    incident = store.declare("low", "outage", "staging", actor="alice")
    store.resolve(incident.id, actor="alice")
    store.pin_summary(incident.id, "Resolved by a restart", actor="alice")  # resolved still takes one
    store.close(incident.id, actor="alice")
    with pytest.raises(ChangeRefused, match=r"is closed, so it cannot take a new summary; accepted: notes only$"):
        store.pin_summary(incident.id, "later", actor="alice")
    assert _detail(store, incident.id)["pinned_summary"]["summary"] == "Resolved by a restart"


def test_the_json_export_carries_it_and_imports_again(store):
    incident = store.declare("high", "outage", "production", actor="alice", title="Checkout down")
    store.pin_summary(incident.id, "Failover done", "Watch error rate", actor="alice")
    document = json.loads(export_json(_detail(store, incident.id)))
    assert document[0]["pinned_summary"]["next_steps"] == "Watch error rate"
    assert len(parse_import(store, json.dumps(document))) == 1  # describes, does not define: the import accepts it

"""What the command center announces: timeline events in, toasts out (tui/announcements.py)."""
from __future__ import annotations

from store.dashboard import RecentEvent
from tui.announcements import MAX_TOASTS, announce, new_incidents


def event(seq, kind, actor="bob", incident="INC-1", summary="", level="SEV-3", title="Checkout down", **data):
    """`level`: the incident's severity now; `data`: the event's recorded fields."""
    return RecentEvent(seq, incident, kind, actor, summary, data, level, title)


def test_a_new_sev1_or_sev2_is_announced_and_a_sev3_is_not():
    news = announce([event(1, "declared", incident="INC-1", severity="SEV-1", title="Payments down"),
                     event(2, "declared", incident="INC-2", severity="SEV-2"),
                     event(3, "declared", incident="INC-3", severity="SEV-3")], actor="alice", open_incident=None)
    assert [(n.title, n.incident_id, n.level) for n in news] == [
        ("New SEV-1", "INC-1", "warning"), ("New SEV-2", "INC-2", "warning")]
    assert news[0].message == "INC-1: Payments down — declared by bob"


def test_the_declared_severity_counts_not_the_current_one():
    # Declared SEV-3 and raised since: the declaration is not a new SEV-1 (the raise is announced).
    news = announce([event(1, "declared", level="SEV-1", severity="SEV-3"),
                     event(2, "severity_changed", level="SEV-1", summary="Escalated SEV-3 -> SEV-1",
                           **{"from": "SEV-3", "to": "SEV-1"})], actor="alice", open_incident=None)
    assert [n.title for n in news] == ["Now SEV-1: INC-1"]
    assert "Escalated SEV-3 -> SEV-1" in news[0].message and "(by bob)" in news[0].message


def test_a_downgrade_elsewhere_is_not_news_but_on_the_open_incident_it_is():
    downgrade = event(5, "severity_changed", summary="Downgraded SEV-1 -> SEV-2", **{"from": "SEV-1", "to": "SEV-2"})
    assert announce([downgrade], actor="alice", open_incident=None) == []
    news = announce([downgrade], actor="alice", open_incident="INC-1")
    assert [(n.title, n.message, n.level) for n in news] == [
        ("bob changed INC-1", "Downgraded SEV-1 -> SEV-2", "warning")]


def test_escalation_and_missed_update_are_announced_whoever_has_what_open():
    news = announce([event(1, "escalated", actor="automation", summary="Not acknowledged within 5 minutes"),
                     event(2, "update_overdue", actor="automation", incident="INC-2",
                           summary="Status update overdue since 14:30 UTC")], actor="alice", open_incident="INC-9")
    assert [(n.title, n.level) for n in news] == [("Escalated: INC-1", "warning"), ("Update overdue: INC-2", "warning")]
    assert news[1].message == "Checkout down — Status update overdue since 14:30 UTC"


def test_own_changes_are_never_announced():
    mine = [event(1, "declared", actor="alice", severity="SEV-1"), event(2, "note", actor="alice", summary="hi"),
            event(3, "status_changed", actor="alice", summary="identified")]
    assert announce(mine, actor="alice", open_incident="INC-1") == []


def test_someone_elses_note_on_another_incident_is_not_announced():
    assert announce([event(1, "note", incident="INC-2", summary="looking")], actor="alice",
                    open_incident="INC-1") == []


def test_a_long_multi_line_note_is_one_short_line():
    news = announce([event(1, "note", summary="first line\nsecond " + "x" * 400)], actor="alice",
                    open_incident="INC-1")
    assert "\n" not in news[0].message and news[0].message.startswith("first line second")
    assert len(news[0].message) <= 160 and news[0].message.endswith("…")


def test_a_burst_is_a_few_toasts_and_a_count():
    burst = [event(n, "declared", incident=f"INC-{n}", severity="SEV-1") for n in range(1, 11)]
    news = announce(burst, actor="alice", open_incident=None)
    assert len(news) == MAX_TOASTS
    assert [n.incident_id for n in news[:-1]] == ["INC-1", "INC-2", "INC-3"]
    assert news[-1].title == "7 more changes" and news[-1].message == "on 7 incidents; the dashboard lists them"
    assert news[-1].level == "warning"


def test_stored_text_stays_as_given():
    # Markup-looking titles are data: the toast carries them literally (notify is markup=False).
    news = announce([event(1, "declared", severity="SEV-1", title="[bold]x[/] [@click=app.quit]y[/]")],
                    actor="alice", open_incident=None)
    assert "[bold]x[/] [@click=app.quit]y[/]" in news[0].message


def test_new_incidents_are_the_declared_ones():
    assert new_incidents([event(1, "declared", incident="INC-1"), event(2, "note", incident="INC-2"),
                          event(3, "declared", incident="INC-3", severity="SEV-4")]) == {"INC-1", "INC-3"}

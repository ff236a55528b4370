"""The post-incident screen (war room `p`) and the action items screen (dashboard `A`),
driven with Pilot against a real store."""
from __future__ import annotations

from datetime import datetime

import pytest

from store import review
from store.review_queries import open_action_items, pir_detail, rca_detail
from tests.tui.conftest import settle, text_of


def rca(store, incident_id):
    with store.db.read() as session:
        return rca_detail(session, store.policy, incident_id, store.now())


def pir(store, incident_id):
    with store.db.read() as session:
        return pir_detail(session, store.policy, incident_id, store.now())


@pytest.fixture
def incident(tui_store, clock):
    incident = tui_store.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    clock.advance(minutes=75)
    tui_store.resolve(incident.id, actor="bob")
    return incident


async def open_post_incident(pilot):
    from tui.screens.post_incident import PostIncidentScreen

    await settle(pilot)  # the app opens on the (resolved) incident's war room
    await pilot.press("p")
    await settle(pilot)
    assert isinstance(pilot.app.screen, PostIncidentScreen)
    return pilot.app.screen


async def type_and_enter(pilot, text: str) -> None:
    await pilot.press(*text)
    await pilot.press("enter")
    await settle(pilot)


async def test_p_opens_the_rca_and_review_and_keys_edit_them(make, tui_store, incident):
    app = make(incident.id)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_post_incident(pilot)
        assert "1h 15m" in text_of(screen.query_one("#pi-banner"))
        assert "REVIEW NOT SCHEDULED" in text_of(screen.query_one("#pi-banner"))
        assert "not determined yet (c)" in text_of(screen.query_one("#rca"))
        await pilot.press("c")
        await type_and_enter(pilot, "Pool misconfiguration")
        await pilot.press("t")
        await type_and_enter(pilot, "Deploy changed limits")
        await pilot.press("f")
        await type_and_enter(pilot, "No load test")
        await pilot.press("u")
        await type_and_enter(pilot, "1200")
        await pilot.press("e")
        await type_and_enter(pilot, "45000")
        detail = rca(tui_store, incident.id)
        assert detail["root_cause"]["summary"] == "Pool misconfiguration"
        assert detail["root_cause"]["details"] == ["Deploy changed limits"]
        assert detail["contributing_factors"] == ["No load test"]
        assert detail["impact_assessment"]["estimated_cost_text"] == "45,000.00 USD"
        shown = text_of(screen.query_one("#rca"))
        assert "Pool misconfiguration" in shown and "1. No load test" in shown and "45,000.00 USD" in shown
        assert "Audit trail: verified" in shown

        await pilot.press("w")
        await pilot.press(*["backspace"] * 30)
        await type_and_enter(pilot, "2024-01-22T15:00:00Z")
        await pilot.press("p")
        await type_and_enter(pilot, "carol")
        await pilot.press("n")
        await pilot.press("j", "enter")  # agenda item 2
        await settle(pilot)
        await type_and_enter(pilot, "Limits came from a library default")
        await pilot.press("l")
        await type_and_enter(pilot, "Replay production traffic in load tests")
        review_part = pir(tui_store, incident.id)["review"]
        assert review_part["scheduled_at"] == "2024-01-22T15:00:00Z" and review_part["attendees"] == ["carol"]
        assert review_part["agenda"][1]["notes"] == "Limits came from a library default"
        assert review_part["lessons_learned"] == ["Replay production traffic in load tests"]
        shown = text_of(screen.query_one("#pir"))
        assert "2024-01-22 15:00 UTC" in shown and "Limits came from a library default" in shown
        await pilot.press("h", "enter")  # "Held now"
        await settle(pilot)
        assert pir(tui_store, incident.id)["review"]["held"] is True
        assert "review held" in text_of(screen.query_one("#pi-banner"))
        tui_store.close(incident.id, actor="carol")  # a SEV-1 closes once its review is held


async def test_a_adds_an_action_item_d_marks_it_done_and_x_exports_markdown(make, tui_store, incident, tmp_path):
    app = make(incident.id)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_post_incident(pilot)
        await pilot.press("a")
        await type_and_enter(pilot, "Add pool alerting")
        await pilot.press("enter")  # immediate, the first category
        await settle(pilot)
        await type_and_enter(pilot, "alice 2024-01-25")
        items = rca(tui_store, incident.id)["corrective_actions"]
        assert [(i["title"], i["category"], i["owner"], i["due_on"]) for i in items] == [
            ("Add pool alerting", "immediate", "alice", "2024-01-25")]
        from tui.widgets.review_panes import CorrectiveActions

        actions = screen.query_one(CorrectiveActions)
        assert "[Immediate] Add pool alerting" in str(actions.get_option_at_index(0).prompt)
        await pilot.press("d")
        await settle(pilot)
        assert rca(tui_store, incident.id)["corrective_actions"][0]["status"] == "done"
        assert str(actions.get_option_at_index(0).prompt).startswith("[x]")
        assert screen.query_one("#actions-pane").border_title == "Corrective actions (1/1 done)"
        await pilot.press("d")
        await settle(pilot)
        assert rca(tui_store, incident.id)["corrective_actions"][0]["status"] == "open"
        await pilot.press("x")
        await pilot.press("enter")  # the configured export folder, prefilled
        await settle(pilot)
        folder = tmp_path / "handover"
        assert (folder / f"{incident.id}-rca.md").read_text().startswith(f"# Root Cause Analysis: {incident.id}")
        assert "## Agenda (60 minutes)" in (folder / f"{incident.id}-pir.md").read_text()


async def test_a_bad_value_is_one_sentence_and_writes_nothing(make, tui_store, incident):
    app = make(incident.id)
    notices = []
    async with app.run_test(size=(120, 40)) as pilot:
        await open_post_incident(pilot)
        app.notify = lambda message, **kw: notices.append(message)  # what the user is told
        pilot.app.screen.notify = app.notify
        await pilot.press("u")
        await type_and_enter(pilot, "lots")
    assert notices == ["customers affected 'lots' is not a count; accepted: a whole number from 0"]
    assert rca(tui_store, incident.id)["updated_by"] is None


async def test_shift_a_lists_open_action_items_across_incidents_overdue_first(make, tui_store, incident, clock):
    from tui.screens.action_items import ActionItemsScreen
    from tui.widgets.review_items import ActionItemTable

    other = tui_store.declare("medium", "performance", "staging", actor="a", title="Slow search")
    later = review.add_action_item(tui_store, other.id, "Tune the index", actor="a", category="long-term",
                                   due="2024-03-01")
    overdue = review.add_action_item(tui_store, incident.id, "Add pool alerting", actor="a", category="immediate",
                                     owner="alice", due="2024-01-10")
    app = make()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await pilot.press("A")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ActionItemsScreen)
        table = screen.query_one(ActionItemTable)
        assert [str(table.get_row_at(i)[0]) for i in range(table.row_count)] == [str(overdue.id), str(later.id)]
        assert str(table.get_row_at(0)[1]) == "2024-01-10" and table.get_row_at(0)[1].style == "bold white on red"
        assert table.get_row_at(1)[1].style == ""
        assert "1 OVERDUE" in text_of(screen.query_one("#ai-summary"))
        await pilot.press("d")  # the overdue one is first and selected
        await settle(pilot)
        with tui_store.db.read() as session:
            assert [r["id"] for r in open_action_items(session, tui_store.now())] == [later.id]
        assert table.row_count == 1 and "none overdue" in text_of(screen.query_one("#ai-summary"))
        await pilot.press("v")
        await settle(pilot)
        assert table.row_count == 2
        await pilot.press("t")  # no Jira configured: one sentence, nothing written
        await settle(pilot)
        assert all(r["ticket"] is None for r in rca(tui_store, other.id)["corrective_actions"])
        await pilot.press("v")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.incident_id == other.id


async def test_t_sends_the_item_to_jira_when_it_is_configured(make, tui_store, incident):
    from automation.routing import route_by_matrix
    from sqlmodel import select
    from store.models import Notification

    tui_store.router = route_by_matrix(tui_store.policy, {"jira"})
    item = review.add_action_item(tui_store, incident.id, "Add pool alerting", actor="a", category="immediate")
    app = make()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await pilot.press("A")
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
    with tui_store.db.read() as session:
        rows = session.exec(select(Notification).where(Notification.event == "action_item_ticket")).all()
    assert [(r.integration, r.state, r.idempotency_key) for r in rows] == [("jira", "pending", f"action-item:{item.id}:jira")]


async def test_help_lists_the_new_keys(make, incident):
    app = make(incident.id)
    async with app.run_test(size=(120, 50)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        war_room_help = text_of(app.screen.query_one("#help-dialog Static"))
        assert "Post-incident: after the incident" in war_room_help
        await pilot.press("escape")
        await pilot.press("escape")  # the dashboard
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert "every open and overdue action item across incidents" in text_of(app.screen.query_one("#help-dialog Static"))
        await pilot.press("escape")
        await pilot.app.push_screen(__import__("tui.screens.war_room", fromlist=["x"]).WarRoomScreen(incident.id))
        await open_post_incident(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        shown = text_of(app.screen.query_one("#help-dialog Static"))
        for meaning in ("set the root cause", "notes for an agenda item (1-5)", "mark the review held now",
                        "add an action item (category, owner, due)"):
            assert meaning in shown

""""This happened before" in the war room: `h` lists the most similar past incidents with
their root cause and corrective actions, `enter` opens one's war room, esc/q go back, a
plain sentence when nothing is alike, and stored text shown as data."""
from __future__ import annotations

import pytest
from sqlmodel import select

from store.review import add_action_item, update_rca
from tests.tui.conftest import settle, text_of

HOSTILE = "[@click=app.quit]quit[/] [b]loud[/b] \x1b[31mred\u202e"


@pytest.fixture
def past_and_current(tui_store):
    """A resolved checkout incident with its root cause and an action item, then a new one
    on the same service; an unrelated one on another service."""
    past = tui_store.declare("high", "outage", "production", actor="alice", title="Checkout payment timeouts",
                             service="checkout")
    update_rca(tui_store, past.id, actor="bob", root_cause="Connection pool exhausted by a retry storm")
    add_action_item(tui_store, past.id, "Alert on pool saturation", actor="bob", category="short-term")
    add_action_item(tui_store, past.id, "Cap client retries", actor="bob", category="long-term")
    tui_store.resolve(past.id, actor="bob")
    tui_store.declare("low", "performance", "staging", actor="alice", title="Disk alarm on build agents",
                      service="ci")
    current = tui_store.declare("critical", "outage", "production", actor="carol", title="Payment timeouts again",
                                service="checkout")
    return past, current


async def open_similar(pilot):
    from tui.screens.similar import SimilarIncidentsScreen

    await settle(pilot)
    await pilot.press("h")
    await settle(pilot)
    assert isinstance(pilot.app.screen, SimilarIncidentsScreen)
    return pilot.app.screen


def shown(screen) -> str:
    from textual.widgets import OptionList, Static

    return text_of(screen.query_one("#similar-summary", Static)) + text_of(screen.query_one(OptionList))


async def test_h_lists_the_past_incident_with_its_root_cause_and_actions(make, past_and_current):
    from tui.screens.similar import SimilarIncidentsScreen
    from tui.screens.war_room import WarRoomScreen

    past, current = past_and_current
    loaded = []
    app = make(open_incident=current.id)
    async with app.run_test(size=(100, 30),
                            message_hook=lambda m: loaded.append(m)
                            if isinstance(m, SimilarIncidentsScreen.Loaded) else None) as pilot:
        await settle(pilot)
        war_room = app.screen
        assert isinstance(war_room, WarRoomScreen)
        assert "war_room.similar" in {b.id for b in war_room.BINDINGS}
        screen = await open_similar(pilot)
        # Found in a worker; the screen got typed results, the same-service past incident first.
        assert len(loaded) == 1
        first = loaded[0].similar[0]
        assert first.hit.id == past.id and first.same_service and first.same_type
        assert current.id not in [s.hit.id for s in loaded[0].similar]
        text = " ".join(shown(screen).split())
        assert past.id in text and "SEV-2" in text and "resolved" in text
        assert "Checkout payment timeouts" in text and "(same service, same type)" in text
        assert "Root cause Connection pool exhausted by a retry storm" in text
        assert "Actions • Alert on pool saturation • Cap client retries" in text
        assert "Disk alarm" not in text  # nothing alike: not listed
        assert screen.query_one("#similar-list").highlighted == 0


async def test_enter_opens_the_chosen_incidents_war_room(make, past_and_current):
    from tui.screens.war_room import WarRoomScreen

    past, current = past_and_current
    app = make(open_incident=current.id)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_similar(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, WarRoomScreen) and app.screen.incident_id == past.id
        assert app.screen.detail.title == "Checkout payment timeouts"
        await pilot.press("escape")  # and back to the incident in hand
        await settle(pilot)
        assert isinstance(app.screen, WarRoomScreen) and app.screen.incident_id == current.id


@pytest.mark.parametrize("key", ["escape", "q"])
async def test_esc_and_q_go_back_to_the_war_room(make, past_and_current, key):
    from tui.screens.war_room import WarRoomScreen

    _, current = past_and_current
    app = make(open_incident=current.id)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_similar(pilot)
        await pilot.press(key)
        await settle(pilot)
        assert isinstance(app.screen, WarRoomScreen) and app.screen.incident_id == current.id
        assert app.is_running


async def test_nothing_similar_says_so_in_a_sentence(make, tui_store):
    from textual.widgets import OptionList, Static

    alone = tui_store.declare("high", "security", "production", actor="alice", title="Phishing wave", service="mail")
    tui_store.declare("low", "outage", "staging", actor="alice", title="Build cache cold", service="ci")
    app = make(open_incident=alone.id)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_similar(pilot)
        summary = " ".join(text_of(screen.query_one("#similar-summary", Static)).split())
        assert summary == (f"No past incident looks like {alone.id}: none shares its service, type or the words "
                           "of its title and first notes.")
        options = screen.query_one(OptionList)
        assert options.option_count == 0 and not options.display
        await pilot.press("enter")  # nothing to open: stays put
        await settle(pilot)
        assert app.screen is screen


async def test_stored_text_is_shown_as_data(make, tui_store):
    from textual.widgets import OptionList

    from store.models import ActionItem, Incident, RootCauseAnalysis

    past = tui_store.declare("high", "outage", "production", actor="alice", title="Gateway meltdown",
                             service="gateway")
    update_rca(tui_store, past.id, actor="bob", root_cause="placeholder")
    item = add_action_item(tui_store, past.id, "placeholder", actor="bob", category="short-term")
    with tui_store.db.write() as session:  # past validation, as a direct write or a restored row would be
        incident = session.get(Incident, past.id)
        incident.title = f"Gateway meltdown {HOSTILE}"
        rca = session.exec(select(RootCauseAnalysis).where(RootCauseAnalysis.incident_id == past.id)).one()
        rca.root_cause = f"cause {HOSTILE}"
        action = session.get(ActionItem, item.id)
        action.title = f"fix {HOSTILE}"
        session.add_all([incident, rca, action])
    current = tui_store.declare("high", "outage", "production", actor="alice", title="Gateway meltdown",
                                service="gateway")
    app = make(open_incident=current.id)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_similar(pilot)
        from rich.console import Console

        prompt = screen.query_one(OptionList).get_option_at_index(0).prompt
        console = Console(width=200, file=open("/dev/null", "w"))
        segments = list(console.render(prompt))
        drawn = "".join(segment.text for segment in segments)
        literal = "[@click=app.quit]quit[/] [b]loud[/b] \\x1b[31mred\\u202e"
        for line in (f"Gateway meltdown {literal}", f"Root cause cause {literal}", f"• fix {literal}"):
            assert line in " ".join(drawn.split()), line
        assert "\x1b" not in drawn and "\u202e" not in drawn
        # No markup was read: no click action or link from [@click=...].
        assert not any(segment.style and (segment.style.meta or segment.style.link) for segment in segments)
        options = screen.query_one(OptionList)  # and on the screen, as drawn
        on_screen = "".join(options.render_line(y).text for y in range(options.size.height))
        assert "Gateway meltdown [@click=app.quit]quit[/] [b]loud[/b] \\x1b[31mred" in on_screen
        await pilot.click("#similar-list")  # nothing in the text is a link or an action
        await settle(pilot)
        assert app.is_running


async def test_help_lists_h_with_what_it_does(make, past_and_current):
    from textual.widgets import Static

    from tui.screens.help import HelpScreen

    _, current = past_and_current
    app = make(open_incident=current.id)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        listed = " ".join(text_of(app.screen.query_one(Static)).split())
        assert "h History: similar past incidents: their root cause and corrective actions (enter opens one)" in listed

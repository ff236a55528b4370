"""Issue 14, item 12: the status-update composer's prefilled public words never carry the
internal title (an attacker's address, a host name) and never force a name into lower case."""
from __future__ import annotations

import pytest
from sqlmodel import select
from textual.widgets import Input, TextArea

from store.models import StatusUpdate
from tests.tui.conftest import settle
from tests.tui.test_keys import open_war_room

TITLE = "Brute force on SSO admin from 203.0.113.7 via vpn-gw-03"
INTERNAL = ("203.0.113.7", "vpn-gw-03", "brute force", "sso admin")


@pytest.fixture
def incident(tui_store):
    return tui_store.declare("high", "security", "production", actor="alice", title=TITLE)


@pytest.mark.parametrize("status", ["investigating", "identified", "monitoring"])
async def test_the_prefilled_update_names_nothing_internal_and_keeps_the_headline_as_written(
        make, tui_store, incident, status):
    from tui.screens.update_composer import UpdateComposer

    if status != "investigating":
        tui_store.change_status(incident.id, status, actor="alice")
    app = make()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_war_room(pilot)
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, UpdateComposer)
        message = app.screen.query_one(TextArea).text
        headline = app.screen.query_one("#headline", Input).value
        assert message and all(word not in message.lower() for word in INTERNAL), message
        assert headline and headline not in message and headline.lower() not in message  # its own field
        assert headline[0].isupper() and all(word not in headline.lower() for word in INTERNAL), headline
        await pilot.press("ctrl+s")
        await settle(pilot)
    with tui_store.db.read() as session:
        posted = session.exec(select(StatusUpdate)).all()[-1]
    assert posted.message == message and "203.0.113.7" not in posted.message


def test_no_prefilled_status_text_has_a_place_for_a_name():
    from tui.screens.update_composer import DEFAULT_MESSAGES

    assert set(DEFAULT_MESSAGES) == {"investigating", "identified", "monitoring", "resolved"}
    assert all("{" not in text and text[0].isupper() for text in DEFAULT_MESSAGES.values())

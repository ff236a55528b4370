"""Forms that take few keys: severity, type and environment from the declare form's title
field; "assign me" and role release in the role prompt (issue 14, item 10)."""
from __future__ import annotations

import pytest

from store.queries import incident_detail
from tests.tui.conftest import settle, text_of


def detail(store, incident_id):
    with store.db.read() as session:
        return incident_detail(session, store.policy, incident_id, store.now())


def held(store, incident_id):
    return {r["role"]: r["person"] for r in detail(store, incident_id)["roles"] if r["released_at"] is None}


def help_keys(app) -> list[str]:
    return [line.split()[0] for line in text_of(app.screen.query_one("#help-dialog Static")).splitlines()
            if line.strip()]


@pytest.fixture
def incident(tui_store):
    return tui_store.declare("high", "outage", "production", actor="alice", title="Checkout down")


# -- the declare form ---------------------------------------------------------------------
async def test_alt_keys_pick_severity_type_and_environment_while_typing_the_title(make, tui_store):
    from textual.widgets import Input, Select

    from tui.screens.declare import DeclareScreen

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("d", *"Payments down")
        form = app.screen
        assert isinstance(form, DeclareScreen) and form.focused is form.query_one("#title", Input)
        assert form.query_one("#severity", Select).value == "SEV-2"  # the default, as before
        await pilot.press("alt+4")
        assert form.query_one("#severity", Select).value == "SEV-4"
        await pilot.press("alt+1", "alt+t", "alt+e")
        # The keys changed the fields and typed nothing into the title, which kept the focus.
        assert form.query_one("#title", Input).value == "Payments down"
        assert form.focused is form.query_one("#title", Input)
        assert form.query_one("#severity", Select).value == "SEV-1"
        types = [w.type for w in tui_store.policy.workflows.values()]
        after_outage = types[(types.index("outage") + 1) % len(types)]  # outage is the default
        assert form.query_one("#type", Select).value == after_outage
        assert form.query_one("#environment", Select).value == "staging"
        await pilot.press("ctrl+s")
        await settle(pilot)
        shown = detail(tui_store, app.screen.incident_id)
        assert (shown["title"], shown["severity"], shown["type"], shown["environment"]) == (
            "Payments down", "SEV-1", after_outage, "staging")


async def test_alt_e_and_alt_t_go_round_to_the_first_after_the_last(make, tui_store):
    from textual.widgets import Select

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("d", *"x", *["alt+e"] * 4)  # production, staging, development, all, production
        assert app.screen.query_one("#environment", Select).value == "production"
        await pilot.press(*["alt+t"] * len(tui_store.policy.workflows))
        assert app.screen.query_one("#type", Select).value == "outage"


@pytest.mark.parametrize("number", [1, 2, 3, 4])
async def test_alt_digit_as_a_terminal_sends_it_reaches_the_severity(make, tui_store, number):
    """Over SSH alt+1 arrives as ESC 1, which Textual's parser reports as the character
    macOS types for option+1: the form binds what the parser really produces."""
    from textual._xterm_parser import XTermParser
    from textual.widgets import Input, Select

    [key] = list(XTermParser().feed(f"\x1b{number}"))
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("d", *"Disk full", "alt+3" if number != 3 else "alt+2", key.key)
        assert app.screen.query_one("#severity", Select).value == f"SEV-{number}"
        assert app.screen.query_one("#title", Input).value == "Disk full"  # not "Disk full¡"


async def test_the_form_says_its_keys_and_help_lists_each_once(make):
    from tui.screens.help import HelpScreen

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("d")
        form = app.screen
        assert "alt+1..4 severity · alt+t type · alt+e environment · esc cancel" in text_of(form.query_one("#keys"))
        assert "Declare (ctrl+s)" in str(form.query_one("#declare").label)
        app.push_screen(HelpScreen(form))  # `?` is a character in the title field; help is built from the bindings
        await pilot.pause()
        keys = help_keys(app)
        assert {"alt+1", "alt+2", "alt+3", "alt+4", "alt+t", "alt+e"} <= set(keys)
        assert len([k for k in keys if k.startswith("alt+")]) == 6  # the ESC-digit names are not listed again
        assert "inverted_exclamation_mark" not in " ".join(keys)


async def test_tab_from_the_title_still_reaches_the_service_first(make, tui_store):
    from textual.widgets import Input

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("d", *"Search slow", "tab", *"search-api", "alt+2", "enter")
        await settle(pilot)
        shown = detail(tui_store, app.screen.incident_id)
        assert (shown["title"], shown["service"], shown["severity"]) == ("Search slow", "search-api", "SEV-2")
        assert not app.screen.query(Input)  # the war room, not the form


async def test_the_severity_keys_can_be_remapped_by_id(make, tui_store):
    from textual.widgets import Select

    app = make(keymap={"declare.severity_1": "f1"})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("d", *"x", "f1")
        assert app.screen.query_one("#severity", Select).value == "SEV-1"


# -- roles ---------------------------------------------------------------------------------
async def open_roles(pilot):
    from tui.screens.prompts import RolePrompt

    await settle(pilot)
    await pilot.press("r")
    await pilot.pause()
    assert isinstance(pilot.app.screen, RolePrompt)
    return pilot.app.screen


async def test_r_enter_assigns_me_as_commander(make, tui_store, incident):
    from textual.widgets import Input

    app = make(open_incident=incident.id)
    async with app.run_test(size=(80, 24)) as pilot:
        prompt = await open_roles(pilot)
        assert prompt.query_one("#person", Input).value == "tester"  # who acts here, as the header says
        assert "commander" in text_of(prompt.query_one("#role")).splitlines()[0]
        await pilot.press("enter")
        await settle(pilot)
        assert held(tui_store, incident.id) == {"incident_commander": "tester"}
        side = text_of(app.screen.query_one("#side"))
        assert any(line.split()[:2] == ["commander", "tester"] for line in side.splitlines()), side
        assert detail(tui_store, incident.id)["timeline"][-1]["summary"] == "tester is incident_commander"


async def test_arrows_pick_the_role_and_typing_replaces_the_prefilled_name(make, tui_store, incident):
    app = make(open_incident=incident.id)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_roles(pilot)
        await pilot.press("down", "enter")  # comms lead, me
        await settle(pilot)
        await open_roles(pilot)
        await pilot.press("down", "down", "up", "down", *"bob", "enter")  # ops lead, bob
        await settle(pilot)
        await open_roles(pilot)
        await pilot.press("up", "enter")  # up from the first role wraps to the last: liaison
        await settle(pilot)
        assert held(tui_store, incident.id) == {"communications_lead": "tester", "operations_lead": "bob",
                                                "liaison": "tester"}


async def test_the_prompt_shows_who_holds_each_role_as_data(make, tui_store, incident):
    tui_store.assign_role(incident.id, "ic", "[b]mallory[/b]", actor="alice")
    app = make(open_incident=incident.id)
    async with app.run_test(size=(80, 24)) as pilot:
        prompt = await open_roles(pilot)
        rows = text_of(prompt.query_one("#role")).splitlines()
        assert rows[0].split() == ["commander", "[b]mallory[/b]"]
        assert rows[1].split() == ["comms", "lead", "unassigned"]


async def test_ctrl_d_releases_the_highlighted_role_and_the_roles_pane_shows_it(make, tui_store, incident):
    tui_store.assign_role(incident.id, "ic", "alice", actor="alice")
    tui_store.assign_role(incident.id, "scribe", "carol", actor="alice")
    app = make(open_incident=incident.id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "alice" in text_of(app.screen.query_one("#side"))
        await open_roles(pilot)
        await pilot.press("ctrl+d")  # commander, highlighted first
        await settle(pilot)
        assert held(tui_store, incident.id) == {"scribe": "carol"}
        roles = detail(tui_store, incident.id)["roles"]
        assert [(r["person"], r["released_at"] is not None) for r in roles if r["role"] == "incident_commander"] == [
            ("alice", True)]
        event = detail(tui_store, incident.id)["timeline"][-1]
        assert (event["summary"], event["actor"]) == ("alice released incident_commander", "tester")
        side = text_of(app.screen.query_one("#side"))
        assert any(line.split()[:2] == ["commander", "unassigned"] for line in side.splitlines()), side
        assert "alice released incident_commander" in text_of(app.screen.query_one("#timeline"))
        assert any("alice released incident commander" == n.message for n in app._notifications)


async def test_releasing_a_role_nobody_holds_says_so_and_writes_nothing(make, tui_store, incident):
    app = make(open_incident=incident.id)
    async with app.run_test(size=(80, 24)) as pilot:
        prompt = await open_roles(pilot)
        await pilot.press("down", "down", "down", "ctrl+d")  # scribe: nobody holds it
        await settle(pilot)
        assert app.screen is prompt
        assert "Nobody holds scribe" in text_of(prompt.query_one("#hint"))
        await pilot.press("escape")
        await settle(pilot)
        assert len(detail(tui_store, incident.id)["timeline"]) == 1 and held(tui_store, incident.id) == {}


async def test_an_emptied_name_is_asked_for_again(make, tui_store, incident):
    app = make(open_incident=incident.id)
    async with app.run_test(size=(80, 24)) as pilot:
        prompt = await open_roles(pilot)
        await pilot.press("backspace", "enter")  # the prefilled name is selected: one backspace empties it
        assert app.screen is prompt and "Type who takes the role" in text_of(prompt.query_one("#hint"))


async def test_role_keys_are_in_help_with_ids(make, incident):
    from tui.screens.help import HelpScreen
    from tui.screens.prompts import RolePrompt

    assert {b.id for b in RolePrompt.BINDINGS} == {"role.next", "role.previous", "role.release"}
    app = make(open_incident=incident.id)
    async with app.run_test(size=(80, 24)) as pilot:
        prompt = await open_roles(pilot)
        assert "↑/↓ role · enter assign · ctrl+d release · esc cancel" in text_of(prompt.query_one("#hint"))
        app.push_screen(HelpScreen(prompt))
        await pilot.pause()
        assert {"↓", "↑", "^d", "esc"} <= set(help_keys(app))

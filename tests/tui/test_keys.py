"""Every key of the command center, driven with Pilot against a real store."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from store.models import RoleAssignment, StatusUpdate, TimelineEvent
from store.queries import incident_detail
from tests.tui.conftest import settle, text_of


def detail(store, incident_id):
    with store.db.read() as session:
        return incident_detail(session, store.policy, incident_id, store.now())


@pytest.fixture
def incident(tui_store):
    return tui_store.declare("high", "outage", "production", actor="alice", title="Checkout down")


async def open_war_room(pilot):
    from tui.screens.war_room import WarRoomScreen

    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, WarRoomScreen)
    return pilot.app.screen


async def test_dashboard_lists_open_incidents_and_counts(make, tui_store, incident, clock):
    from tui.widgets.incident_table import IncidentTable

    tui_store.declare("critical", "security", "production", actor="bob", title="Credential stuffing")
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(IncidentTable)
        assert [r.id for r in table.rows_shown] == ["INC-2024-0118-002", incident.id]
        assert "SEV-1 1" in text_of(app.screen.query_one("#counts")) and "SEV-2 1" in text_of(app.screen.query_one("#counts"))
        assert str(table.get_cell(incident.id, "title")) == "Checkout down"
        # Before the first sample the pane says what it waits for (the Settings' sources: this host).
        assert "Waiting for the first samples from this host" in text_of(app.screen.query_one("#health"))


async def test_j_k_enter_and_esc_navigate(make, tui_store, incident):
    second = tui_store.declare("low", "data", "development", actor="bob", title="Typos in export")
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("j")
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.incident_id == second.id
        await pilot.press("escape")
        await pilot.press("k", "enter")
        await settle(pilot)
        assert app.screen.incident_id == incident.id


async def test_space_ticks_and_unticks_the_highlighted_step(make, tui_store, incident):
    from tui.widgets.checklist import Checklist

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_war_room(pilot)
        await pilot.press("space")
        await settle(pilot)
        assert detail(tui_store, incident.id)["checklist"][0]["done_by"] == "tester"
        checklist = screen.query_one(Checklist)
        assert str(checklist.get_option("step-1").prompt).startswith("[x]")
        await pilot.press("j", "space")  # step 2
        await settle(pilot)
        await pilot.press("k", "space")  # back on step 1: untick
        await settle(pilot)
        steps = detail(tui_store, incident.id)["checklist"]
        assert [s["done"] for s in steps[:3]] == [False, True, False]
        assert str(checklist.get_option("step-1").prompt).startswith("[ ]")


async def test_n_adds_a_note(make, tui_store, incident):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_war_room(pilot)
        await pilot.press("n")
        await pilot.press(*"DB pool at max")
        await pilot.press("enter")
        await settle(pilot)
        assert detail(tui_store, incident.id)["timeline"][-1]["summary"] == "DB pool at max"
        assert "tester: DB pool at max" in text_of(screen.query_one("#timeline"))


async def test_empty_note_is_refused_in_place(make, tui_store, incident):
    from tui.screens.prompts import TextPrompt

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_war_room(pilot)
        await pilot.press("n", "enter")
        assert isinstance(app.screen, TextPrompt)
        assert "Type something first" in text_of(app.screen.query_one("#hint"))
        await pilot.press("escape")
        await settle(pilot)
        assert len(detail(tui_store, incident.id)["timeline"]) == 1


async def test_a_acknowledges(make, tui_store, incident, clock):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        clock.advance(minutes=4)
        await pilot.press("a")  # from the dashboard
        await settle(pilot)
        assert detail(tui_store, incident.id)["acknowledged_at"] == "2024-01-18T14:34:00Z"
        screen = await open_war_room(pilot)
        assert "ack'd 14:34" in text_of(screen.query_one("#banner"))
        await pilot.press("a")  # again: refused in one sentence
        await settle(pilot)
        messages = [n.message for n in app._notifications]
        assert any("was already acknowledged at 2024-01-18T14:34:00Z" in m for m in messages)


async def test_s_moves_status(make, tui_store, incident):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_war_room(pilot)
        await pilot.press("s")
        await pilot.press("j", "enter")  # identified, monitoring, resolved -> monitoring
        await settle(pilot)
        assert detail(tui_store, incident.id)["status"] == "monitoring"
        assert "MONITORING" in text_of(screen.query_one("#banner"))


async def test_plus_and_minus_change_severity(make, tui_store, incident):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_war_room(pilot)
        await pilot.press("plus", *"why", "enter")  # every change asks for a reason
        await settle(pilot)
        assert detail(tui_store, incident.id)["severity"] == "SEV-1"
        assert "SEV-1" in text_of(screen.query_one("#banner"))
        await pilot.press("plus")
        await settle(pilot)
        assert any("already the highest" in n.message for n in app._notifications)
        await pilot.press("minus", *"why", "enter")
        await settle(pilot)
        await pilot.press("minus", *"why", "enter")
        await settle(pilot)
        assert detail(tui_store, incident.id)["severity"] == "SEV-3"


async def test_severity_change_on_a_stale_view_is_refused(make, tui_store, incident):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_war_room(pilot)
        tui_store.change_severity(incident.id, "critical", actor="someone-else")  # not yet seen
        await pilot.press("minus", *"why", "enter")
        await settle(pilot)
        assert detail(tui_store, incident.id)["severity"] == "SEV-1"
        assert any("changed since you looked (now SEV-1" in n.message for n in app._notifications)


async def test_r_assigns_a_role(make, tui_store, incident):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_war_room(pilot)
        await pilot.press("r")
        await pilot.press(*"bob")
        await pilot.press("enter")
        await settle(pilot)
        roles = detail(tui_store, incident.id)["roles"]
        assert [(r["role"], r["person"]) for r in roles] == [("incident_commander", "bob")]
        assert "bob" in text_of(screen.query_one("#side"))


async def test_d_declares_and_opens_the_war_room(make, tui_store):
    from tui.screens.declare import DeclareScreen

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("d")
        assert isinstance(app.screen, DeclareScreen)
        assert "A title is required" in text_of(app.screen.query_one("#problem"))
        await pilot.press(*"Search is slow")
        await pilot.press("tab", *"search api")  # a space: refused as you type
        assert "one word" in text_of(app.screen.query_one("#problem"))
        await pilot.press("backspace", "backspace", "backspace", "backspace", "minus", *"api")
        assert text_of(app.screen.query_one("#problem")).strip() == ""
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen.incident_id == "INC-2024-0118-001"
        shown = detail(tui_store, "INC-2024-0118-001")
        assert (shown["title"], shown["service"], shown["severity"], shown["type"]) == (
            "Search is slow", "search-api", "SEV-2", "outage")


async def test_u_posts_a_status_update_from_the_template(make, tui_store, incident, clock):
    from tui.screens.update_composer import UpdateComposer
    from textual.widgets import TextArea

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_war_room(pilot)
        await pilot.press("u")
        assert isinstance(app.screen, UpdateComposer)
        prefilled = app.screen.query_one(TextArea).text
        assert prefilled.startswith("We are currently investigating this issue.")  # neither title nor headline
        await pilot.press("ctrl+s")
        await settle(pilot)
        with tui_store.db.read() as session:
            update = session.exec(select(StatusUpdate)).one()
        assert update.message == prefilled and update.next_update_due_at == clock() + timedelta(hours=2)


async def test_x_writes_the_handover(make, tui_store, incident, tmp_path):
    from textual.widgets import Input

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_war_room(pilot)
        await pilot.press("x")
        assert app.screen.query_one(Input).value == str(tmp_path / "handover")  # the configured folder
        await pilot.press("enter")
        await settle(pilot)
    svg = tmp_path / "handover" / f"{incident.id}-war-room.svg"
    markdown = tmp_path / "handover" / f"{incident.id}-handover.md"
    assert svg.read_text().startswith("<svg") and "Checkout" in svg.read_text()
    text = markdown.read_text()
    assert text.startswith(f"# Handover: {incident.id}")
    for section in ("## Roles", "## Checklist by phase", "Next status update due", "## Compliance clocks",
                    "timeline events"):
        assert section in text


async def test_question_mark_lists_every_key(make, tui_store, incident):
    from tui.screens.help import HelpScreen

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_war_room(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        shown = text_of(app.screen.query_one("#help-dialog Static"))
        for key, what in [("space", "Tick"), ("n", "Note"), ("u", "Update"), ("a", "Ack"), ("s", "Status"),
                          ("+", "Sev+"), ("-", "Sev-"), ("r", "Roles"), ("x", "Handover"), ("d", "Declare"),
                          ("q", "Back"), ("^q", "Quit"), ("esc", "Back")]:  # q goes back; ctrl+q quits
            assert any(line.split()[:1] == [key] and what in line for line in shown.splitlines()), (key, shown)


async def test_keys_can_be_remapped_by_id(make, tui_store, incident):
    app = make(keymap={"war_room.tick": "T"})  # a key free on the war room (t reads the timeline)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_war_room(pilot)
        await pilot.press("T")
        await settle(pilot)
        assert detail(tui_store, incident.id)["checklist"][0]["done"]


async def test_launch_opens_the_war_room_on_a_given_incident(make, incident):
    app = make(open_incident=incident.id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.screen.incident_id == incident.id
        assert "Checkout down" in text_of(app.screen.query_one("#banner"))


async def test_a_failing_store_shows_one_sentence_and_keeps_running(make, tui_store, incident):
    from store.errors import DatabaseUnavailable

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_war_room(pilot)

        def broken(*args, **kwargs):
            raise DatabaseUnavailable("the database is unavailable (disk I/O error)")

        tui_store.add_note = broken
        await pilot.press("n", *"x", "enter")
        await settle(pilot)
        assert any(n.message == "the database is unavailable (disk I/O error)" for n in app._notifications)
        assert app.is_running


async def test_x_writes_where_the_engineer_says(make, tui_store, incident, tmp_path):
    from textual.widgets import Input

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("x")  # from the dashboard: the selected incident
        app.screen.query_one(Input).value = str(tmp_path / "elsewhere")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.pause(0.6)
        await settle(pilot)
    assert (tmp_path / "elsewhere" / f"{incident.id}-handover.md").exists()
    assert (tmp_path / "elsewhere" / f"{incident.id}-war-room.svg").exists()


async def test_every_action_is_in_the_command_palette(make, tui_store, incident):
    app = make()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_war_room(pilot)
        titles = {command.title for command in app.get_system_commands(app.screen)}
        for action in ("Tick", "Note", "Update", "Ack", "Status", "Sev+", "Sev-", "Roles", "Remediate", "Handover",
                       "Back", "Declare", "Help", "Quit"):
            assert action in titles, (action, titles)
        # And running one from the palette does what the key does.
        await pilot.press("ctrl+p")
        await pilot.press(*"Tick")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert detail(tui_store, incident.id)["checklist"][0]["done"]


async def test_a_slow_store_never_freezes_the_screen(make, tui_store, incident):
    import threading
    import time

    from tui.screens.help import HelpScreen

    release = threading.Event()
    original = tui_store.add_note

    def slow_note(*args, **kwargs):
        release.wait(10)  # a write stuck behind a lock
        return original(*args, **kwargs)

    tui_store.add_note = slow_note
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_war_room(pilot)
        await pilot.press("n", *"stuck", "enter")
        started = time.monotonic()
        await pilot.press("question_mark")  # keys still work while the write waits
        assert isinstance(app.screen, HelpScreen)
        assert time.monotonic() - started < 5
        await pilot.press("escape")
        release.set()
        await settle(pilot)
        assert detail(tui_store, incident.id)["timeline"][-1]["summary"] == "stuck"


async def test_under_ssh_animations_are_off(make, incident):
    app = make(under_ssh=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.animation_level == "none"


def say_runbook(tmp_path, clock):
    """A store whose only runbook echoes one word, an incident, and the app on its war room."""
    import sys

    from playbooks import load_policy
    from store.database import open_database
    from store.operations import IncidentStore
    from tui.app import Settings, make_app

    user = tmp_path / "playbooks"
    user.mkdir()
    (user / "runbooks.toml").write_text(
        f'[[runbooks]]\nname = "say"\ndescription = "d"\n'
        f'command = ["{sys.executable}", "-c", "import sys; print(sys.argv[1])", "{{word}}"]\n'
        '[runbooks.params]\nword = { type = "name" }\n')
    store = IncidentStore(open_database(f"sqlite:///{tmp_path / 'x.db'}"), load_policy(user), clock)
    incident = store.declare("high", "outage", "production", actor="a")
    return store, incident, make_app(store, Settings(actor="tester", watch=False, detect=False), incident.id)


async def test_e_runs_a_runbook_only_after_the_exact_command_is_confirmed(tmp_path, clock):
    from tui.screens.prompts import ChoicePrompt

    store, incident, app = say_runbook(tmp_path, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await pilot.press("enter")  # the only runbook
        await pilot.press(*"hello")  # word=hello
        await pilot.press("enter")
        assert isinstance(app.screen, ChoicePrompt)
        assert "import sys; print(sys.argv[1])' hello" in app.screen.body  # the whole command, in the body
        assert detail(store, incident.id)["remediation"] == []  # nothing ran before the yes
        await pilot.press("j", "enter")  # "Run it" (Cancel is the default)
        await settle(pilot)
        await pilot.pause(0.5)
        await settle(pilot)
    remediation = detail(store, incident.id)["remediation"]
    assert remediation and remediation[0]["outcome"] == "exit 0\nhello"


async def test_a_source_that_stopped_reporting_is_marked_stale(make, tui_store, clock):
    from playbooks.samples import Sample
    from store.detection import record_samples
    from tui.screens.dashboard import DashboardScreen

    record_samples(tui_store, [Sample("host", "cpu", clock(), 42.0), Sample("host", "memory", clock(), 50.0)])
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        health = app.screen.query_one("#health")
        assert "42.0%" in text_of(health) and "STALE" not in text_of(health)
        clock.advance(minutes=5)
        app.screen.load()
        await settle(pilot)
        assert "STALE since 14:30" in text_of(health)


async def test_host_metrics_appear_with_no_configuration(make, tui_store):
    import asyncio

    app = make(detect=True)  # as `make run` starts it: no config file at all
    async with app.run_test(size=(80, 24)) as pilot:
        health = app.screen.query_one("#health")
        for _ in range(60):  # the first host poll, then the dashboard's next read
            await asyncio.sleep(0.25)
            if "CPU" in text_of(health) and "Waiting" not in text_of(health):
                break
        shown = text_of(health)
        assert "CPU" in shown and "Memory" in shown and "No metric source" not in shown and "Waiting" not in shown


async def test_the_outbox_backlog_shows_while_a_vendor_is_down(make, tui_store):
    from automation.routing import route_by_matrix

    tui_store.router = route_by_matrix(tui_store.policy, {"pagerduty"})
    tui_store.declare("critical", "outage", "production", actor="a")
    app = make()
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(pilot)
        assert "pagerduty: 1 waiting" in " ".join(text_of(app.screen.query_one("#identity")).split())  # wraps, never cut


async def test_e_refuses_a_runbook_parameter_given_twice(tmp_path, clock):
    """Issue 13: which address a runbook acts on is never a guess — `word=hello word=bye` is
    refused in the war room as from the shell, and nothing is offered to run."""
    from tui.screens.prompts import ChoicePrompt

    store, incident, app = say_runbook(tmp_path, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("e", "enter", *"hello word=bye", "enter")
        await settle(pilot)
        assert not isinstance(app.screen, ChoicePrompt)
        assert any("given twice" in str(n.message) for n in app._notifications)
    assert detail(store, incident.id)["remediation"] == []

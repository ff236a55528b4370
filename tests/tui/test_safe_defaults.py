"""Issue 14, safe defaults and drafts: `enter` on a picker never does the surprising thing,
severity changes carry a reason, resolving says what is still open, a status change offers
the update, and a half-written update or note survives `esc` (and a restart)."""
from __future__ import annotations

import json
import stat
import sys

import pytest
from sqlmodel import select
from textual.widgets import Input, OptionList, TextArea

from store.models import StatusUpdate, TimelineEvent
from tests.tui.conftest import settle, text_of
from tests.tui.test_keys import detail, open_war_room


@pytest.fixture
def incident(tui_store):
    return tui_store.declare("high", "outage", "production", actor="alice", title="Checkout down")


def shown(widget) -> list[str]:
    """The lines a widget paints on the screen, as the engineer reads them (wrapped as shown)."""
    return [widget.render_line(y).text.rstrip() for y in range(widget.size.height)]


def highlighted(screen) -> str:
    return screen.query_one(OptionList).highlighted_option.id


async def answer_no_to_the_update_offer(pilot):
    from tui.screens.prompts import ChoicePrompt

    await settle(pilot)
    assert isinstance(pilot.app.screen, ChoicePrompt) and "Post an update now?" in pilot.app.screen.title_text
    await pilot.press("j", "enter")  # No
    await settle(pilot)


# -- status --------------------------------------------------------------------------


async def test_s_enter_moves_forward_never_back(make, tui_store, incident):
    from tui.screens.prompts import ChoicePrompt

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_war_room(pilot)
        for current, forward in [("investigating", "identified"), ("identified", "monitoring"),
                                 ("monitoring", "resolved")]:
            assert detail(tui_store, incident.id)["status"] == current
            await pilot.press("s")
            assert isinstance(app.screen, ChoicePrompt)
            assert highlighted(app.screen) == forward, current  # the list still offers going back
            await pilot.press("enter")
            await answer_no_to_the_update_offer(pilot)
            assert detail(tui_store, incident.id)["status"] == forward
        # Resolved: the forward move is closed (refused here for a SEV-2 without a review, not reopened).
        await pilot.press("s")
        assert highlighted(app.screen) == "closed"
        await pilot.press("escape")


# -- runbook confirmation --------------------------------------------------------------


def long_runbook_app(tmp_path, clock):
    from playbooks import load_policy
    from store.database import open_database
    from store.operations import IncidentStore
    from tui.app import Settings, make_app

    user = tmp_path / "playbooks"
    user.mkdir()
    (user / "runbooks.toml").write_text(
        f'[[runbooks]]\nname = "scale"\ndescription = "d"\n'
        f'command = ["{sys.executable}", "-c", "import sys; print(sys.argv[1:])", "deployment/checkout-frontend",'
        f' "--namespace=payments-production", "--replicas={{replicas}}"]\n'
        '[runbooks.params]\nreplicas = { type = "name" }\n')
    store = IncidentStore(open_database(f"sqlite:///{tmp_path / 'x.db'}"), load_policy(user), clock)
    incident = store.declare("high", "outage", "production", actor="a")
    return store, incident, make_app(store, Settings(actor="tester", watch=False, detect=False), incident.id)


async def test_runbook_confirmation_shows_the_whole_command_and_defaults_to_cancel(tmp_path, clock):
    from tui.screens.prompts import ChoicePrompt

    store, incident, app = long_runbook_app(tmp_path, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("e", "enter", *"60", "enter")  # the only runbook, replicas=60
        assert isinstance(app.screen, ChoicePrompt)
        lines = shown(app.screen.query_one("#body"))
        assert len(lines) > 1 and all(len(line) < 80 for line in lines)  # wrapped inside the dialog, not cut
        body = " ".join(lines)
        for part in ("print(sys.argv[1:])", "deployment/checkout-frontend", "--namespace=payments-production",
                     "--replicas=60"):
            assert part in body, (part, lines)
        assert highlighted(app.screen) == "Cancel"
        await pilot.press("enter")  # the default: nothing runs
        await settle(pilot)
        assert not isinstance(app.screen, ChoicePrompt)
        assert detail(store, incident.id)["remediation"] == []
        await pilot.press("e", "enter", *"60", "enter")
        await pilot.press("j")  # the deliberate move to "Run it"
        assert highlighted(app.screen) == "Run it"
        await pilot.press("enter")
        await settle(pilot)
        await pilot.pause(0.5)
        await settle(pilot)
    remediation = detail(store, incident.id)["remediation"]
    assert remediation and "--replicas=60" in remediation[0]["outcome"]


# -- severity ---------------------------------------------------------------------------


async def test_severity_change_asks_for_a_reason_and_puts_it_on_the_timeline(make, tui_store, incident):
    from tui.screens.prompts import TextPrompt

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_war_room(pilot)
        await pilot.press("plus")
        assert isinstance(app.screen, TextPrompt) and "SEV-2 -> SEV-1" in app.screen.title_text
        await pilot.press("enter")  # no reason: refused in place, nothing changed
        assert isinstance(app.screen, TextPrompt)
        assert "Type something first" in text_of(app.screen.query_one("#hint"))
        await settle(pilot)
        assert detail(tui_store, incident.id)["severity"] == "SEV-2"
        await pilot.press(*"EU checkout failing too")
        await pilot.press("enter")
        await settle(pilot)
        assert detail(tui_store, incident.id)["severity"] == "SEV-1"
        assert detail(tui_store, incident.id)["timeline"][-1]["summary"] == "Escalated SEV-2 -> SEV-1: EU checkout failing too"
        with tui_store.db.read() as session:
            event = session.exec(select(TimelineEvent).where(TimelineEvent.kind == "severity_changed")).one()
        assert json.loads(event.data)["reason"] == "EU checkout failing too"
        assert "EU checkout failing too" in text_of(screen.query_one("#timeline"))
        await pilot.press("minus", "escape")  # esc: no change at all
        await settle(pilot)
        assert detail(tui_store, incident.id)["severity"] == "SEV-1"


# -- resolving --------------------------------------------------------------------------


async def test_resolving_an_unacknowledged_incident_warns_and_defaults_to_cancel(make, tui_store, incident):
    from tui.screens.prompts import ChoicePrompt

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_war_room(pilot)
        await pilot.press("s", "j", "j", "enter")  # identified, monitoring, resolved
        assert isinstance(app.screen, ChoicePrompt) and "still open" in app.screen.title_text
        assert "was never acknowledged" in text_of(app.screen.query_one("#body"))
        assert highlighted(app.screen) == "Cancel"
        await pilot.press("enter")
        await settle(pilot)
        assert detail(tui_store, incident.id)["status"] == "investigating"


async def test_resolving_with_a_remediation_running_warns_and_can_go_ahead(make, tui_store, incident):
    from tui.screens.prompts import ChoicePrompt

    tui_store.acknowledge(incident.id, actor="alice")
    tui_store.start_remediation(incident.id, "Rolling back [checkout] to v41", actor="alice")
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_war_room(pilot)
        await pilot.press("s", "j", "j", "enter")
        body = text_of(app.screen.query_one("#body"))
        assert "Remediation still running: Rolling back [checkout] to v41" in body  # as data, brackets kept
        assert "acknowledged" not in body
        await pilot.press("j", "enter")  # "Resolve anyway"
        await answer_no_to_the_update_offer(pilot)
        assert detail(tui_store, incident.id)["status"] == "resolved"
        assert not isinstance(app.screen, ChoicePrompt)


async def test_resolving_with_nothing_open_asks_nothing(make, tui_store, incident):
    tui_store.acknowledge(incident.id, actor="alice")
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_war_room(pilot)
        await pilot.press("s", "j", "j", "enter")
        await answer_no_to_the_update_offer(pilot)  # the only question after the move
        assert detail(tui_store, incident.id)["status"] == "resolved"


async def test_a_status_change_offers_the_update_prefilled_for_the_new_status(make, tui_store, incident):
    from tui.screens.prompts import ChoicePrompt
    from tui.screens.update_composer import UpdateComposer

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_war_room(pilot)
        await pilot.press("s", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ChoicePrompt) and highlighted(app.screen) == "Yes"
        await pilot.press("enter")
        assert isinstance(app.screen, UpdateComposer)
        assert app.screen.query_one(TextArea).text.startswith("The issue has been identified")
        await pilot.press("ctrl+s")
        await settle(pilot)
        with tui_store.db.read() as session:
            update = session.exec(select(StatusUpdate)).one()
        assert update.status == "identified" and update.message.startswith("The issue has been identified")


# -- drafts ----------------------------------------------------------------------------


async def test_esc_keeps_the_update_draft_and_u_restores_it(make, tui_store, incident):
    from tui.screens.update_composer import UpdateComposer

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_war_room(pilot)
        await pilot.press("u")
        app.screen.query_one(TextArea).text = "Payments in the EU fail; "
        app.screen.query_one("#affected", Input).value = "EU card payments"
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, UpdateComposer)
        with tui_store.db.read() as session:
            assert session.exec(select(StatusUpdate)).all() == []
        await pilot.press("u")
        assert app.screen.query_one(TextArea).text == "Payments in the EU fail; "
        assert app.screen.query_one("#affected", Input).value == "EU card payments"
        assert "draft restored" in text_of(app.screen.query_one("#hint"))
        await pilot.press("escape")
        await settle(pilot)
    # Kept in the state folder, owner-only, for the next command center on this database.
    from tui.drafts import drafts_file

    path = drafts_file(tui_store.db.url)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = make()
    async with again.run_test(size=(80, 24)) as pilot:
        await open_war_room(pilot)
        await pilot.press("u")
        assert again.screen.query_one(TextArea).text == "Payments in the EU fail; "


async def test_esc_keeps_the_note_draft_per_incident(make, tui_store, incident):
    tui_store.declare("low", "data", "development", actor="bob", title="Typos in export")
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_war_room(pilot)  # the newest first: the SEV-4
        await pilot.press("n", *"pool at max", "escape")
        await pilot.press("n")
        assert app.screen.query_one("#text", Input).value == "pool at max"
        await pilot.press("escape", "escape")  # back to the dashboard
        await pilot.press("j", "enter")  # the other incident: its own (empty) draft
        await settle(pilot)
        await pilot.press("n")
        assert app.screen.query_one("#text", Input).value == ""
        await pilot.press("escape", "escape", "k", "enter")
        await settle(pilot)
        await pilot.press("n", "enter")  # saved: the draft is gone
        await settle(pilot)
        assert detail(tui_store, app.screen.incident_id)["timeline"][-1]["summary"] == "pool at max"
        await pilot.press("n")
        assert app.screen.query_one("#text", Input).value == ""


async def test_ctrl_d_discards_the_draft(make, tui_store, incident):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_war_room(pilot)
        await pilot.press("u")
        template = app.screen.query_one(TextArea).text
        app.screen.query_one(TextArea).text = "half a thought"
        await pilot.press("escape", "u")
        assert app.screen.query_one(TextArea).text == "half a thought"
        await pilot.press("ctrl+d")
        await settle(pilot)
        assert any(n.message == "Draft discarded." for n in app._notifications)
        await pilot.press("u")
        assert app.screen.query_one(TextArea).text == template
        await pilot.press("escape", "n", *"a note", "escape", "n", "ctrl+d", "n")
        assert app.screen.query_one("#text", Input).value == ""


@pytest.mark.parametrize("key", ["ctrl+enter", "ctrl+j", "ctrl+s"])
async def test_ctrl_enter_posts_as_ctrl_s_does(make, tui_store, incident, key):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_war_room(pilot)
        await pilot.press("u")
        app.screen.query_one(TextArea).text = "We are rolling back the payment service."
        await pilot.press(key)
        await settle(pilot)
        with tui_store.db.read() as session:
            update = session.exec(select(StatusUpdate)).one()
        assert update.message == "We are rolling back the payment service."
        await pilot.press("u")  # posted: the draft went with it
        assert app.screen.query_one(TextArea).text.startswith("We are currently investigating")


async def test_ctrl_d_still_deletes_where_there_is_no_draft(make, tui_store, incident):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_war_room(pilot)
        await pilot.press("plus", *"abc", "left", "left", "ctrl+d")  # a reason is not a draft
        assert app.screen.query_one("#text", Input).value == "ac"


def test_drafts_survive_a_restart_and_a_damaged_file_is_no_drafts(tmp_path):
    from tui.drafts import NOTE, Drafts

    path = tmp_path / "state" / "drafts.json"
    Drafts(path).keep("INC-1", NOTE, {"text": "[b]pool[/b] at max\x1b[2J"})
    assert Drafts(path).get("INC-1", NOTE) == {"text": "[b]pool[/b] at max\x1b[2J"}  # as typed, data
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Drafts(path).get("INC-2", NOTE) is None
    gone = Drafts(path)
    gone.discard("INC-1", NOTE)
    assert Drafts(path).get("INC-1", NOTE) is None
    path.write_text("{not json")
    assert Drafts(path).get("INC-1", NOTE) is None


# -- how the dialogs look (80x24, the default SSH window, and 160x48) ---------------------

SIZES = [(80, 24), (160, 48)]


def sized(size) -> str:
    return f"{size[0]}x{size[1]}"


@pytest.mark.parametrize("size", SIZES, ids=sized)
def test_snapshot_severity_reason(snap_compare, make, incident, size):
    async def run_before(pilot):
        await open_war_room(pilot)
        await pilot.press("plus", *"EU checkout failing too")
        await settle(pilot)

    assert snap_compare(make(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=sized)
def test_snapshot_resolve_warning(snap_compare, make, tui_store, incident, size):
    tui_store.start_remediation(incident.id, "Rolling back checkout-frontend to v41", actor="alice")

    async def run_before(pilot):
        await open_war_room(pilot)
        await pilot.press("s", "j", "j", "enter")
        await settle(pilot)

    assert snap_compare(make(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=sized)
def test_snapshot_offer_to_post(snap_compare, make, incident, size):
    async def run_before(pilot):
        await open_war_room(pilot)
        await pilot.press("s", "enter")
        await settle(pilot)

    assert snap_compare(make(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=sized)
def test_snapshot_restored_draft(snap_compare, make, incident, size):
    async def run_before(pilot):
        await open_war_room(pilot)
        await pilot.press("u")
        pilot.app.screen.query_one(TextArea).text = "Card payments in the EU fail at checkout; "
        await pilot.press("escape", "u")
        await settle(pilot)

    assert snap_compare(make(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=sized)
def test_snapshot_runbook_confirmation(snap_compare, tmp_path, clock, size):
    from playbooks import load_policy
    from store.database import open_database
    from store.operations import IncidentStore
    from tui.app import Settings, make_app

    user = tmp_path / "playbooks"
    user.mkdir()
    (user / "runbooks.toml").write_text(  # never run here: the picture is of the question
        '[[runbooks]]\nname = "scale"\ndescription = "d"\n'
        'command = ["kubectl", "--context=prod-eu-west-1", "--namespace=payments-production", "scale",'
        ' "deployment/checkout-frontend", "--replicas={replicas}"]\n'
        '[runbooks.params]\nreplicas = { type = "name" }\n')
    store = IncidentStore(open_database(f"sqlite:///{tmp_path / 'x.db'}"), load_policy(user), clock)
    incident = store.declare("high", "outage", "production", actor="a", title="Checkout down")
    app = make_app(store, Settings(actor="tester", export_dir=tmp_path, watch=False, detect=False), incident.id)

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("e", "enter", *"60", "enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)

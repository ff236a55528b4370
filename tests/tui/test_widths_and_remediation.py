"""Issue 14, smaller items: the incident list's scrollbar at the pane's right edge and its
STATUS / COMMANDER columns whenever the width allows; dialogs that use the width at 160
and stay whole at 80x24 and 60x20; stakeholder names whole in the war room at 80x24; and
remediation ended from the TUI (done with its outcome, or cancelled), Cancel by default."""
from __future__ import annotations

import pytest
from textual.geometry import Region
from textual.widgets import Input, OptionList

from tests.tui.conftest import settle
from tests.tui.test_keys import detail, open_war_room


def declare_many(store, count: int = 20) -> list:
    severities = ("critical", "high", "medium", "low")
    incidents = [store.declare(severities[n % 4], "outage", "production", actor="alice",
                               title=f"Checkout failing for EU card payments, wave {n}") for n in range(count)]
    store.assign_role(incidents[0].id, "incident_commander", "Dana", actor="alice")
    return incidents


def lines_of(widget) -> list[str]:
    """Every line a widget paints, at its real width (all of it, scrolled into view or not)."""
    return [strip.text for strip in widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))]


def thumb_rows(clocks) -> list[int]:
    """The lines of the list's scrollbar that draw its thumb."""
    return [n for n, seg in enumerate(clocks.scrollbar()) if seg.text.strip() or (seg.style and seg.style.reverse)]


def list_widgets(app):
    from tui.widgets.incident_table import IncidentClocks, IncidentTable

    screen = app.screen
    return screen.query_one(IncidentTable), screen.query_one(IncidentClocks), screen.query_one("#incidents-pane")


# -- 1. the incident list ------------------------------------------------------------------
@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_list_scrollbar_sits_at_the_pane_right_edge(make, tui_store, size):
    declare_many(tui_store)
    app = make()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        table, clocks, pane = list_widgets(app)
        # Nothing between the title and the clocks: the table draws no scrollbar of its own ...
        assert table.styles.scrollbar_size_vertical == 0 and table.scrollbar_size_vertical == 0
        assert table.region.right == clocks.region.x
        # ... and the clocks end at the pane's right border, their last column the scrollbar.
        assert clocks.region.right == pane.region.right - 1
        if size == (80, 24):  # 20 rows in 8 lines: a thumb, at the top, then at the bottom
            assert table.max_scroll_y > 0
            top = thumb_rows(clocks)
            assert top and top[0] == 0
            # It is drawn in the pane's last inside column, on the screen itself.
            x = pane.region.right - 2
            row = clocks.region.y + table.header_height + top[0]
            strip = app.screen._compositor.render_strips()[row]
            edge = strip.crop(x, x + 1)
            assert edge.text.strip() or any(seg.style.reverse or seg.style.bgcolor for seg in edge)
            for _ in range(19):
                await pilot.press("j")
            await settle(pilot)
            bottom = thumb_rows(clocks)
            assert bottom[-1] == clocks.size.height - table.header_height - 1 and bottom[0] > top[0]
        else:  # every row fits: no thumb, the column stays reserved (widths never shift)
            assert table.max_scroll_y == 0
            assert thumb_rows(clocks) == []


async def test_status_and_commander_show_whenever_the_width_allows(make, tui_store):
    incidents = declare_many(tui_store, 3)
    led = incidents[0].id
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table, clocks, _ = list_widgets(app)

        def labels() -> list[str]:
            return [str(column.label) for column in table.columns.values()] + [label for label, _ in clocks.columns]

        # 80: what matters at 3 a.m.: id, severity, title, status and the two deadlines.
        assert labels() == ["ID", "SEV", "TITLE", "STATUS", "ACK DUE", "UPD DUE"]
        assert str(table.get_cell(led, "status")) == "investig."
        assert table.columns[next(k for k in table.columns if k.value == "title")].width >= 24
        await pilot.resize_terminal(100, 30)
        await settle(pilot)
        assert labels() == ["ID", "SEV", "TITLE", "STATUS", "COMMANDER", "ACK DUE", "UPD DUE"]
        assert str(table.get_cell(led, "commander")) == "Dana"
        assert str(table.get_cell(incidents[1].id, "commander")) == "unassigned"
        await pilot.resize_terminal(160, 48)
        await settle(pilot)
        assert labels() == ["ID", "SEV", "TYPE", "ENV", "TITLE", "STATUS", "COMMANDER", "AGE", "ACK DUE", "UPD DUE"]
        assert str(table.get_cell(led, "id")) == led and str(table.get_cell(led, "status")) == "investigating"
        # The columns fill the pane exactly: the clocks and the scrollbar end at its border.
        _, clocks, pane = list_widgets(app)
        assert clocks.region.right == pane.region.right - 1
        await pilot.resize_terminal(60, 20)
        await settle(pilot)
        assert labels() == ["ID", "SEV", "TITLE", "ACK DUE", "UPD DUE"]


async def test_a_new_commander_shows_on_the_dashboard(make, tui_store):
    incident = tui_store.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    app = make()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        table, _, _ = list_widgets(app)
        assert str(table.get_cell(incident.id, "commander")) == "unassigned"
        tui_store.assign_role(incident.id, "incident_commander", "Alexandra Petrovic-Whitfield", actor="bob")
        app.screen.refresh_data()
        await settle(pilot)
        shown = table.get_cell(incident.id, "commander")
        assert shown.plain.startswith("Alexandra Pet") and shown.plain.endswith("…")  # cut visibly, not mid-letter
        assert shown.cell_len <= table.columns[next(k for k in table.columns if k.value == "commander")].width


# -- 2. dialogs ---------------------------------------------------------------------------
def dialog_of(app):
    return app.screen.query_one(".dialog")


@pytest.mark.parametrize("key", ["n", "u", "m"])
async def test_dialogs_use_the_width_at_160_and_stay_whole_when_small(make, tui_store, key):
    tui_store.declare("high", "outage", "production", actor="alice", title="Checkout down")
    widths = {}
    for size in ((160, 48), (80, 24), (60, 20)):
        app = make()
        async with app.run_test(size=size) as pilot:
            await open_war_room(pilot)
            await pilot.press(key)
            await settle(pilot)
            dialog = dialog_of(app)
            assert app.screen.region.contains_region(dialog.region), (size, dialog.region)
            for field in dialog.query(Input):  # every field is on the screen, whole
                assert dialog.region.contains_region(field.region)
            widths[size] = dialog.region.width
    assert widths[(160, 48)] >= 110  # 70% of the window
    assert widths[(80, 24)] == 72 and widths[(60, 20)] <= 57


async def test_a_confirmation_body_wraps_on_fewer_lines_at_160(make, tui_store):
    from tui.screens.prompts import ChoicePrompt

    command = ("kubectl --context=prod-eu-west-1 --namespace=payments-production scale "
               "deployment/checkout-frontend --replicas=60 --timeout=120s --record")
    heights = {}
    for size in ((160, 48), (80, 24), (60, 20)):
        app = make()
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await app.push_screen(ChoicePrompt("Run scale on this host?", ["Cancel", "Run it"], default="Cancel",
                                               body=command))
            await settle(pilot)
            body = app.screen.query_one("#body")
            assert app.screen.region.contains_region(dialog_of(app).region)
            assert "--replicas=60" in "".join(lines_of(body)).replace(" ", "")
            heights[size] = body.region.height
    assert heights[(160, 48)] < heights[(80, 24)] <= heights[(60, 20)]


# -- 3. stakeholders at 80 columns ---------------------------------------------------------
async def test_stakeholder_names_are_whole_at_80_columns(make, tui_store):
    from tui.widgets.war_room_panes import SidePane

    incident = tui_store.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    groups = [g["group"] for g in detail(tui_store, incident.id)["policy"]["stakeholders"]]
    assert len(groups) >= 5 and any(len(g) > 15 for g in groups)
    app = make(open_incident=incident.id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        side = app.screen.query_one(SidePane)
        lines = [line.rstrip() for line in lines_of(side)]
    section = lines[lines.index("Stakeholders") + 1:lines.index("Status updates")]
    shown = " ".join(line.strip() for line in section)
    for group in groups:
        assert group in shown, (group, section)
    assert not any("…" in line for line in section)
    assert "not configured" in section  # the state once, whole, above the groups it applies to


# -- 4. remediation --------------------------------------------------------------------------
def remediation(store, incident_id) -> list[dict]:
    return detail(store, incident_id)["remediation"]


async def type_and_enter(pilot, text: str) -> None:
    pilot.app.screen.query_one(Input).value = text
    await pilot.press("enter")
    await settle(pilot)


async def choose(pilot, choice: str) -> None:
    options = pilot.app.screen.query_one(OptionList)
    index = next(n for n, option in enumerate(options.options) if option.id == choice)
    await pilot.press(*["j"] * (index - options.highlighted))
    await pilot.press("enter")
    await settle(pilot)


@pytest.fixture
def acked(tui_store):
    incident = tui_store.declare("high", "outage", "production", actor="alice", title="Checkout down")
    tui_store.acknowledge(incident.id, actor="alice")
    return incident


async def test_m_starts_then_ends_a_remediation_as_done_with_its_outcome(make, tui_store, acked):
    from tui.screens.prompts import ChoicePrompt, TextPrompt
    from tui.widgets.war_room_panes import SidePane

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_war_room(pilot)
        await pilot.press("m")
        assert isinstance(app.screen, TextPrompt) and app.screen.title_text == "Start remediation"
        await type_and_enter(pilot, "Scale [checkout] pool to 200")
        [running] = remediation(tui_store, acked.id)
        assert running["finished_at"] is None
        # m again: Cancel is highlighted, and enter alone changes nothing.
        await pilot.press("m")
        assert isinstance(app.screen, ChoicePrompt)
        assert [o.id for o in app.screen.query_one(OptionList).options] == [
            "Cancel", f"#{running['id']} done (record the outcome)", f"#{running['id']} cancelled (say why)",
            "Start another"]
        assert app.screen.query_one(OptionList).highlighted_option.id == "Cancel"
        assert "Scale [checkout] pool to 200" in " ".join(lines_of(app.screen.query_one("#body")))
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen and remediation(tui_store, acked.id)[0]["finished_at"] is None
        # Done, with the outcome; esc on the outcome keeps it running.
        await pilot.press("m")
        await choose(pilot, f"#{running['id']} done (record the outcome)")
        assert isinstance(app.screen, TextPrompt) and "outcome" in app.screen.title_text
        await pilot.press("escape")
        await settle(pilot)
        assert remediation(tui_store, acked.id)[0]["finished_at"] is None
        await pilot.press("m")
        await choose(pilot, f"#{running['id']} done (record the outcome)")
        await type_and_enter(pilot, "errors back to baseline")
        [ended] = remediation(tui_store, acked.id)
        assert ended["finished_at"] is not None and ended["outcome"] == "errors back to baseline"
        side = " ".join(lines_of(screen.query_one(SidePane)))
        assert "Scale [checkout] pool to 200 · done: errors back to baseline" in " ".join(side.split())
        # Nothing running: m starts one again.
        await pilot.press("m")
        assert isinstance(app.screen, TextPrompt) and app.screen.title_text == "Start remediation"


async def test_m_cancels_a_remediation_with_why_and_resolve_stops_warning(make, tui_store, acked):
    from tui.screens.prompts import ChoicePrompt, TextPrompt
    from tui.widgets.war_room_panes import SidePane

    first = tui_store.start_remediation(acked.id, "Fail over to eu-west-2", actor="alice")
    app = make()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_war_room(pilot)
        # Resolve still warns while it runs (and Cancel keeps the incident open).
        await pilot.press("s", "j", "j", "enter")
        assert isinstance(app.screen, ChoicePrompt) and "still open" in app.screen.title_text
        assert "Remediation still running: Fail over to eu-west-2" in " ".join(lines_of(app.screen.query_one("#body")))
        await pilot.press("enter")
        await settle(pilot)
        # Start another from the same dialog, then cancel the first, saying why.
        await pilot.press("m")
        await choose(pilot, "Start another")
        assert isinstance(app.screen, TextPrompt) and app.screen.title_text == "Start remediation"
        await type_and_enter(pilot, "Roll back deploy 42")
        await pilot.press("m")
        assert app.screen.title_text == "2 remediations running"
        await choose(pilot, f"#{first.id} cancelled (say why)")
        assert isinstance(app.screen, TextPrompt) and "cancelled" in app.screen.title_text
        await type_and_enter(pilot, "replication lag too high")
        actions = {a["description"]: a for a in remediation(tui_store, acked.id)}
        assert actions["Fail over to eu-west-2"]["outcome"] == "cancelled: replication lag too high"
        assert actions["Roll back deploy 42"]["finished_at"] is None
        side = " ".join(" ".join(lines_of(screen.query_one(SidePane))).split())
        assert f"#{first.id} Fail over to eu-west-2 · cancelled: replication lag too high" in side
        assert "Roll back deploy 42 (since" in side and "m to end" in side
        # Finish the other: resolving no longer mentions remediation (nothing else is open).
        await pilot.press("m")
        await choose(pilot, next(o.id for o in app.screen.query_one(OptionList).options if "done" in o.id))
        await type_and_enter(pilot, "deploy 41 serving")
        await pilot.press("s", "j", "j", "enter")
        await settle(pilot)
        assert "still open" not in getattr(app.screen, "title_text", "")
        assert detail(tui_store, acked.id)["status"] == "resolved"

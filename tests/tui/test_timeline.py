"""The war room's timeline: focused with `t`, scrolled back to the first event, filtered by
kind, each row marked with its kind, `enter` shows an event in full, stored text as data."""
from __future__ import annotations

import pytest
from rich.text import Text

from tests.tui.conftest import settle, text_of

HOSTILE = "[@click=app.quit]quit[/] [b]loud[/b] \x1b[31mred\u202e"


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


def timeline_of(screen):
    from tui.widgets.timeline import Timeline

    return screen.query_one(Timeline)


def rows(timeline) -> list[str]:
    return [str(option.prompt) for option in timeline.options]


def row_on_screen(timeline, y: int) -> str:
    return timeline.render_line(y).text


async def test_t_focuses_the_timeline_and_esc_goes_back_to_the_checklist(make, incident):
    from tui.widgets.checklist import Checklist

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_war_room(pilot)
        timeline = timeline_of(screen)
        assert screen.focused is screen.query_one(Checklist)
        await pilot.press("t")
        assert screen.focused is timeline
        assert "war_room.timeline" in {b.id for b in screen.BINDINGS}
        await pilot.press("escape")  # back to the checklist, not out of the war room
        assert app.screen is screen and screen.focused is screen.query_one(Checklist)


async def test_scrolling_back_reaches_the_first_of_fifty_events(make, tui_store, incident):
    for number in range(2, 51):
        tui_store.add_note(incident.id, f"observation {number}", actor="bob")
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_war_room(pilot)
        timeline = timeline_of(screen)
        assert len(timeline.options) == 50 and timeline.border_title == "Timeline (50)"
        # It opens on the latest events: the newest is highlighted, the first is scrolled away.
        assert "observation 50" in str(timeline.highlighted_option.prompt)
        assert timeline.scroll_y > 0
        assert "observation 50" in row_on_screen(timeline, timeline.highlighted - int(timeline.scroll_y))
        await pilot.press("t", *["k"] * 49)
        await pilot.pause()
        assert timeline.highlighted == 0 and timeline.scroll_y == 0
        assert "alice:" in row_on_screen(timeline, 0) and "status" in row_on_screen(timeline, 0)
        await pilot.press("G")  # and back to the newest
        await pilot.pause()
        assert timeline.highlighted == 49 and timeline.scroll_y == timeline.max_scroll_y


async def test_enter_shows_a_multi_line_note_in_full_with_its_fields(make, tui_store, incident):
    from tui.screens.timeline_event import TimelineEventScreen

    note = "DB pool at max\nreplica lag 40s on db-2\nfailing over at 14:40 unless it recovers"
    tui_store.add_note(incident.id, note, actor="bob")
    tui_store.change_severity(incident.id, "critical", actor="alice", reason="EU checkout failing too")
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_war_room(pilot)
        timeline = timeline_of(screen)
        row = rows(timeline)[-2]
        assert "bob: DB pool at max" in row and "(+2 lines, enter)" in row and "replica" not in row
        await pilot.press("t", "k", "enter")
        await settle(pilot)
        assert isinstance(app.screen, TimelineEventScreen)
        shown = text_of(app.screen.query_one("#timeline-event-body"))
        for line in note.split("\n"):
            assert line in shown
        assert "bob" in shown and "notes" in shown and "(note)" in shown
        await pilot.press("escape")
        assert app.screen is screen and screen.focused is timeline
        await pilot.press("j", "enter")  # the severity change: its reason is among the recorded fields
        await settle(pilot)
        shown = text_of(app.screen.query_one("#timeline-event-body"))
        assert "Recorded with it" in shown and "reason" in shown and "EU checkout failing too" in shown
        assert "(severity_changed)" in shown


async def test_filter_shows_only_notes_and_says_so(make, tui_store, incident):
    tui_store.add_note(incident.id, "first note", actor="bob")
    tui_store.post_status_update(incident.id, "We are investigating checkout errors.", actor="priya")
    tui_store.add_note(incident.id, "second note", actor="bob")
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_war_room(pilot)
        timeline = timeline_of(screen)
        everything = len(timeline.options)
        await pilot.press("t", "2")
        assert [r.split(": ", 1)[1] for r in rows(timeline)] == ["first note", "second note"]
        assert timeline.border_title == f"Timeline: notes (2 of {everything})"
        await pilot.press("3")
        assert len(rows(timeline)) == 1 and "We are investigating" in rows(timeline)[0]
        await pilot.press("1")
        assert len(timeline.options) == everything and timeline.border_title == f"Timeline ({everything})"
        await pilot.press("f")  # f cycles: all -> notes -> updates -> status -> automation -> all
        assert timeline.kind_filter == "notes"
        await pilot.press("f", "f", "f", "f")
        assert timeline.kind_filter == "all"


async def test_every_row_is_marked_with_its_kind(make, tui_store, incident, clock):
    from automation.escalation import escalate_overdue

    tui_store.add_note(incident.id, "looking at the load balancer", actor="bob")
    tui_store.post_status_update(incident.id, "We are investigating.", actor="priya")
    clock.advance(hours=2)  # past the response deadline, never acknowledged
    assert escalate_overdue(tui_store) == [incident.id]
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_war_room(pilot)
        marked = {r.split()[2].rstrip(":"): r.split()[1] for r in rows(timeline_of(screen))}
        assert marked["alice"] == "status"  # declared
        assert marked["bob"] == "note" and marked["priya"] == "update" and marked["automation"] == "auto"
        await pilot.press("t", "5")
        assert [r.split()[1] for r in rows(timeline_of(screen))] == ["auto"]


async def test_new_events_follow_at_the_bottom_and_keep_the_place_when_reading_back(make, tui_store, incident):
    for number in range(30):
        tui_store.add_note(incident.id, f"observation {number}", actor="bob")
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_war_room(pilot)
        timeline = timeline_of(screen)
        tui_store.add_note(incident.id, "arrived while watching", actor="carol")
        app.check_for_changes()
        await settle(pilot)
        assert "arrived while watching" in str(timeline.highlighted_option.prompt)
        assert timeline.scroll_y == timeline.max_scroll_y
        await pilot.press("t", *["k"] * 20)  # reading back
        await pilot.pause()
        reading, offset = timeline.highlighted_seq, timeline.scroll_y
        tui_store.add_note(incident.id, "arrived while reading back", actor="carol")
        app.check_for_changes()
        await settle(pilot)
        assert "arrived while reading back" in rows(timeline)[-1]
        assert timeline.highlighted_seq == reading and timeline.scroll_y == offset


async def test_a_hostile_summary_shows_literally_in_the_row_and_in_full(make, tui_store, incident):
    from tui.screens.timeline_event import TimelineEventScreen

    import json

    from store.models import TimelineEvent

    event = tui_store.add_note(incident.id, "placeholder", actor="seed")
    with tui_store.db.write() as session:  # past validation, as a direct write or a restored row would be
        row = session.get(TimelineEvent, event.seq)
        row.summary, row.actor = HOSTILE + "\nsecond " + HOSTILE, "[red]mallory[/red]"
        row.data = json.dumps({"[b]field[/b]": HOSTILE})
        session.add(row)
    app = make()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_war_room(pilot)
        timeline = timeline_of(screen)
        prompt = timeline.options[-1].prompt
        assert isinstance(prompt, Text)
        assert "[red]mallory[/red]: [@click=app.quit]quit[/] [b]loud[/b] \\x1b[31mred\\u202e" in prompt.plain
        assert all(not span.style or "@click" not in str(span.style) for span in prompt.spans)
        # On the screen the row reads the same, with no control character in it.
        line = row_on_screen(timeline, timeline.highlighted - int(timeline.scroll_y))
        assert "[@click=app.quit]quit[/] [b]loud[/b] \\x1b[31mred" in line and "\x1b" not in line
        y = timeline.highlighted - int(timeline.scroll_y) + 1  # the border
        await pilot.click(timeline, offset=(40, y))  # a click opens the event; nothing else runs
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, TimelineEventScreen)
        shown = text_of(app.screen.query_one("#timeline-event-body"))
        assert shown.count("[@click=app.quit]quit[/] [b]loud[/b] \\x1b[31mred\\u202e") == 3  # two lines, one field
        assert "[red]mallory[/red]" in shown and "[b]field[/b]" in shown and "\x1b" not in shown


async def test_help_lists_the_timeline_keys_while_it_has_the_focus(make, incident):
    app = make()
    async with app.run_test(size=(120, 50)) as pilot:
        await open_war_room(pilot)
        await pilot.press("question_mark")
        shown = text_of(app.screen.query_one("#help-dialog Static"))
        assert "Timeline: read the timeline" in shown and "timeline: notes only" not in shown
        await pilot.press("escape", "t", "question_mark")
        shown = text_of(app.screen.query_one("#help-dialog Static"))
        for meaning in ("timeline: notes only", "timeline: status updates only", "timeline: next kind",
                        "what automation did", "back to the checklist", "the first (oldest) event"):
            assert meaning in shown
        assert "Down: " not in shown  # its moves are the list's, listed once below

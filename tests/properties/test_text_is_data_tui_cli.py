"""Issue 13, acceptance 1 (the command center and the command line): stored text is data.

Hostile strings (tests/support/hostile_text.py: markup, click actions, escape sequences, C1
controls, bidi overrides, line separators ...) are written straight into the database, past
validation, as a restore or a teammate's direct write on PostgreSQL would: an incident's
title, service and declarer, every timeline event's summary and actor, a role's holder, a
remediation, a status update, a checklist step, an anomaly, and an outbox message's
integration, group and vendor error. Then:

* The command center under Pilot (dashboard, war room, outbox): each widget is given the
  text as `Text` whose plain string is the text with every unprintable character escaped
  (`playbooks.errors.one_line`, what the CLI prints too), with no span or style carrying a
  link or an @click action; no segment on the screen carries one either, nor an ESC, C1,
  bidi or separator code point; clicking the planted cells runs nothing (the app keeps
  running, the incident is neither acknowledged nor re-rated, no screenshot is written).
* The command line (`list`, `show`, `show --json`, `outbox`, `outbox --json`, run through
  tui.cli.main): every character on stdout and stderr is printable but the newlines, the
  escaped text is there (the list's title in its column, aligned), and the JSON forms read
  back as exactly the stored text.
"""
from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import tempfile
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given
from rich.console import Group
from rich.padding import Padding
from rich.style import Style
from rich.table import Table
from rich.text import Text
from sqlmodel import select

from playbooks import load_policy
from playbooks.errors import one_line
from store.database import open_database
from store.models import (Anomaly, ChecklistStep, Incident, Notification, RemediationAction, RoleAssignment,
                          StatusUpdate, TimelineEvent)
from store.operations import IncidentStore
from tests.properties.common import property_settings
from tests.support.hostile_text import HOSTILE, hostile_text

NOW = datetime(2024, 1, 18, 14, 30, 0)
# What must never reach a terminal raw: C0 but newline, DEL, C1, bidi controls and marks,
# line and paragraph separators.
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def visible(text: str) -> str:
    return one_line(text)


def first_line(text: str) -> str:
    return one_line(text.split("\n", 1)[0])


# -- the database, written past validation -----------------------------------------------
def planted_store(folder: Path, text: str) -> tuple[IncidentStore, str]:
    """A store holding `text` in every field the command center and the CLI show; the id."""
    store = IncidentStore(open_database(f"sqlite:///{folder / 'incidents.db'}"), load_policy(), lambda: NOW)
    incident = store.declare("critical", "outage", "production", actor="seed", title="placeholder",
                             service="placeholder")
    store.add_note(incident.id, "placeholder", actor="seed")
    store.assign_role(incident.id, "ic", "placeholder", actor="seed")
    store.start_remediation(incident.id, "placeholder", actor="seed")
    store.post_status_update(incident.id, "placeholder", actor="seed")
    with store.db.write() as session:
        row = session.get(Incident, incident.id)
        row.title, row.service, row.declared_by = text, text, text
        session.add(row)
        for model, fields in ((TimelineEvent, ("summary", "actor")), (RoleAssignment, ("person",)),
                              (RemediationAction, ("description",)), (StatusUpdate, ("message",))):
            for item in session.exec(select(model).where(model.incident_id == incident.id)):
                for name in fields:
                    setattr(item, name, text)
                session.add(item)
        step = session.exec(select(ChecklistStep).where(ChecklistStep.incident_id == incident.id)
                            .order_by(ChecklistStep.id)).first()
        step.text = text
        session.add(step)
        session.add(Anomaly(at=NOW, metric="error_rate", value=9.0, baseline=1.0, description=text,
                            incident_id=incident.id))
        session.add(Notification(incident_id=incident.id, integration=text, stakeholder_group=text, event="declared",
                                 idempotency_key=f"planted-{incident.id}", payload="{}", state="dead", attempts=1,
                                 last_error=text, created_at=NOW))
    return store, incident.id


# -- what the widgets were given ------------------------------------------------------------
def parts(renderable) -> list:
    """Every Text (and str, and Content) inside what a widget renders."""
    from textual.content import Content

    if isinstance(renderable, (Text, str, Content)):
        return [renderable]
    if isinstance(renderable, Group):
        return [p for r in renderable.renderables for p in parts(r)]
    if isinstance(renderable, Table):
        return [p for column in renderable.columns for c in column._cells for p in parts(c)]
    if isinstance(renderable, Padding):
        return parts(renderable.renderable)
    return []


def acts(style) -> bool:
    """A style that is a link or carries an action (Rich's @click meta, Textual's too)."""
    if style is None or style == "":
        return False
    if isinstance(style, str):
        return "link" in style or "@click" in style
    if isinstance(style, Style):
        return bool(style.link) or "@click" in (style.meta or {})
    return bool(getattr(style, "link", None)) or "@click" in (getattr(style, "meta", None) or {})


def assert_inert(renderable, text: str, fixed: bool) -> list[str]:
    """No span acts, no raw control; a str (read as markup) never carries the planted text.
    Returns the plain strings shown."""
    shown = []
    for part in parts(renderable):
        if isinstance(part, str):
            # A str is markup to Rich and Textual: it must never be where stored text goes.
            # (Only the fixed cases are distinctive enough to look for.)
            assert not fixed or (text not in part and visible(text) not in part), repr(part)
            continue
        assert not acts(getattr(part, "style", None)), repr(part)
        assert not any(acts(span.style) for span in part.spans), repr(part.spans)
        assert not RAW.search(part.plain), repr(part.plain)
        shown.append(part.plain)
    return shown


def screen_segments(app):
    update = app.screen._compositor.render_update(full=True)
    for line in update.strips:
        for strip in line:
            yield from strip


def assert_screen_inert(app) -> str:
    """Nothing on the screen links or acts or writes a raw control; the screen's text."""
    text = []
    for segment in screen_segments(app):
        assert not RAW.search(segment.text), repr(segment.text)
        style = segment.style
        if style is not None:
            assert not style.link, repr(segment)
            assert "@click" not in (style.meta or {}), repr(segment)
        text.append(segment.text)
    return "".join(text)


# -- the command center ---------------------------------------------------------------------
async def check_command_center(store: IncidentStore, incident_id: str, text: str, folder: Path, *,
                               fixed: bool, click: bool) -> None:
    from tests.tui.conftest import settle
    from tui.app import Settings, make_app
    from tui.screens.outbox import OutboxScreen, OutboxTable
    from tui.widgets.checklist import Checklist
    from tui.widgets.incident_table import IncidentTable
    from tui.widgets.panes import AnomalyPane, RemediationPane
    from tui.screens.timeline_event import TimelineEventScreen
    from tui.widgets.timeline import Timeline
    from tui.widgets.war_room_panes import IncidentBanner, SidePane

    app = make_app(store, Settings(actor="tester", export_dir=folder / "handover", watch=False, detect=False))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        # The dashboard: the incident's title cell, the anomaly and the remediation.
        table = app.screen.query_one(IncidentTable)
        title = table.get_cell(incident_id, "title")
        assert isinstance(title, Text) and title.plain == visible(text)
        assert_inert(title, text, fixed)
        assert visible(text) in assert_inert(app.screen.query_one(AnomalyPane).render(), text, fixed)
        assert visible(text) in assert_inert(app.screen.query_one(RemediationPane).render(), text, fixed)
        screen = assert_screen_inert(app)
        if fixed:
            assert visible(text)[:24] in screen
        if click:  # on the title cell: a "[@click=...]" in it would act here
            x = sum(column.get_render_width(table) for column in list(table.columns.values())[:4]) + 2
            await pilot.click(IncidentTable, offset=(x, 1))
            await settle(pilot)
            assert app.is_running and app.return_code is None
        # The war room: banner, checklist, roles/updates/remediation, timeline.
        app.open_war_room(incident_id)
        await settle(pilot)
        banner = assert_inert(app.screen.query_one(IncidentBanner).render(), text, fixed)
        assert banner[0].endswith(f" · {visible(text)}")
        side = assert_inert(app.screen.query_one(SidePane).render(), text, fixed)
        assert visible(text) in side  # the commander
        assert any(line.endswith(first_line(text)) for line in side)  # the status update
        assert any(visible(text) in line for line in side)  # the remediation
        timeline = [line for option in app.screen.query_one(Timeline).options
                    for line in assert_inert(option.prompt, text, fixed)]
        assert any(f"{visible(text)}: {first_line(text)}" in row for row in timeline)  # actor: summary
        steps = [assert_inert(option.prompt, text, fixed) for option in app.screen.query_one(Checklist).options]
        assert any(visible(text) in line for shown in steps for line in shown)
        screen = assert_screen_inert(app)
        if fixed:
            assert first_line(text)[:24] in screen
        if click:  # the planted events are the last lines of the timeline: across each (a click opens it)
            pane = app.screen.query_one(Timeline)
            for y in range(max(0, pane.size.height - 3), pane.size.height):
                for x in range(0, pane.size.width, 12):
                    await pilot.click(Timeline, offset=(x, y))
                    await settle(pilot, rounds=1)
                    if isinstance(app.screen, TimelineEventScreen):  # the event in full: data too
                        assert visible(text) in assert_inert(app.screen.body(), text, fixed)
                        assert_screen_inert(app)
                        await pilot.press("escape")
            await settle(pilot)
            assert app.is_running and app.return_code is None
        # The outbox of this incident: the vendor's error, the group, the integration.
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(app.screen, OutboxScreen)
        outbox = app.screen.query_one(OutboxTable)
        cells = outbox.get_row_at(0)
        shown = [p for c in cells for p in assert_inert(c, text, fixed)]
        assert visible(text) in shown  # the integration, and the group
        assert any(line.endswith(visible(text)) for line in shown)  # "failed after 1 try: <error>"
        detail = assert_inert(app.screen.query_one("#outbox-detail").render(), text, fixed)
        assert detail and detail[0].endswith(visible(text))
        assert_screen_inert(app)
        if click:
            await pilot.click(OutboxTable, offset=(outbox.size.width - 20, 1))
            await settle(pilot)
            assert app.is_running and app.return_code is None
    with store.db.read() as session:  # nothing acted: not acknowledged, not re-rated
        row = session.get(Incident, incident_id)
        assert row.acknowledged_at is None and row.severity == "SEV-1" and row.status == "investigating"


# A click action of each kind the command center would obey: quit, acknowledge, write a file.
def clicking(shot: Path) -> str:
    return (f"[@click=app.quit]quit[/] [@click=screen.ack]ack[/] [@click=screen.raise_severity]up[/] "
            f"[@click=app.screenshot('{shot.name}','{shot.parent}')]shot[/] [link=https://evil.example]x[/link]")


@pytest.mark.parametrize("case", sorted(HOSTILE) + ["clicking"])
def test_the_command_center_shows_each_hostile_case_as_data(case, tmp_path):
    shot = tmp_path / "owned.svg"
    text = clicking(shot) if case == "clicking" else HOSTILE[case]
    store, incident_id = planted_store(tmp_path, text)
    try:
        asyncio.run(check_command_center(store, incident_id, text, tmp_path, fixed=True, click=True))
    finally:
        store.db.dispose()
    assert not shot.exists()


@property_settings(6)
@given(text=hostile_text(max_size=60))
def test_the_command_center_shows_any_stored_text_as_data(text, tmp_path):
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    store, incident_id = planted_store(folder, text)
    try:
        asyncio.run(check_command_center(store, incident_id, text, folder, fixed=False, click=False))
    finally:
        store.db.dispose()


# -- the command line ------------------------------------------------------------------------
def run_cli(url: str, *argv: str) -> tuple[int, str, str]:
    from tui import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(["--db", url, *argv])
    return status, out.getvalue(), err.getvalue()


def assert_printable(output: str) -> None:
    bad = [c for c in output if not (c.isprintable() or c == "\n")]
    assert not bad, f"raw {bad[:5]!r} in {output[:400]!r}"


def check_command_line(url: str, incident_id: str, text: str) -> None:
    results = {}
    for argv in (("list",), ("show", incident_id), ("show", incident_id, "--json"), ("outbox",),
                 ("outbox", "--json"), ("list", "--json")):
        status, out, err = run_cli(url, *argv)
        assert status == 0, (argv, err)
        assert_printable(out)
        assert_printable(err)
        results[argv] = out
    # list: the title, escaped, in the TITLE column (escaped before padding: aligned).
    header, *rows = results[("list",)].splitlines()
    line = next(r for r in rows if r.startswith(incident_id))
    assert line[header.index("TITLE"):] == visible(text)
    # show: one line per field, each escaped.
    shown = results[("show", incident_id)].splitlines()
    assert f"  {visible(text)}  (service: {visible(text)})" in shown
    assert any(line.endswith(f"by {visible(text)}; acknowledged -") for line in shown)
    assert f"Roles: incident_commander={visible(text)}" in shown
    assert any(line.endswith(f"  {visible(text)}: {visible(text)}") for line in shown)  # a timeline event
    assert any(line.endswith(f". {visible(text)}") for line in shown)  # the checklist step
    # The JSON forms: the very same data back.
    detail = json.loads(results[("show", incident_id, "--json")])
    assert detail["title"] == text and detail["declared_by"] == text
    assert all(event["summary"] == text and event["actor"] == text for event in detail["timeline"])
    assert [r["title"] for r in json.loads(results[("list", "--json")])] == [text]
    messages = json.loads(results[("outbox", "--json")])
    assert any(m["last_error"] == text and m["group"] == text and m["integration"] == text for m in messages)
    # outbox: the vendor's error on the message's line, escaped.
    assert any(line.endswith(f"{visible(text)}: {visible(text)}") for line in results[("outbox",)].splitlines())


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_the_command_line_prints_each_hostile_case_as_data(case, tmp_path):
    store, incident_id = planted_store(tmp_path, HOSTILE[case])
    store.db.dispose()
    check_command_line(f"sqlite:///{tmp_path / 'incidents.db'}", incident_id, HOSTILE[case])


@property_settings(40)
@given(text=hostile_text())
def test_the_command_line_prints_any_stored_text_as_data(text, tmp_path):
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    store, incident_id = planted_store(folder, text)
    store.db.dispose()
    check_command_line(f"sqlite:///{folder / 'incidents.db'}", incident_id, text)


# -- after the incident: root cause, review, corrective actions -------------------------------
def plant_review(store: IncidentStore, incident_id: str, text: str) -> None:
    """The RCA, the review and an action item, each field holding `text` (written past validation)."""
    from store.models import ActionItem, PostIncidentReview, RootCauseAnalysis
    from store.review import add_action_item, update_rca, update_review

    update_rca(store, incident_id, actor="seed", impact="placeholder", root_cause="placeholder",
               add_details=["placeholder"], add_factors=["placeholder"])
    update_review(store, incident_id, actor="seed", facilitator="placeholder", add_attendees=["placeholder"],
                  notes={1: "placeholder"}, add_lessons=["placeholder"])
    add_action_item(store, incident_id, "placeholder", actor="seed", category="immediate", owner="placeholder")
    quoted = json.dumps(text)  # the JSON columns hold lists and maps of strings
    with store.db.write() as session:
        rca = session.get(RootCauseAnalysis, incident_id)
        rca.impact, rca.root_cause = text, text
        rca.root_cause_details = rca.root_cause_details.replace('"placeholder"', quoted)
        rca.contributing_factors = rca.contributing_factors.replace('"placeholder"', quoted)
        review = session.get(PostIncidentReview, incident_id)
        review.facilitator = text
        for name in ("attendees", "agenda_notes", "lessons_learned"):
            setattr(review, name, getattr(review, name).replace('"placeholder"', quoted))
        item = session.exec(select(ActionItem).where(ActionItem.incident_id == incident_id)).one()
        item.title, item.owner = text, text
        session.add_all([rca, review, item])


@pytest.mark.parametrize("case", ["rich_markup", "textual_action", "ansi_escape", "c1_controls", "bidi",
                                  "line_separators", "markdown"])
def test_the_post_incident_and_action_item_screens_show_stored_text_as_data(case, tmp_path):
    text = HOSTILE[case]
    store, incident_id = planted_store(tmp_path, text)
    plant_review(store, incident_id, text)

    async def check() -> None:
        from tests.tui.conftest import settle
        from tui.app import Settings, make_app
        from tui.screens.action_items import ActionItemsScreen
        from tui.screens.post_incident import PostIncidentScreen
        from tui.widgets.review_items import ActionItemTable
        from tui.widgets.review_panes import CorrectiveActions, PostIncidentBanner, ReviewPane, RootCausePane

        app = make_app(store, Settings(actor="tester", export_dir=tmp_path / "handover", watch=False, detect=False),
                       incident_id)
        async with app.run_test(size=(160, 48)) as pilot:
            await settle(pilot)
            await pilot.press("p")
            await settle(pilot)
            assert isinstance(app.screen, PostIncidentScreen)
            banner = assert_inert(app.screen.query_one(PostIncidentBanner).render(), text, True)
            assert banner[0].endswith(f" · {visible(text)}")
            rca = assert_inert(app.screen.query_one(RootCausePane).render(), text, True)
            lines = [line for shown in rca for line in shown.split("\n")]
            assert visible(text).split("\\n")[0] in lines  # the root cause; a note keeps its newlines
            assert f"• {first_line(text)}" in lines and f"1. {first_line(text)}" in lines
            review = assert_inert(app.screen.query_one(ReviewPane).render(), text, True)
            assert visible(text) in review  # the facilitator, and the attendees
            assert f"• {first_line(text)}" in [line for shown in review for line in shown.split("\n")]
            actions = [assert_inert(option.prompt, text, True) for option in app.screen.query_one(CorrectiveActions).options]
            assert any(visible(text) in line for shown in actions for line in shown)
            assert_screen_inert(app)
            await pilot.press("escape", "escape")
            await settle(pilot)
            await pilot.press("A")
            await settle(pilot)
            assert isinstance(app.screen, ActionItemsScreen)
            cells = [p for c in app.screen.query_one(ActionItemTable).get_row_at(0) for p in assert_inert(c, text, True)]
            assert cells.count(visible(text)) == 2  # the title and the owner
            assert_screen_inert(app)
            assert app.is_running

    try:
        asyncio.run(check())
    finally:
        store.db.dispose()


# -- the one escaping rule, directly ---------------------------------------------------------
@property_settings(200)
@given(text=hostile_text())
def test_one_line_leaves_nothing_a_terminal_would_obey_and_json_keeps_the_data(text):
    from tui.cli_output import printable_json, printable_toml

    shown = one_line(text)
    assert shown.isprintable() and not RAW.search(shown)
    for char in "\x1b\x9b\x85\u202e\u2066\u200f\u061c\u2028\u2029":  # each class, named in the escape
        assert one_line(f"a{char}b") == "a" + repr(char)[1:-1] + "b"
    document = printable_json({"title": text, "notes": [text]})
    assert not RAW.search(document) and json.loads(document) == {"title": text, "notes": [text]}
    import tomllib

    toml = printable_toml(f"title = {json.dumps(text, ensure_ascii=False)}\n")
    assert not RAW.search(toml)
    if not any("\ud800" <= c <= "\udfff" for c in text):  # TOML has no lone surrogates
        assert tomllib.loads(toml) == {"title": text}

"""Issue 14, the handover: the SVG is the WHOLE war room (a pane scrolled on screen is whole
in the file), text keeps the space after bold words, the pinned summary and next steps are in
the Markdown and the SVG, and the files are owner-only in the configured folder (by default
the user's state folder, never the folder the command center was started in)."""
from __future__ import annotations

import html
import io
import os
import re
import stat
from collections import defaultdict

import pytest
from rich.console import Console
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Input

from tests.tui.conftest import settle
from tests.tui.test_keys import open_war_room

ROLES = [("ic", "alice"), ("comms", "bob"), ("ops", "carol"), ("scribe", "dave"), ("security_lead", "erin"),
         ("liaison", "frank")]


@pytest.fixture
def incident(tui_store):
    incident = tui_store.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    for role, person in ROLES:
        tui_store.assign_role(incident.id, role, person, actor="alice")
    tui_store.pin_summary(incident.id, "DB pool exhausted", "Raise the pool", actor="alice")
    return incident


def svg_lines(svg: str) -> list[str]:
    """The SVG's text as a reader gets it (copy, search, screen reader): each row's text
    elements joined in order, no-break spaces read as spaces."""
    rows: dict[float, list[tuple[float, str]]] = defaultdict(list)
    for x, y, text in re.findall(r'<text [^>]*?x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]*)</text>', svg):
        rows[float(y)].append((float(x), html.unescape(text).replace("\u00a0", " ")))
    return ["".join(text for _, text in sorted(row)).rstrip("\n") for _, row in sorted(rows.items())]


async def write_handover(pilot) -> None:
    await pilot.press("x")
    await pilot.press("enter")  # the folder prefilled
    await settle(pilot)


async def test_the_svg_holds_what_the_screen_has_scrolled_away_at_80x24(make, incident, tmp_path):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_war_room(pilot)
        side = app.screen.query_one("#side-pane", VerticalScroll)
        assert side.max_scroll_y > 0  # at 80x24 the team pane does not fit
        on_screen = "\n".join(svg_lines(app.export_screenshot()))
        assert "Legal/Compliance" not in on_screen  # the last stakeholder group, below the fold
        side.scroll_end(animate=False)  # read down to it: now the roles are scrolled away
        await settle(pilot)
        on_screen = "\n".join(svg_lines(app.export_screenshot()))
        assert "Legal/Compliance" in on_screen
        assert not re.search(r"commander +alice", on_screen) and not re.search(r"liaison +frank", on_screen)
        await write_handover(pilot)
    lines = svg_lines((tmp_path / "handover" / f"{incident.id}-war-room.svg").read_text())
    whole = "\n".join(lines)
    for label, person in (("commander", "alice"), ("comms lead", "bob"), ("liaison", "frank")):
        assert re.search(rf"{label} +{person}", whole), whole
    assert "Legal/Compliance" in whole and "15. Confirm full resolution" in whole
    assert f"{incident.id} war room" in whole  # the title: this incident's war room, 80 wide
    assert max(len(line) for line in lines if "war room" not in line) <= 80


async def test_the_pinned_summary_is_in_every_handover_format(make, incident, tmp_path):
    from tui.export import handover_html

    app = make()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_war_room(pilot)
        await write_handover(pilot)
    svg = (tmp_path / "handover" / f"{incident.id}-war-room.svg").read_text()
    markdown = (tmp_path / "handover" / f"{incident.id}-handover.md").read_text()
    assert any(line.strip().startswith("Summary (alice 14:30) DB pool exhausted") for line in svg_lines(svg))
    # "Next" is bold and the four spaces after it a plain segment of their own: kept in the text.
    assert any(line.strip() == "Next    Raise the pool" for line in svg_lines(svg)), svg_lines(svg)
    summary_section = markdown.split("## Current summary\n\n", 1)[1].split("## Status", 1)[0]
    assert summary_section == ("DB pool exhausted\n\n**Next steps:** Raise the pool\n\n"
                               "Pinned by alice at 2024-01-18 14:30 UTC.\n\n")
    page = handover_html(markdown, svg, "Handover")
    assert "<h2>Current summary</h2>" in page and "Raise the pool" in page


def test_bold_text_keeps_the_space_after_it():
    from tui.export import spaces_kept

    console = Console(width=40, record=True, file=io.StringIO(), force_terminal=True, color_system="truecolor")
    console.print(Text.assemble(("SEV-1", "bold"), " ", ("checkout", "red"), "  ", ("x", "on blue"), " ",
                                ("y", "on blue")))
    rich_svg = console.export_svg(clear=False)
    # Rich writes a run of spaces in a style of its own as no text at all: the word boundary is lost.
    assert [line for line in svg_lines(rich_svg) if "SEV-1" in line] == ["SEV-1checkoutxy"]
    console._record_buffer[:] = spaces_kept(console._record_buffer)
    kept = console.export_svg()
    assert [line.rstrip() for line in svg_lines(kept) if "SEV-1" in line] == ["SEV-1 checkout  x y"]
    # The picture is the same: the same backgrounds, every text at the same place.
    assert re.findall(r"<rect [^>]*>", kept) == re.findall(r"<rect [^>]*>", rich_svg)

    def words_at(svg) -> list[tuple[float, str]]:
        """Where each visible word is drawn: a text's x plus the blank cells it starts with."""
        cell = 12.2  # Rich's SVG cell: 0.61 of its 20px font
        found = []
        for x, text in re.findall(r'<text [^>]*?x="([\d.]+)"[^>]*>([^<]*)</text>', svg):
            text = html.unescape(text).replace("\u00a0", " ")
            for word in re.finditer(r"\S+", text):
                found.append((round(float(x) + word.start() * cell, 1), word.group()))
        return sorted(found)

    assert words_at(kept) == words_at(rich_svg)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


async def test_the_handover_is_owner_only_in_the_configured_folder(tui_store, incident, tmp_path, monkeypatch):
    from tui.app import Settings, make_app
    from tui.configuration import load_checked_configuration
    from tui.settings import tui_settings

    config = tmp_path / "config.toml"
    config.write_text(f'[tui]\nexport_dir = "{tmp_path / "team-handovers"}"\n')
    settings = Settings(actor="tester", watch=False, detect=False, **tui_settings(load_checked_configuration(config)))
    monkeypatch.chdir(tmp_path)
    os.umask(0o022)  # a permissive umask: owner-only is the program's doing
    app = make_app(tui_store, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_war_room(pilot)
        await pilot.press("x")
        assert app.screen.query_one(Input).value == str(tmp_path / "team-handovers")
        await pilot.press("enter")
        await settle(pilot)
        said = [n.message for n in app._notifications]
    folder = tmp_path / "team-handovers"
    files = sorted(p.name for p in folder.iterdir())
    assert files == [f"{incident.id}-handover.md", f"{incident.id}-war-room.svg"]
    assert all(mode(folder / name) == 0o600 for name in files)
    assert f"Handover written: {folder / files[0]} and {files[1]}" in said  # the TUI says where it went
    assert not list(tmp_path.glob("INC-*"))  # nothing in the folder it was started in


async def test_with_no_folder_configured_it_goes_to_the_state_folder_not_the_current_one(
        tui_store, incident, tmp_path, monkeypatch):
    from store.paths import handover_dir, state_dir
    from tui.app import Settings, make_app

    started_in = tmp_path / "somewhere"
    started_in.mkdir()
    monkeypatch.chdir(started_in)
    app = make_app(tui_store, Settings(actor="tester", watch=False, detect=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_war_room(pilot)
        await pilot.press("x")
        assert app.screen.query_one(Input).value == str(handover_dir())
        await pilot.press("enter")
        await settle(pilot)
    assert handover_dir() == state_dir() / "handovers"
    assert str(state_dir()).startswith(os.environ["XDG_STATE_HOME"])
    assert mode(handover_dir() / f"{incident.id}-handover.md") == 0o600
    assert mode(handover_dir() / f"{incident.id}-war-room.svg") == 0o600
    assert mode(handover_dir()) == 0o700
    assert list(started_in.iterdir()) == []

"""The command center under Pilot: a real SQLite store, a frozen clock, no file watching."""
from __future__ import annotations

import pytest
from rich.console import Console

from store.database import open_database
from store.operations import IncidentStore


@pytest.fixture
def tui_store(tmp_path, policy, clock):
    db = open_database(f"sqlite:///{tmp_path / 'incidents.db'}")
    yield IncidentStore(db, policy, clock)
    db.dispose()


@pytest.fixture
def make(tui_store, tmp_path):
    from tui.app import Settings, make_app

    def build(open_incident=None, **settings):
        options = {"actor": "tester", "export_dir": tmp_path / "handover", "watch": False, "detect": False,
                   **settings}
        return make_app(tui_store, Settings(**options), open_incident)

    return build


async def settle(pilot, rounds: int = 4) -> None:
    """Let thread workers finish and their messages land (writes trigger reloads)."""
    for _ in range(rounds):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        for screen in pilot.app.screen_stack:
            await screen.workers.wait_for_complete() if hasattr(screen, "workers") else None
        await pilot.pause()


def text_of(widget) -> str:
    """What a widget shows, as plain text."""
    from rich.console import Group
    from textual.widgets import OptionList, Static

    if isinstance(widget, OptionList):  # a list draws line by line: what it holds, every row
        renderable = Group(*(option.prompt for option in widget.options))
    else:
        renderable = widget.content if type(widget).render is Static.render else widget.render()
    console = Console(width=max(widget.size.width, 40), record=True, file=open("/dev/null", "w"))
    console.print(renderable)
    return console.export_text()

"""On a SQLite file the dashboard lists the open incidents before the store has opened
(tui/first_listing.py FirstListing, store/quick_list.py), and the store's own first read changes
nothing that is shown."""
from __future__ import annotations

import asyncio
import threading

from tests.tui.conftest import settle, text_of


def _settings(tmp_path, url: str | None):
    from tui.app import Settings

    return Settings(actor="tester", export_dir=tmp_path, watch=False, detect=False, metric_sources=("host",),
                    database_url=url)


def _open_incidents(store):
    from store.queries import list_incidents

    with store.db.read() as session:
        return list_incidents(session, status="open", with_commander=True)


async def _listed(app, pilot) -> None:
    """Until the first listing is on the screen (the event the app itself waits for)."""
    assert await asyncio.to_thread(app._first_listing.painted.wait, 10)
    await pilot.pause()


def _actions(screen) -> set[str]:
    return {active.binding.action for active in screen.active_bindings.values()}


async def test_the_open_incidents_are_listed_before_the_store_opens_and_stay_as_they_are(tui_store, tmp_path):
    from tui.app import make_app
    from tui.widgets.incident_table import IncidentTable

    first = tui_store.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    tui_store.declare("high", "outage", "staging", actor="alice", title="Search slow")
    tui_store.declare("low", "outage", "production", actor="alice", title="Typo on status page")
    tui_store.assign_role(first.id, "incident_commander", "dana", actor="alice")
    release = threading.Event()

    def open_slowly():
        release.wait(10)  # SQLAlchemy, SQLModel and the policy still loading
        return tui_store

    app = make_app(open_slowly, _settings(tmp_path, str(tui_store.db.url)))
    async with app.run_test(size=(160, 48)) as pilot:
        await _listed(app, pilot)
        dashboard = app.screen
        table = dashboard.query_one(IncidentTable)
        assert app.store is None
        assert dashboard.query_one("#incidents-pane").border_title == "Active Incidents (3)"
        assert table.display and table.rows_shown == _open_incidents(tui_store)
        assert any("dana" in str(cell) for cell in table.get_row_at(0))  # the commander column
        assert "SEV-1 1" in text_of(dashboard.query_one("#counts"))
        assert not {"open", "ack", "export"} & _actions(dashboard)  # they need the store
        await pilot.press("j")
        assert table.cursor_row == 1
        await pilot.press("enter")  # the war room needs the store: said, not crashed into
        assert app.screen is dashboard
        assert any("still opening" in n.message for n in app._notifications)

        release.set()
        await settle(pilot)
        assert app.store is tui_store
        assert dashboard.query_one("#incidents-pane").border_title == "Active Incidents (3)"
        assert table.rows_shown == _open_incidents(tui_store)
        assert table.cursor_row == 1  # the store's read showed the same rows: nothing was redrawn under it
        assert {"ack", "export"} <= _actions(dashboard)  # (enter is the focused table's: it opens the row)


async def test_a_store_that_fails_after_the_listing_says_why_in_place_of_it(tui_store, tmp_path):
    from store.errors import DatabaseUnavailable
    from tui.app import make_app
    from tui.widgets.incident_table import IncidentTable

    tui_store.declare("critical", "outage", "production", actor="alice", title="Checkout down")

    def refuse():
        raise DatabaseUnavailable("the database is unavailable (connection refused)")

    app = make_app(refuse, _settings(tmp_path, str(tui_store.db.url)))
    async with app.run_test(size=(160, 48)) as pilot:
        await _listed(app, pilot)
        await settle(pilot)
        dashboard = app.screen
        assert dashboard.query_one("#incidents-pane").border_title == "Active Incidents (store unavailable)"
        assert not dashboard.query_one(IncidentTable).display
        shown = " ".join(text_of(dashboard.query_one("#welcome")).split())
        assert "The incident store did not open: the database is unavailable (connection refused)" in shown
        assert "SEV-1 0" in text_of(dashboard.query_one("#counts"))


async def test_with_nothing_open_or_no_file_to_read_the_store_is_awaited_as_before(tui_store, tmp_path):
    from tui.app import make_app

    for url in (str(tui_store.db.url), "postgresql://ir@127.0.0.1/incidents"):
        release = threading.Event()

        def open_slowly():
            release.wait(10)
            return tui_store

        app = make_app(open_slowly, _settings(tmp_path, url))
        async with app.run_test(size=(160, 48)) as pilot:
            await _listed(app, pilot)
            assert app._first_listing.rows in ([], None)
            shown = " ".join(text_of(app.screen.query_one("#welcome")).split())
            assert "Opening the incident store" in shown
            assert app.screen.query_one("#incidents-pane").border_title == "Active Incidents (opening the store…)"
            release.set()
            await settle(pilot)

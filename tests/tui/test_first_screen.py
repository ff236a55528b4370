"""The first screen a newcomer sees: with nothing open the dashboard says how to declare,
where the database is, what feeds System Health and where the config file is; keys that
cannot act yet (on an incident, or before the store has opened) are not offered."""
from __future__ import annotations

import threading

from tests.tui.conftest import settle, text_of

INCIDENT_KEYS = {"open", "ack", "export"}  # the dashboard's actions on the highlighted incident


def actions(screen) -> set[str]:
    """What the screen offers now (footer, help and palette all read these)."""
    return {active.binding.action for active in screen.active_bindings.values()}


def footer_actions(screen) -> set[str]:
    from textual.widgets._footer import FooterKey

    return {key.action for key in screen.query(FooterKey)}


def welcome_text(app) -> str:
    # Wide enough that no line wraps: the assertions read whole phrases.
    return " ".join(text_of(app.screen.query_one("#welcome")).split())


async def test_an_empty_dashboard_says_how_to_declare_where_the_database_is_and_what_feeds_health(
        make, tui_store, tmp_path):
    config = tmp_path / "config.toml"
    app = make(metric_sources=("host", "prometheus", "edge-probes"), config_path=str(config))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        shown = welcome_text(app)
        assert "No open incidents." in shown
        assert 'Declare one: d here, or from a shell: incident-response critical outage production ' \
               '--title "Checkout down"' in shown
        assert f"Database: {tmp_path / 'incidents.db'}" in shown
        assert "Metrics: this host (CPU, memory, load, disk, network), Prometheus, edge-probes" in shown
        assert f"Config: {config} (not written yet: incident-response init writes one)" in shown
        assert not app.screen.query_one("#incidents").display  # the welcome stands in for the empty table

        config.write_text("[tui]\n")
        app.screen.refresh_data()  # the dashboard reloads every few seconds; now, here
        await settle(pilot)
        assert f"Config: {config} (incident-response config check checks it)" in welcome_text(app)


async def test_no_metric_source_and_no_config_path(make):
    app = make(metric_sources=())
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        shown = welcome_text(app)
        assert "Metrics: none configured ([sources.*] in the config file adds them)" in shown
        assert "Config:" not in shown


async def test_paths_and_names_are_shown_as_they_are_not_as_markup(make, tui_store, tmp_path):
    app = make(metric_sources=("[bold]probe[/bold]",), config_path=str(tmp_path / "[red]x[/red].toml"))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        shown = welcome_text(app)
        assert "[bold]probe[/bold]" in shown
        assert f"{tmp_path / '[red]x[/red].toml'}" in shown


async def test_resolved_and_closed_incidents_are_mentioned(make, tui_store):
    settled = tui_store.declare("low", "data", "development", actor="alice", title="Typos")
    tui_store.resolve(settled.id, actor="alice")
    app = make()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        assert "No open incidents; 1 resolved or closed (incident-response list --status all lists them)." \
               in welcome_text(app)


def test_a_postgresql_password_is_masked():
    from store.database import Database
    from tui.widgets.welcome import database_location

    def where(url):  # only the URL is read; no connection is made
        return database_location(Database(url=url, write_engine=None, read_engine=None))

    assert where("postgresql://oncall:s3cret@db.internal:5432/incidents") == \
        "postgresql://oncall:***@db.internal:5432/incidents"
    assert where("postgresql://oncall@db.internal/incidents?password=s3cret&sslmode=require") == \
        "postgresql://oncall@db.internal/incidents?password=***&sslmode=require"
    assert where("postgresql://oncall@db.internal/incidents") == "postgresql://oncall@db.internal/incidents"


async def test_incident_keys_are_offered_only_once_an_incident_is_open(make, tui_store):
    from tui.screens.declare import DeclareScreen
    from tui.screens.help import HelpScreen

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        dashboard = app.screen
        assert not INCIDENT_KEYS & actions(dashboard)
        assert not INCIDENT_KEYS & footer_actions(dashboard)
        assert {"declare", "help", "quit", "reports", "outbox"} <= footer_actions(dashboard)
        assert dashboard.focused is None  # the hidden table holds no focus, so j/k/enter are not live
        assert not {"cursor_down", "cursor_up", "select_cursor"} & actions(dashboard)

        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = [line.split()[0] for line in text_of(app.screen.query_one("#help-dialog Static")).splitlines()
                if line.strip()]
        assert "d" in keys and "q" in keys and "^p" in keys
        assert not {"a", "x", "enter", "j"} & set(keys), keys
        await pilot.press("escape")

        await pilot.press("a", "x", "enter")  # not offered, so nothing happens and nothing is said
        await settle(pilot)
        assert app.screen is dashboard and not app._notifications

        await pilot.press("d", *"Checkout down", "ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, DeclareScreen)
        await pilot.press("escape")  # from the new incident's war room back to the dashboard
        await settle(pilot)
        assert app.screen is dashboard
        assert {"ack", "export"} <= actions(dashboard) and {"ack", "export"} <= footer_actions(dashboard)
        assert dashboard.check_action("open", ())
        assert dashboard.query_one("#incidents").display and not dashboard.query_one("#welcome").display

        tui_store.resolve(dashboard.query_one("#incidents").selected_id, actor="someone-else")
        app.check_for_changes()
        await settle(pilot)
        assert not INCIDENT_KEYS & actions(dashboard)  # back to nothing open: the keys go again
        assert "1 resolved or closed" in welcome_text(app)


async def test_before_the_store_opens_declare_is_not_offered(tui_store, tmp_path):
    from tui.app import Settings, make_app

    release = threading.Event()

    def open_slowly():
        release.wait(10)  # SQLAlchemy and the policy still loading
        return tui_store

    app = make_app(open_slowly, Settings(actor="tester", export_dir=tmp_path, watch=False, detect=False,
                                          metric_sources=("host",)))
    async with app.run_test(size=(160, 48)) as pilot:  # wide: the temporary path fits on one line
        await pilot.pause()
        dashboard = app.screen
        assert "Opening the incident store" in welcome_text(app) and "Database: opening" in welcome_text(app)
        assert "Declare one" not in welcome_text(app)
        assert not app.check_action("declare", ())
        assert "declare" not in actions(dashboard) and "declare" not in footer_actions(dashboard)
        assert not {"reports", "outbox", "action_items"} & actions(dashboard)
        assert {"quit", "help"} <= footer_actions(dashboard)

        release.set()
        await settle(pilot)
        assert "declare" in actions(dashboard) and "declare" in footer_actions(dashboard)
        assert f"Database: {tmp_path / 'incidents.db'}" in welcome_text(app)
        assert "Declare one: d here" in welcome_text(app)



async def test_a_store_that_does_not_open_is_said_in_place_and_declare_stays_hidden(tmp_path):
    from store.errors import DatabaseUnavailable
    from tui.app import Settings, make_app

    def refuse():
        raise DatabaseUnavailable("the database is unavailable (connection refused)")

    app = make_app(refuse, Settings(actor="tester", export_dir=tmp_path, watch=False, detect=False))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        shown = welcome_text(app)
        assert "The incident store did not open: the database is unavailable (connection refused)" in shown
        assert "Database: not open" in shown and "Opening" not in shown
        assert "declare" not in actions(app.screen) and app.is_running

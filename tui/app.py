"""The command center: a Textual app over the store. Built by `make_app`, which the CLI
and every test call with their own store, clock and settings."""
from __future__ import annotations

import threading
from datetime import datetime
from typing import TYPE_CHECKING, Callable, Iterable, Union

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen

from playbooks.clock import to_utc_naive, utc_now
from tui.first_listing import LISTED_PAINT_WAIT_S, FirstListing
from tui.first_look import ConfigurationRefused
from tui.settings import Settings

if TYPE_CHECKING:
    from playbooks.config import Configuration
    from store.operations import IncidentStore

# The store itself, or a function that opens it: the CLI passes the function, so the
# dashboard paints while SQLAlchemy and the policy load in a worker.
StoreSource = Union["IncidentStore", Callable[[], "IncidentStore"]]
INTERRUPT_WINDOW_S = 3.0  # a second ctrl+c within this quits


class StoreChanged(Message):
    """Some process wrote to the store; `can_replace` collapses a burst into one check."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StoreChanged)


def _open_incident_commands():
    """The palette's open incidents (tui/palette.py), imported when the palette first opens."""
    from tui.palette import OpenIncidentCommands

    return OpenIncidentCommands


class CommandCenter(App):
    TITLE = "incident-response"
    CSS_PATH = "command_center.tcss"
    # Classes on every screen by window size: command_center.tcss gives a small window (a
    # split tmux pane, under 80x24) smaller minimums, so every pane keeps its border.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (24, "-tall")]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (80, "-wide")]
    BINDINGS = [
        # q goes back one screen, as in tig, less and k9s (the dashboard's own q quits);
        # ctrl+q, or ctrl+c twice, quits from anywhere.
        Binding("q", "go_back", "Back", show=False, id="app.back"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit"),
        Binding("ctrl+c", "interrupt", "Quit (twice)", show=False, priority=True, id="app.interrupt"),
        Binding("colon", "command_line", "Command", id="app.command_line"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("d", "declare", "Declare", id="app.declare"),
    ]

    def __init__(self, store: StoreSource, settings: Settings, open_incident: str | None = None) -> None:
        super().__init__()
        self._open_store_with = store if callable(store) else None
        self.store: IncidentStore | None = None if callable(store) else store
        self.settings = settings
        self.open_incident = open_incident
        self.seen_seq = 0
        self.announced_seq: int | None = None  # None until the first look: history is not news
        self._stop_watching = threading.Event()
        self._interrupted_at = float("-inf")  # when ctrl+c was last pressed (monotonic)
        self._drafts = None  # opened on first use: see `drafts`
        if settings.under_ssh:
            self.animation_level = "none"
        self._refused_remaps: list[str] = []  # said once the screen is up (on_mount)
        self.refused: str | None = None  # config.toml's sentence when its whole check refused it
        if settings.keymap:
            self._apply_keymap(settings.keymap)
        # Only when the store opens in a worker: an open store lists them itself at once.
        self._first_listing = FirstListing(settings.database_url) if callable(store) and settings.database_url \
            else None

    def _apply_keymap(self, keymap: dict[str, str]) -> None:
        """Remaps that would take a key from another binding are refused, so both keep theirs (tui/keymap.py)."""
        from tui.keymap import command_center_screens, unknown_binding_ids, usable_keymap

        screens = command_center_screens()
        usable, refused = usable_keymap(keymap, screens)
        self._refused_remaps = [c.sentence() for c in refused] + unknown_binding_ids(keymap, screens)
        self.set_keymap(usable)

    # -- time and identity --------------------------------------------------------
    def clock(self) -> datetime:
        return self.store.now() if self.store is not None else to_utc_naive(utc_now())

    @property
    def actor(self) -> str:
        return self.settings.actor

    @property
    def configuration(self) -> "Configuration | None":
        """config.toml as read at the door (the embedded default when none was given); None
        while it is being checked after the first frame (Settings.configuration_pending)."""
        if self.settings.configuration is not None:
            return self.settings.configuration
        if self.settings.configuration_pending:
            return None
        from playbooks.config import Configuration

        return Configuration()

    @property
    def drafts(self):
        """Half-written notes and updates (tui/drafts.py), kept in the state folder per database."""
        if self._drafts is None:
            from tui.drafts import Drafts, drafts_file

            self._drafts = Drafts(drafts_file(self.store.db.url), persist=lambda save: self.run_worker(
                save, thread=True, exclusive=True, group="drafts", exit_on_error=False))
        return self._drafts

    # -- screens ---------------------------------------------------------------------
    def on_mount(self) -> None:
        from tui.screens.dashboard import DashboardScreen

        self.push_screen(DashboardScreen())
        if self._first_listing is not None and self._first_listing.read(wait=0):
            self._hand_over_first_listing()  # the dashboard's first paint has them
        for sentence in self._refused_remaps:  # keys from config.toml: shown as data
            self.notify(sentence, title="Keymap", severity="warning", timeout=20, markup=False)
        self.set_interval(1.0, self._tick)
        if self.store is None:
            self._open_store()
        else:
            self._store_opened(self.store, announce=False)

    @work(thread=True, exclusive=True, group="open", exit_on_error=False)
    def _open_store(self) -> None:
        self._list_before_the_store()
        try:
            store = self._open_store_with()
        except ConfigurationRefused as refused:  # config.toml, checked whole: closed with its sentence
            self.call_from_thread(self._refuse, str(refused))
            return
        except Exception as error:  # shown on the dashboard as one sentence; q still quits
            from tui.screens.base import explain

            self.call_from_thread(self._store_failed, explain(error))
            return
        self.call_from_thread(self._store_opened, store)

    def _list_before_the_store(self) -> None:
        """The first listing on the screen before the store starts loading, so the two do not
        share the interpreter meanwhile; the store's first read shows the same rows again."""
        listing = self._first_listing
        if listing is None:
            return
        listing.read()
        self.call_from_thread(self._hand_over_first_listing)
        listing.painted.wait(LISTED_PAINT_WAIT_S)

    def _hand_over_first_listing(self) -> None:
        listing = self._first_listing
        if listing.handed_over:
            return
        listing.handed_over = True
        if listing.rows:  # none open: the welcome needs the store; None: not a file to read here
            for screen in self.screen_stack:
                early = getattr(screen, "listed_before_the_store", None)
                if early is not None:
                    early(listing.rows, listing.painted.set)
                    return
        listing.painted.set()

    def _refuse(self, sentence: str) -> None:
        self.refused = sentence
        self.exit(return_code=2)

    def _configuration_checked(self) -> None:
        """config.toml checked whole (after the first frame): its values replace the first
        look's, and a keymap that changed is applied again."""
        from tui.settings import tui_settings

        settings, configuration = self.settings, self.settings.configuration
        options = tui_settings(configuration)
        keymap = options.pop("keymap")
        for name, value in options.items():  # on switches and the export folder (a --read-only flag stays)
            setattr(settings, name, value)
        settings.metric_sources = tuple(configuration.sources.configured())
        settings.notifying = tuple(configuration.integrations.configured())
        settings.configuration_pending = False
        if keymap != settings.keymap:
            settings.keymap = keymap
            self._apply_keymap(keymap)
            for sentence in self._refused_remaps:
                self.notify(sentence, title="Keymap", severity="warning", timeout=20, markup=False)

    def _store_opened(self, store: "IncidentStore", announce: bool = True) -> None:
        if self.settings.configuration_pending and self.settings.configuration is not None:
            self._configuration_checked()
        self.store = store
        ready = getattr(self.screen, "store_ready", None)
        if announce and ready is not None:
            self.call_after_refresh(ready)  # after the screen has mounted, if it had not yet
        if announce:
            self._warn_of_unreached_groups(store)
        if self.open_incident:
            self.open_war_room(self.open_incident)
        self._start_announcing()
        if self.settings.watch:
            self._watch()
        if self.settings.detect and not self.settings.read_only:  # detection writes incidents
            self._detect()

    def _warn_of_unreached_groups(self, store: "IncidentStore") -> None:
        """A stakeholder group its channels reach no one in is said at start, not found out mid-incident."""
        from automation.stakeholders import Directory

        if not self.configuration.integrations.configured():
            return  # nothing is sent from here at all: the dashboard says so
        for sentence in Directory(self.configuration, store.policy).warnings():
            self.notify(sentence, title="Stakeholders", severity="warning", timeout=20, markup=False)

    @work(thread=True, exclusive=True, group="detect", exit_on_error=False)
    def _detect(self) -> None:
        """The same loop as `incident-response watch`, while the command center is open."""
        from automation.lease import DetectionLease
        from automation.loop import build_watch, has_work

        lease = DetectionLease(self.store.db.url)
        if not lease.acquire():
            return  # a `watch` service (or another command center) already runs detection
        try:
            watch = build_watch(self.store, self.configuration)
            if has_work(watch):
                watch.run(self._stop_watching)
        finally:
            lease.release()

    def _store_failed(self, message: str) -> None:
        failed = getattr(self.screen, "store_failed", None)
        if failed is not None:
            failed(message)
        self.notify(message, severity="error", timeout=30)

    def notify(self, message: str, *, title: str = "", severity="information", timeout: float | None = None,
               markup: bool = False) -> None:
        """Every notice, the screens' too (Widget.notify lands here): sentences that quote
        stored text or a vendor's reply (a title, an error) are data, never markup, with
        every unprintable character shown escaped. Ours carry no markup ("add
        [logs.splunk]" means the brackets), so `markup` is ignored."""
        from tui.plain import visible

        super().notify(visible(message), title=visible(title), severity=severity, timeout=timeout, markup=False)

    def store_or_warn(self) -> "IncidentStore | None":
        """The store, or None with a notice when it is still opening."""
        if self.store is None:
            self.notify("The incident store is still opening; try again in a moment.", severity="warning")
        return self.store

    def open_war_room(self, incident_id: str) -> None:
        from tui.screens.war_room import WarRoomScreen

        self.push_screen(WarRoomScreen(incident_id))

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Declaring needs the store: not offered (footer, help, palette) until it has opened;
        # the dashboard refreshes the bindings when it has.
        return not (action == "declare" and self.store is None)

    def _check_action_state(self, action: str, default_namespace) -> bool | None:
        """Read-only mode offers no writing key (footer, help, palette): Textual asks here for
        every binding shown. The keys stay bound, so pressing one is still refused in one
        sentence (run_action, below)."""
        if self.settings.read_only:
            from tui.read_only import writes

            target, name, _params = self._parse_action(action, default_namespace)
            if writes(target, name):
                return False
        return super()._check_action_state(action, default_namespace)

    async def run_action(self, action, default_namespace=None, namespaces=None) -> bool:
        """Every key, palette entry and `:` command comes through here: in read-only mode a
        writing one is refused in one sentence (tui/read_only.py), before any dialog opens."""
        if self.settings.read_only:
            from tui.read_only import REFUSAL, writes

            target, name, _params = self._parse_action(action, default_namespace or self, namespaces)
            if writes(target, name):
                self.notify(REFUSAL, severity="warning", timeout=6)
                return True
        return await super().run_action(action, default_namespace, namespaces)

    def action_declare(self) -> None:
        from tui.screens.declare import DeclareScreen

        if self.store_or_warn() is None:
            return
        def declared(incident_id: str | None) -> None:
            if incident_id:
                self.check_for_changes()
                self.open_war_room(incident_id)

        self.push_screen(DeclareScreen(), declared)

    def _tick(self) -> None:
        screen = self.screen
        tick = getattr(screen, "tick", None)
        # A screen pushed a moment ago may not have composed its widgets yet.
        if tick is not None and screen.is_mounted:
            tick()

    # -- other writers -----------------------------------------------------------------
    @work(thread=True, exclusive=True, group="watch", exit_on_error=False)
    def _watch(self) -> None:
        from tui import live  # watchfiles: loaded here, off the first paint's path

        def changed() -> None:
            self.post_message(StoreChanged())

        def state(ok: bool, sentence: str) -> None:  # PostgreSQL connection lost / back (notify posts a message)
            self.notify(sentence, severity="information" if ok else "warning", timeout=10)

        # SQLite: watchfiles on the file; PostgreSQL: LISTEN/NOTIFY (polling if LISTEN is refused).
        live.watch(self.store.db, changed, self._stop_watching, on_state=state)

    def on_store_changed(self, _message: StoreChanged) -> None:
        self.check_for_changes()

    @work(thread=True, exclusive=True, group="changes", exit_on_error=False)
    def check_for_changes(self) -> None:
        from store.dashboard import events_since, incidents_changed_since, last_seq
        from tui.announcements import ANNOUNCED_KINDS

        announced, open_incident = self.announced_seq, self.open_incident_id()
        with self.store.db.read() as session:
            seq, incident_ids = incidents_changed_since(session, self.seen_seq)
            if announced is None:
                news, head = [], last_seq(session)
            else:
                news = events_since(session, announced, ANNOUNCED_KINDS, open_incident)
                head = max(seq, announced)
        if incident_ids:
            self.call_from_thread(self._deliver, seq, incident_ids)
        self.call_from_thread(self._announce, news, head, open_incident)

    @work(thread=True, exclusive=True, group="announce", exit_on_error=False)
    def _start_announcing(self) -> None:
        """Announcements start from the chain's head now: what is already there is history."""
        from store.dashboard import last_seq

        with self.store.db.read() as session:
            head = last_seq(session)
        self.call_from_thread(self._announce, [], head, None)

    def _deliver(self, seq: int, incident_ids: set[str | None]) -> None:
        self.seen_seq = max(self.seen_seq, seq)
        # Every screen in the stack, not only the top one: a dialog open over the war room
        # must not freeze it behind the dialog.
        for screen in self.screen_stack:
            changed = getattr(screen, "store_changed", None)
            if changed is not None and screen.is_mounted:
                changed(incident_ids)

    def open_incident_id(self) -> str | None:
        """The incident whose screen is the topmost one about an incident (a dialog over
        its war room still counts), or None."""
        for screen in reversed(self.screen_stack):
            incident_id = getattr(screen, "incident_id", None)
            if isinstance(incident_id, str):
                return incident_id
        return None

    def _announce(self, events: list, head: int, open_incident: str | None) -> None:
        """Toasts for other people's changes (tui/announcements.py); the dashboard's rows of
        new incidents flash once."""
        from tui.announcements import announce, new_incidents

        if self.announced_seq is not None:
            events = [event for event in events if event.seq > self.announced_seq]  # two checks raced
        self.announced_seq = max(self.announced_seq or 0, head)
        news = announce(events, actor=self.actor, open_incident=open_incident)
        for item in news:
            self.notify(item.message, title=item.title, severity=item.level, timeout=12 if item.level == "error" else 8)
        if news and self.settings.bell:
            self.bell()
        declared = new_incidents(events)
        if declared:
            for screen in self.screen_stack:
                flash = getattr(screen, "flash_rows", None)
                if flash is not None and screen.is_mounted:
                    flash(declared)

    async def action_quit(self) -> None:
        self._stop_watching.set()
        self.exit()

    async def action_go_back(self) -> None:
        """q: the screen's own way back (it may keep a draft), else one screen down; quits
        only when nothing is under the dashboard."""
        screen = self.screen
        for name in ("back", "cancel", "close"):
            if hasattr(screen, f"action_{name}"):
                await self.run_action(name, screen)
                return
        if len(self.screen_stack) > 2:  # Textual's default screen, then the dashboard
            self.pop_screen()
        else:
            await self.action_quit()

    async def action_interrupt(self) -> None:
        """ctrl+c: the second press within a few seconds quits; the first only says so, as a
        stray ctrl+c (meant for the shell) must not drop a war room."""
        from time import monotonic

        now = monotonic()
        if now - self._interrupted_at <= INTERRUPT_WINDOW_S:
            await self.action_quit()
            return
        self._interrupted_at = now
        self.notify("Press ctrl+c again to quit.", severity="warning", timeout=INTERRUPT_WINDOW_S)

    def action_command_line(self) -> None:
        from tui.screens.command_line import CommandLine, carry_out

        if isinstance(self.screen, CommandLine):
            return
        under = self.screen
        self.push_screen(CommandLine(under), lambda choice: carry_out(self, under, choice))

    def on_unmount(self) -> None:
        self._stop_watching.set()

    # -- command palette: the screen's actions by name, then the open incidents --------------
    # Textual's generic entries (keys panel, maximize, screenshot) give way to ours: `?` lists
    # the keys, `x` writes the handover. Theme stays; Quit is ours (ctrl+q).
    COMMANDS = App.COMMANDS | {_open_incident_commands}

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        from textual.markup import escape

        from tui.screens.help import MEANING

        seen = set()
        for key, active in screen.active_bindings.items():
            binding = active.binding
            # Ours only (each has an id), and no moves: a list's cursor, scroll, focus and copy keys
            # are not things to do; nor is ctrl+c's "press again".
            if (binding.id is None or not binding.description or not active.enabled
                    or binding.action.startswith("cursor_") or binding.action == "interrupt"):
                continue
            if binding.description in seen:  # the dashboard's q and the app's ctrl+q are one Quit
                continue
            seen.add(binding.description)
            node = active.node

            def run(node=node, action=binding.action) -> None:
                self.call_later(self.run_action, action, node)

            meaning = MEANING.get(binding.action, binding.description.lower())
            # Textual reads help text as markup; a remapped key comes from config.toml.
            yield SystemCommand(binding.description, escape(f"{self.get_key_display(binding)} · {meaning}"), run)
        yield SystemCommand("Theme", "change the colours", self.action_change_theme)


def make_app(store: StoreSource, settings: Settings, open_incident: str | None = None) -> CommandCenter:
    """The one way the command center is built (CLI, tests, screenshots).

    `store` is an IncidentStore, or a function that opens one (then the screen paints first).
    """
    return CommandCenter(store, settings, open_incident)

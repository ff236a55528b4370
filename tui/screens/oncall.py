"""The on-call screen: who is on call on each schedule ([schedules.NAME] in config.toml),
until when, the next handoffs, overrides marked; and an override set from here, written as
`incident-response oncall override SCHEDULE NAME --for 2h` writes it (store/oncall.py)."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Mapping, NamedTuple

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Footer, Input, Label, Static

from tui.plain import visible
from tui.screens.base import StoreScreen, post_latest
from tui.screens.prompts import Prompt
from tui.widgets.oncall import Handoff, OnCallTable, ScheduleOnCall, next_refresh

if TYPE_CHECKING:
    from playbooks.config.oncall import Schedule

HANDOFFS = 3  # shifts read after the current one: the screen shows up to three at 160 columns
NO_SCHEDULES = ("No on-call schedules are configured; add a [schedules.NAME] table (members, rotation, start, "
                "timezone) to config.toml.")


def read_rota(store, schedules: Mapping[str, "Schedule"], now: datetime,
              handoffs: int = HANDOFFS) -> tuple[ScheduleOnCall, ...]:
    """Who is on call on each schedule at `now` (naive UTC), overrides included, as the
    widgets take it (naive UTC times). Reads the store: call it in a worker."""
    if not schedules:
        return ()
    from playbooks.clock import to_utc_naive
    from playbooks.schedules import Resolver
    from store.oncall import as_overrides, current_overrides

    overrides = as_overrides(current_overrides(store, now))  # ended ones cannot matter now
    rota = []
    for name, schedule in schedules.items():
        answer = Resolver(name, schedule, overrides).at(now, handoffs)
        rota.append(ScheduleOnCall(
            name, schedule.timezone, answer.person, to_utc_naive(answer.until) if answer.until else None,
            answer.overridden,
            tuple(Handoff(shift.person, to_utc_naive(shift.starts_at),
                          to_utc_naive(shift.ends_at) if shift.ends_at else None, shift.overridden)
                  for shift in answer.next)))
    return tuple(rota)


class OverrideRequest(NamedTuple):
    schedule: str
    person: str
    span: timedelta


def checked_override(schedules: Mapping[str, object], contacts: Mapping[str, object], schedule: str, person: str,
                     duration: str) -> OverrideRequest:
    """What the prompt typed, checked as `oncall override` checks it; ValueError: one sentence."""
    from playbooks.durations import parse_duration

    schedule, person = schedule.strip(), person.strip()
    if schedule not in schedules:
        known = ", ".join(schedules) or "none configured: add a [schedules.NAME] table to config.toml"
        raise ValueError(f"there is no schedule {schedule!r}; accepted: a [schedules.NAME] of config.toml ({known})")
    if person not in contacts:
        raise ValueError(f"{person!r} has no [contacts.{person}] table; accepted: names of [contacts.NAME] tables "
                         f"({', '.join(contacts)})")
    span = parse_duration(duration)  # its ValueError names what is accepted
    if span <= timedelta(0):
        raise ValueError(f"{duration.strip()!r} is no time at all; accepted: a duration like 2h or 1d")
    return OverrideRequest(schedule, person, span)


class OverridePrompt(Prompt):
    """Schedule, person and how long: enter checks them and, if they are right, answers an
    OverrideRequest; a wrong one is said in one sentence here and nothing is written."""

    def __init__(self, schedules: Mapping[str, object], contacts: Mapping[str, object], schedule: str = "") -> None:
        super().__init__()
        self.schedules = schedules
        self.contacts = contacts
        self.schedule = schedule

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="override-dialog") as dialog:
            dialog.border_title = "On-call override: who covers a schedule, from now"
            yield Input(value=self.schedule, placeholder=f"schedule ({', '.join(self.schedules)})", id="schedule")
            yield Input(placeholder=f"person ({', '.join(self.contacts) or 'a [contacts.NAME]'})", id="person")
            yield Input(value="2h", placeholder="for how long, like 2h or 1d", id="duration")
            yield Static("", classes="problem", id="problem")  # wraps: a refusal is read whole
            yield Label("tab next field · enter set · esc cancel", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#person" if self.schedule else "#schedule", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        values = {field.id: field.value for field in self.query(Input)}
        try:
            request = checked_override(self.schedules, self.contacts, values["schedule"], values["person"],
                                       values["duration"])
        except ValueError as error:
            # Typed text is quoted in it: data, never markup.
            self.query_one("#problem", Static).update(Content(visible(str(error))))
            return
        self.dismiss(request)


class OnCallScreen(StoreScreen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="oncall.back"),
        Binding("o", "override", "Override", id="oncall.override"),
    ]

    class Loaded(Message):
        def __init__(self, rota: tuple[ScheduleOnCall, ...]) -> None:
            super().__init__()
            self.rota = rota

    _stale_at: datetime | None = None  # the first handoff shown: past it, read again

    def compose(self) -> ComposeResult:
        with Vertical(id="oncall-pane", classes="pane") as pane:
            pane.border_title = "On call"
            yield Static(id="oncall-note")
            yield OnCallTable(id="oncall")
        yield Footer()

    def on_mount(self) -> None:
        schedules = self.center.configuration.schedules
        # Content, not markup: the sentence names a [schedules.NAME] table.
        self.query_one("#oncall-note", Static).update(Content(
            NO_SCHEDULES if not schedules else
            "Times on each schedule's own clock · o sets an override"))
        self.query_one(OnCallTable).focus()
        self.load()

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def load(self) -> None:
        rota = read_rota(self.center.store, self.center.configuration.schedules, self.center.clock())
        post_latest(self, self.Loaded(rota))

    def on_on_call_screen_loaded(self, message: Loaded) -> None:
        self._stale_at = next_refresh(message.rota)
        self.query_one(OnCallTable).show(message.rota, self.center.clock())
        self.query_one("#oncall-pane").border_title = f"On call ({len(message.rota)} schedules)"

    def tick(self) -> None:
        now = self.center.clock()
        if self._stale_at is not None and now >= self._stale_at:  # a handoff: who is on call changed
            self._stale_at = None
            self.load()
        for table in self.query(OnCallTable):  # none while the screen composes or is being removed
            table.tick(now)

    def store_changed(self, incident_ids: set[str | None]) -> None:
        if None in incident_ids:  # an override (an event of no incident), here or elsewhere
            self.load()

    def on_resize(self) -> None:
        table = self.query_one(OnCallTable)
        table.show(table.rota, self.center.clock())

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_override(self) -> None:
        configuration = self.center.configuration
        if not configuration.schedules:
            self.notify(NO_SCHEDULES, severity="warning")
            return
        if self.center.store_or_warn() is None:
            return
        selected = self.query_one(OnCallTable).selected
        self.app.push_screen(OverridePrompt(configuration.schedules, configuration.contacts,
                                            selected.schedule if selected else ""), self._set_override)

    def _set_override(self, request: OverrideRequest | None) -> None:
        if request is None:
            return
        from store.oncall import add_override

        store, actor = self.center.store, self.center.actor
        starts = self.center.clock()

        def write() -> None:
            add_override(store, request.schedule, request.person, starts, starts + request.span, actor=actor)

        self.write(write, f"{request.person} on call for {request.schedule} until "
                          f"{starts + request.span:%H:%M} UTC")

    def _write(self, action, done) -> None:
        super()._write(action, done)
        self.app.call_from_thread(self.load)  # our own write: no file watcher in tests or over SSH lag

"""What every command-center screen shares: store access in workers, one-sentence errors."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from textual import work
from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker, WorkerState, get_current_worker

from playbooks.errors import PlaybookError, PolicyValueError
from store.errors import DatabaseUnavailable

if TYPE_CHECKING:
    from store.read_models.incident import IncidentDetail
    from tui.app import CommandCenter


def explain(error: BaseException) -> str:
    """One sentence for the user, whatever went wrong."""
    if isinstance(error, (PolicyValueError, PlaybookError, DatabaseUnavailable)):
        return str(error)
    return f"Unexpected error ({type(error).__name__}: {error}); the screen keeps the last good data."


def report_worker_failure(screen, event: Worker.StateChanged) -> None:
    if event.state == WorkerState.ERROR and event.worker.error is not None:
        user_error = isinstance(event.worker.error, PolicyValueError)
        screen.notify(explain(event.worker.error), severity="warning" if user_error else "error",
                      timeout=8)


class LatestLoad(Message):
    """What a load worker read, on its way to the screen that asked for it."""

    bubble = False

    def __init__(self, worker: Worker, message: Message) -> None:
        super().__init__()
        self.worker = worker
        self.message = message


def post_latest(screen, message: Message) -> None:
    """From a load worker: hand what it read to `screen`, unless a newer load has started
    since. An exclusive worker group cancels the older load, but its thread still runs to
    the end; without this check a slow older read could land after the newer one and show
    the state from before the last write."""
    screen.post_message(LatestLoad(get_current_worker(), message))


class DeliversLatest:
    """Mixed into a screen whose load workers reply through post_latest."""

    def on_latest_load(self, arrived: LatestLoad) -> None:
        # On the UI thread, where the newer load is started: if this worker is not cancelled
        # yet, no newer load exists, so its reply will come after this one.
        if not arrived.worker.is_cancelled:
            self.post_message(arrived.message)  # type: ignore[attr-defined]


class StoreScreen(DeliversLatest, Screen):
    """A screen whose data comes from the store through thread workers."""

    @property
    def center(self) -> "CommandCenter":
        return self.app  # type: ignore[return-value]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_failure(self, event)

    def store_changed(self, incident_ids: set[str | None]) -> None:
        """Called by the app when other writers (or we) changed these incidents."""

    def tick(self) -> None:
        """Called once a second to advance clocks."""

    def write(self, action: Callable[[], object], done: str | None = None) -> None:
        """Run a store operation off the UI thread; changes come back through store_changed."""
        if self.center.settings.read_only:  # the last guard: a writing path tui/read_only.py does not list
            from tui.read_only import REFUSAL

            self.notify(REFUSAL, severity="warning", timeout=6)
            return
        self.run_worker(lambda: self._write(action, done), thread=True, exit_on_error=False, group="write")

    def _write(self, action: Callable[[], object], done: str | None) -> None:
        action()
        if done:
            # It names people and regimes (data): shown as typed, never read as markup.
            self.app.call_from_thread(self.notify, done, timeout=3, markup=False)
        self.app.call_from_thread(self.center.check_for_changes)


class IncidentScreen(StoreScreen):
    """A screen about one incident: reads what it shows in a worker (`read`, on the store's
    read session) and gets it back as an IncidentScreen.Loaded message, handled by
    `on_incident_screen_loaded`."""

    class Loaded(Message):
        def __init__(self, detail: Any) -> None:  # an IncidentDetail, or what the screen's read() gives
            super().__init__()
            self.detail = detail

    def __init__(self, incident_id: str) -> None:
        super().__init__()
        self.incident_id = incident_id
        self.detail: IncidentDetail | None = None

    def read(self, session, store) -> Any:
        """What the screen shows; the incident's detail unless a screen needs more."""
        from store.queries import read_incident

        return read_incident(session, store.policy, self.incident_id, store.now())

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def load(self) -> None:
        store = self.center.store
        with store.db.read() as session:
            detail = self.read(session, store)
        post_latest(self, self.Loaded(detail))

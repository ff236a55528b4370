"""The war room's pinned "current summary / next steps": the two lines someone joining the
incident reads before anything else (the latest `summary_pinned` event, store/pinned_summary.py).

Stored text is data: each line is a `Text` of the escaped first line (never markup), cut with
an ellipsis at the width; the whole text is in the editor (`S`) and in the handover."""
from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from tui.plain import first_line, visible

if TYPE_CHECKING:
    from store.read_models.incident import PinnedSummary as Pinned

EDIT_KEY = "S"  # war_room.summary's default key, named in the line that says none is pinned


def _first_line_of(value: str) -> str:
    """The first line, marked when more follows (the rest is one `S` away)."""
    shown = first_line(value)
    return shown + " …" if "\n" in value.strip() else shown


def _one_line(*parts: tuple[str, str] | str) -> Text:
    line = Text.assemble(*parts)
    line.no_wrap, line.overflow = True, "ellipsis"
    return line


class PinnedSummary(Static):
    """Two lines under the banner: the pinned summary (who pinned it, when) and the next steps;
    one short line saying how to pin one while none is."""

    DEFAULT_CSS = """
    PinnedSummary {
        height: auto;
        max-height: 2;
        padding: 0 1;
        background: $boost;
    }
    """

    # The pinned summary of the incident's detail, or None.
    pinned: reactive[Pinned | None] = reactive(None, layout=True)
    loaded: reactive[bool] = reactive(False, layout=True)  # False: the incident is still loading

    def show(self, pinned: Pinned | None) -> None:
        self.pinned = pinned
        self.loaded = True

    def render(self):
        if not self.loaded:
            return Text("")
        pinned = self.pinned
        if not pinned:
            return _one_line(("No summary pinned", "dim"), " · ", (EDIT_KEY, "bold"), (" to pin one", "dim"))
        when = f"{visible(pinned.by)} {pinned.at:%H:%M}"
        summary = _one_line(("Summary", "bold"), (f" ({when})", "dim"), " ", _first_line_of(pinned.summary))
        if pinned.next_steps:
            steps = _one_line(("Next", "bold"), "    ", _first_line_of(pinned.next_steps))
        else:
            steps = _one_line(("Next", "bold"), "    ", ("none given", "dim"))
        return Group(summary, steps)

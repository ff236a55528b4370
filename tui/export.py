"""Exports that need the command center itself: the war room as SVG, and the handover as
HTML (the Markdown handover with the SVG inline). Rendered headless, no terminal needed."""
from __future__ import annotations

import html
from pathlib import Path

from reports.handover import handover_markdown
from reports.safe_html import CSP_META, markdown_to_html
from playbooks.clock import iso_z
from store.files import FORCE_HINT, write_private_file
from store.operations import IncidentStore
from store.queries import read_incident

SNAPSHOT_SIZE = (120, 40)
# The war room grows to show every pane whole; past this many rows (a timeline of hundreds of
# events) the rest is in the Markdown handover and the timeline's own export.
MAX_SNAPSHOT_ROWS = 400


def war_room_svg(store: IncidentStore, incident_id: str, actor: str, size: tuple[int, int] = SNAPSHOT_SIZE) -> str:
    """Render the war room of `incident_id` off-screen and return its SVG: the WHOLE war room,
    as tall as its panes need (roles, checklist and timeline whole, nothing scrolled away),
    `size` wide and at least `size` tall. Safe to call from a worker thread of a running
    command center (the render is a headless app of its own, on its own event loop)."""
    from tui.app import Settings, make_app
    from tui.screens.war_room import WarRoomScreen

    app = make_app(store, Settings(actor=actor, watch=False, detect=False), open_incident=incident_id)
    captured: list[str] = []
    width, height = size

    async def capture(pilot) -> None:
        for _ in range(200):  # until the war room has its data (workers are threads)
            await pilot.pause(0.02)
            screen = pilot.app.screen
            if isinstance(screen, WarRoomScreen) and screen.detail is not None:
                break
        await pilot.pause(0.1)
        rows = height
        for _ in range(8):  # each pane takes its share of new rows: a few rounds settle it
            hidden = rows_scrolled_away(pilot.app.screen)
            if not hidden or rows >= MAX_SNAPSHOT_ROWS:
                break
            rows = min(MAX_SNAPSHOT_ROWS, rows + hidden)
            await pilot.resize_terminal(width, rows)
            await pilot.pause(0.05)
        captured.append(screen_svg(pilot.app, title=f"{incident_id} war room"))
        pilot.app.exit()

    app.run(headless=True, size=size, auto_pilot=capture)
    if not captured:
        raise RuntimeError("the war room could not be rendered")
    return captured[0]


def rows_scrolled_away(screen) -> int:
    """How many rows the screen's scrolling panes hide (0: every pane shows all it holds)."""
    return sum(widget.max_scroll_y for widget in screen.query("*")
               if widget.is_scrollable and widget.max_scroll_y > 0)


def screen_svg(app, title: str) -> str:
    """The app's screen as SVG, as `App.export_screenshot` makes it, but with every space in
    the text (see `spaces_kept`)."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    with console._record_buffer_lock:
        console._record_buffer[:] = spaces_kept(console._record_buffer)
    return console.export_svg(title=title)


def _looks_the_same_under(a, b) -> bool:
    """Whether a space drawn in style `a` looks the same as in style `b` (only what paints a
    blank cell counts: background, reverse, lines through or under it)."""
    from rich.style import Style

    a, b = a or Style(), b or Style()
    return all(getattr(a, name) == getattr(b, name)
               for name in ("bgcolor", "reverse", "underline", "underline2", "strike", "overline")) \
        and (not (a.reverse or b.reverse) or a.color == b.color)


def spaces_kept(segments) -> list:
    """Rich's SVG export writes a run of spaces that has a style of its own (the plain " "
    after a bold "SEV-1") as no text at all, only as a gap in x, so the SVG's text reads
    "SEV-1checkout": copied, searched, or read aloud, the word boundary is gone. Each such run
    is joined to the segment after it (or before it) when a space looks the same in that
    segment's style, or else written as no-break spaces (what Rich writes for a space inside
    a word), so the picture is unchanged and the text keeps its spaces."""
    from rich.segment import Segment

    kept: list = []
    pending = None  # a run of spaces waiting for the segment after it
    for segment in segments:
        text, style, control = segment
        if control or not text:
            if pending is not None:
                kept.append(pending)
                pending = None
            kept.append(segment)
            continue
        if pending is not None:
            if not text.startswith("\n") and _looks_the_same_under(pending.style, style):
                segment = Segment(pending.text + text, style)
            elif kept and not kept[-1].control and kept[-1].text and not kept[-1].text.endswith("\n") \
                    and _looks_the_same_under(pending.style, kept[-1].style):
                kept[-1] = Segment(kept[-1].text + pending.text, kept[-1].style)
            elif kept and not kept[-1].control and not kept[-1].text.endswith("\n") and not text.startswith("\n"):
                # Between two words on one line, in a look of its own: no-break spaces are
                # drawn (blank, in its style) and kept in the text, as Rich writes spaces in words.
                kept.append(Segment("\u00a0" * len(pending.text), pending.style))
            else:
                kept.append(pending)
            pending = None
            text, style, control = segment
        if text.strip(" ") == "" and "\n" not in text:
            pending = segment
        else:
            kept.append(segment)
    if pending is not None:
        kept.append(pending)
    return kept


def handover_html(markdown_text: str, svg: str, title: str) -> str:
    """The handover page: the war room's SVG (its text XML-escaped by Rich) and the Markdown
    handover (every stored text escaped by reports.markdown) rendered with raw HTML off, under
    a Content-Security-Policy that runs and loads nothing."""
    body = markdown_to_html(markdown_text)
    return (
        f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">{CSP_META}"
        f"<title>{html.escape(title, quote=True)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem}"
        "svg{max-width:100%;height:auto}</style></head><body>\n"
        f"<figure>{svg}</figure>\n{body}</body></html>\n"
    )


def export_files(store: IncidentStore, incident_id: str, fmt: str, actor: str) -> tuple[str, str]:
    """(text, default file name) for svg or html."""
    with store.db.read() as session:
        detail = read_incident(session, store.policy, incident_id, store.now())
    svg = war_room_svg(store, detail.id, actor)
    if fmt == "svg":
        return svg, f"{detail.id}-war-room.svg"
    markdown_text = handover_markdown(detail, iso_z(store.now()))
    return handover_html(markdown_text, svg, f"Handover {detail.id}"), f"{detail.id}-handover.html"


def write_export(text: str, path: Path, *, force: bool = False, hint: str = FORCE_HINT) -> Path:
    """Owner-only, atomic, never through a symbolic link, never over a file unless `force`
    (store/files.py, the writer backup uses)."""
    return write_private_file(path, text, force=force, hint=hint)

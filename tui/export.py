"""Exports that need the command center itself: the war room as SVG, and the handover as
HTML (the Markdown handover with the SVG inline). Rendered headless, no terminal needed."""
from __future__ import annotations

import html
from pathlib import Path

from reports.handover import handover_markdown
from reports.safe_html import CSP_META, markdown_to_html
from store.clock import iso_z
from store.files import FORCE_HINT, write_private_file
from store.operations import IncidentStore
from store.queries import incident_detail

SNAPSHOT_SIZE = (120, 40)


def war_room_svg(store: IncidentStore, incident_id: str, actor: str, size: tuple[int, int] = SNAPSHOT_SIZE) -> str:
    """Render the war room of `incident_id` off-screen and return its SVG."""
    from tui.app import Settings, make_app
    from tui.screens.war_room import WarRoomScreen

    app = make_app(store, Settings(actor=actor, watch=False, detect=False), open_incident=incident_id)
    captured: list[str] = []

    async def capture(pilot) -> None:
        for _ in range(200):  # until the war room has its data (workers are threads)
            await pilot.pause(0.02)
            screen = pilot.app.screen
            if isinstance(screen, WarRoomScreen) and screen.detail is not None:
                break
        await pilot.pause(0.1)
        captured.append(pilot.app.export_screenshot(title=f"{incident_id} war room"))
        pilot.app.exit()

    app.run(headless=True, size=size, auto_pilot=capture)
    if not captured:
        raise RuntimeError("the war room could not be rendered")
    return captured[0]


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
        detail = incident_detail(session, store.policy, incident_id, store.now())
    svg = war_room_svg(store, detail["id"], actor)
    if fmt == "svg":
        return svg, f"{detail['id']}-war-room.svg"
    markdown_text = handover_markdown(detail, iso_z(store.now()))
    return handover_html(markdown_text, svg, f"Handover {detail['id']}"), f"{detail['id']}-handover.html"


def write_export(text: str, path: Path, *, force: bool = False, hint: str = FORCE_HINT) -> Path:
    """Owner-only, atomic, never through a symbolic link, never over a file unless `force`
    (store/files.py, the writer backup uses)."""
    return write_private_file(path, text, force=force, hint=hint)

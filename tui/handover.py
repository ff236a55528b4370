"""The one-key handover snapshot: an SVG of the war room and a Markdown handover document."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from reports.handover import handover_markdown
from store.clock import iso_z
from store.queries import incident_detail

if TYPE_CHECKING:
    from tui.app import CommandCenter


def handover_paths(directory: Path, incident_id: str) -> tuple[Path, Path]:
    return directory / f"{incident_id}-war-room.svg", directory / f"{incident_id}-handover.md"


def export_handover(app: "CommandCenter", incident_id: str) -> None:
    """Screenshot the war room (opening it if needed) and write both files off the UI thread."""
    from tui.screens.war_room import WarRoomScreen

    screen = app.screen
    if not (isinstance(screen, WarRoomScreen) and screen.incident_id == incident_id and screen.detail):
        app.open_war_room(incident_id)
        app.set_timer(0.5, lambda: export_handover(app, incident_id))
        return
    svg = app.export_screenshot(title=f"{incident_id} war room")
    directory = app.settings.export_dir
    store = app.store

    def write() -> None:
        with store.db.read() as session:
            detail = incident_detail(session, store.policy, incident_id, store.now())
        directory.mkdir(parents=True, exist_ok=True)
        svg_path, md_path = handover_paths(directory, incident_id)
        svg_path.write_text(svg, encoding="utf-8")
        md_path.write_text(handover_markdown(detail, iso_z(store.now())), encoding="utf-8")
        app.call_from_thread(app.notify, f"Handover written: {md_path} and {svg_path.name}", timeout=6)

    screen.run_worker(write, thread=True, exit_on_error=False, group="export")

"""The one-key handover snapshot: an SVG of the war room and a Markdown handover document."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from playbooks.errors import PolicyValueError
from reports.handover import handover_markdown
from store.clock import iso_z
from store.queries import incident_detail

if TYPE_CHECKING:
    from tui.app import CommandCenter


def handover_paths(directory: Path, incident_id: str) -> tuple[Path, Path]:
    return directory / f"{incident_id}-war-room.svg", directory / f"{incident_id}-handover.md"


def ask_and_export(app: "CommandCenter", incident_id: str) -> None:
    """Ask which folder (the configured one prefilled), then write the handover there."""
    from tui.screens.prompts import TextPrompt

    def chosen(folder: str | None) -> None:
        if folder:
            from playbooks.errors import PolicyValueError
            from store.paths import user_path

            try:
                export_handover(app, incident_id, user_path(folder, "folder"))
            except PolicyValueError as exc:
                app.notify(str(exc), severity="warning", timeout=8)

    app.push_screen(TextPrompt("Write the handover (SVG + Markdown) to folder", "a folder path",
                               value=str(app.settings.export_dir)), chosen)


def export_handover(app: "CommandCenter", incident_id: str, directory: Path) -> None:
    """Screenshot the war room (opening it if needed) and write both files off the UI thread."""
    from tui.screens.war_room import WarRoomScreen

    screen = app.screen
    if not (isinstance(screen, WarRoomScreen) and screen.incident_id == incident_id and screen.detail):
        app.open_war_room(incident_id)
        app.set_timer(0.5, lambda: export_handover(app, incident_id, directory))
        return
    svg = app.export_screenshot(title=f"{incident_id} war room")
    store = app.store

    def write() -> None:
        with store.db.read() as session:
            detail = incident_detail(session, store.policy, incident_id, store.now())
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PolicyValueError(f"cannot write to {directory} ({exc.strerror}); accepted: a writable folder") from None
        svg_path, md_path = handover_paths(directory, incident_id)
        svg_path.write_text(svg, encoding="utf-8")
        md_path.write_text(handover_markdown(detail, iso_z(store.now())), encoding="utf-8")
        app.call_from_thread(app.notify, f"Handover written: {md_path} and {svg_path.name}", timeout=6)

    screen.run_worker(write, thread=True, exit_on_error=False, group="export")

"""The one-key handover snapshot: an SVG of the war room and a Markdown handover document.

Both files are written as every document is (store/files.py): owner-only, atomically, never
through a symbolic link. A handover already in the chosen folder is replaced only after the
engineer confirms it; declining says which file is there and how to overwrite it."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from playbooks.errors import PolicyValueError
from reports.handover import handover_markdown
from playbooks.clock import iso_z
from store.queries import read_incident

if TYPE_CHECKING:
    from tui.app import CommandCenter

KEEP = "Keep the existing files (write nothing)"
REPLACE = "Replace them"
REPLACE_HINT = "another folder, or press x again and choose \u201cReplace them\u201d to overwrite it"


def handover_paths(directory: Path, incident_id: str) -> tuple[Path, Path]:
    return directory / f"{incident_id}-war-room.svg", directory / f"{incident_id}-handover.md"


def ask_and_export(app: "CommandCenter", incident_id: str) -> None:
    """Ask which folder (the configured one prefilled), then write the handover there,
    asking first when a handover is already there."""
    from tui.screens.prompts import TextPrompt

    def chosen(folder: str | None) -> None:
        if not folder:
            return
        from store.paths import user_path

        try:
            directory = user_path(folder, "folder")
        except PolicyValueError as exc:
            app.notify(str(exc), severity="warning", timeout=8, markup=False)
            return
        confirm_replace(app, handover_paths(directory, incident_id),
                        lambda force: export_handover(app, incident_id, directory, force=force))

    app.push_screen(TextPrompt("Write the handover (SVG + Markdown) to folder", "a folder path",
                               value=str(app.settings.export_dir)), chosen)


def confirm_replace(app: "CommandCenter", paths: tuple[Path, ...], write: Callable[[bool], None]) -> None:
    """Call write(False) when none of `paths` exists; when one does, write(True) only after the
    engineer chooses to replace it. A link or a folder in the way is refused at once (it is
    never replaced, confirmed or not)."""
    from store.files import FileRefused, check_target
    from tui.screens.prompts import ChoicePrompt

    try:
        for path in paths:
            check_target(path, force=True)
    except FileRefused as exc:
        app.notify(str(exc), severity="warning", timeout=10, markup=False)
        return
    existing = [path for path in paths if os.path.lexists(path)]
    if not existing:
        write(False)
        return

    def answered(choice: str | None) -> None:
        if choice == REPLACE:
            write(True)
            return
        app.notify(f"Nothing written: {existing[0]} already exists; accepted: {REPLACE_HINT}.", severity="warning",
                   timeout=10, markup=False)

    app.push_screen(ChoicePrompt("Replace the files already there?", [KEEP, REPLACE]), answered)


def export_handover(app: "CommandCenter", incident_id: str, directory: Path, force: bool = False) -> None:
    """Render the whole war room (every pane whole, at this terminal's width) and write the SVG
    and the Markdown handover off the UI thread; say where they went."""
    from tui.export import war_room_svg, write_export

    store, actor = app.store, app.actor
    width, height = app.size

    def write() -> None:
        with store.db.read() as session:
            detail = read_incident(session, store.policy, incident_id, store.now())
        svg_path, md_path = handover_paths(directory, incident_id)
        markdown = handover_markdown(detail, iso_z(store.now()))
        # Not a screenshot of this screen: the roles or the timeline may be scrolled away here.
        svg = war_room_svg(store, incident_id, actor, size=(max(width, 80), max(height, 24)))
        try:
            write_export(svg, svg_path, force=force, hint=REPLACE_HINT)
            write_export(markdown, md_path, force=force, hint=REPLACE_HINT)
        except PolicyValueError as exc:  # a file or link that appeared since the question
            app.call_from_thread(app.notify, str(exc), severity="warning", timeout=10, markup=False)
            return
        except OSError as exc:
            app.call_from_thread(app.notify, f"cannot write to {directory} ({exc.strerror}); accepted: a writable "
                                 "folder", severity="warning", timeout=10, markup=False)
            return
        app.call_from_thread(app.notify, f"Handover written: {md_path} and {svg_path.name}", timeout=8,
                             markup=False)

    app.screen.run_worker(write, thread=True, exit_on_error=False, group="export")

"""The command center's settings from the config file's `[tui]` table.

  [tui]
  export_dir = "~/handovers"          # where x writes the handover (default: current dir)
  [tui.keymap]
  "war_room.tick" = "t"               # binding id = key(s); see `?` in the app for ids
"""
from __future__ import annotations

from pathlib import Path

from playbooks.errors import PlaybookError
from store.paths import config_path, load_config_file


def read_tui_settings(path: Path | None = None) -> dict:
    """The `[tui]` table, checked; {} when there is no config file."""
    path = path or config_path()
    data = load_config_file(path)
    if not data:
        return {}
    tui = data.get("tui", {})
    if not isinstance(tui, dict):
        raise PlaybookError(f"{path}: field tui is not a table; accepted: [tui] with export_dir and [tui.keymap]")
    unknown = set(tui) - {"export_dir", "keymap"}
    if unknown:
        raise PlaybookError(f"{path}: field tui.{sorted(unknown)[0]} is not known; accepted: export_dir, keymap")
    keymap = tui.get("keymap", {})
    if not isinstance(keymap, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in keymap.items()):
        raise PlaybookError(f'{path}: field tui.keymap must map binding ids to keys; accepted: "war_room.tick" = "t"')
    result: dict = {"keymap": keymap}
    if "export_dir" in tui:
        if not isinstance(tui["export_dir"], str):
            raise PlaybookError(f"{path}: field tui.export_dir is not a path; accepted: a folder path string")
        try:
            result["export_dir"] = Path(tui["export_dir"]).expanduser()
        except RuntimeError:  # ~name of a user this host does not know
            raise PlaybookError(f"{path}: field tui.export_dir {tui['export_dir']!r} starts with an unknown user's "
                                "home; accepted: a folder path, ~ or ~USER of a user on this host") from None
    return result

"""The command center's settings from the configuration's `[tui]` table (playbooks/config.py
documents its keys)."""
from __future__ import annotations

from playbooks.config import Configuration
from playbooks.errors import PlaybookError


def tui_settings(configuration: Configuration) -> dict:
    """Keyword arguments for `Settings`: the keymap, and the export folder when one is set."""
    table = configuration.tui
    result: dict = {"keymap": dict(table.keymap)}
    if table.export_dir is not None:
        from pathlib import Path

        try:
            result["export_dir"] = Path(table.export_dir).expanduser()
        except RuntimeError:  # ~name of a user this host does not know
            raise PlaybookError(f"{configuration.path or 'config'}: tui.export_dir {table.export_dir!r} starts with "
                                "an unknown user's home; accepted: a folder path, ~ or ~USER of a user on this host"
                                ) from None
    return result

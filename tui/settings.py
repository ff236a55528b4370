"""The command center's settings from the configuration's `[tui]` table (playbooks/config/
documents its keys)."""
from __future__ import annotations

from pathlib import Path

from playbooks.config import Configuration


def tui_settings(configuration: Configuration) -> dict:
    """Keyword arguments for `Settings`: the keymap, and the export folder when one is set."""
    table = configuration.tui
    result: dict = {"keymap": dict(table.keymap)}
    for switch in ("bell", "read_only"):  # off is Settings' default
        if getattr(table, switch):
            result[switch] = True
    if table.export_dir is not None:  # the model has checked that ~ expands
        result["export_dir"] = Path(table.export_dir).expanduser()
    return result
